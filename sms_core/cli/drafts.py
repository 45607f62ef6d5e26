"""``python -m sms_core drafts``: messages being written, as on the Templates & drafts page.

``drafts list``; ``drafts show ID``; ``drafts save TITLE --body … [--id ID]`` (with ``--id``
that draft is updated, never copied: R12); ``drafts delete ID``; ``drafts promote ID
[--name NAME] [--overwrite]`` turns a draft into a template and refuses to replace a
template of the same name unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
from typing import Any

from sms_core.cli.common import actor, print_json, read_body, with_db


def _draft_dict(draft) -> dict[str, object]:
    return {
        "id": draft.id,
        "title": draft.title,
        "body": draft.body,
        "updated_at": draft.updated_at.isoformat(),
    }


@with_db
def cmd_drafts(args: argparse.Namespace, engine) -> int:
    """List, show, save, delete or promote drafts (R12)."""
    from sms_core.store import templates
    from sms_core.store.db import transaction

    # What --json prints: the list of drafts for "list", one draft or outcome otherwise.
    result: Any
    with transaction(engine) as session:
        if args.action == "list":
            result = [_draft_dict(d) for d in templates.list_drafts(session)]
        elif args.action == "show":
            result = _draft_dict(templates.get_draft(session, args.id))
        elif args.action == "save":
            draft = templates.save_draft(session, args.title, read_body(args), args.id)
            result = _draft_dict(draft)
        elif args.action == "promote":
            template = templates.promote_draft(
                session, args.id, args.name, overwrite=args.overwrite, actor=actor()
            )
            result = {"promoted": args.id, "template": template.name}
        else:
            templates.delete_draft(session, args.id)
            result = {"deleted": args.id}
    if args.json:
        print_json(result)
    elif args.action == "list":
        for d in result:
            first_line = d["body"].splitlines()[0] if d["body"] else ""
            print(f"{d['id']}\t{d['title']}\t{first_line[:60]}")
        if not result:
            print("no drafts yet")
    elif args.action == "show":
        print(result["body"])
    elif args.action == "save":
        print(f"saved draft {result['id']} '{result['title']}'")
    elif args.action == "promote":
        print(f"draft {args.id} is now the template '{result['template']}'")
    else:
        print(f"deleted draft {args.id}")
    return 0


def add_draft_commands(commands) -> None:
    """Register ``drafts`` on the top-level sub-parsers."""
    p = commands.add_parser("drafts", help="messages being written, saved to edit later (R12)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("list", help="every draft, most recently edited first")
    s.add_argument("--json", action="store_true", help="print as JSON")
    for action, text in (("show", "print a draft's body"), ("delete", "delete a draft")):
        s = actions.add_parser(action, help=text)
        s.add_argument("id", type=int)
        s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("save", help="save a new draft, or update draft --id")
    s.add_argument("title")
    s.add_argument("--id", type=int, help="the draft to update (default: a new draft)")
    s.add_argument("--body", help="the message text, with {{tags}}")
    s.add_argument("--body-file", help="read the message text from this UTF-8 file")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("promote", help="turn a draft into a template")
    s.add_argument("id", type=int)
    s.add_argument("--name", help="the template's name (default: the draft's title)")
    s.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a template of that name (refused without it)",
    )
    s.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_drafts)

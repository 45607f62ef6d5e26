"""The command line: ``python -m sms_core COMMAND …``.

Every command calls the same sms_core functions as the dashboard. Bad input prints one
clear line on stderr and exits with code 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sms_core.cli.common import (
    EXIT_BAD_INPUT,
    ROSTER_HELP,
    actor,
    cli_language,
    parse_mapping,
    print_json,
    read_body,
    read_suppression,
    with_db,
)
from sms_core.cli.drafts import add_draft_commands
from sms_core.cli.ops import add_ops_commands
from sms_core.cli.send import add_send_commands
from sms_core.cli.settings import add_settings_commands
from sms_core.cli.users import add_user_commands
from sms_core.errors import InputError, SmsError
from sms_core.i18n import error_text


def cmd_preview(args: argparse.Namespace) -> int:
    """Preview a roster against a body: per-row CSV and a summary."""
    from sms_core.rules.export import write_csv
    from sms_core.rules.preview import preview

    body = read_body(args)
    result = preview(
        args.roster,
        body,
        mapping=parse_mapping(args.map),
        suppressed=read_suppression(args.optout_file),
        short_url_base=args.short_url_base,
    )
    if args.out:
        try:
            write_csv(result.export_table(), args.out)
        except OSError as exc:
            raise InputError(f"cannot write '{args.out}': {exc.strerror}") from None
    if args.json:
        print(json.dumps(result.summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(result.summary.lines()))
        if args.out:
            print(f"per-recipient preview written to {args.out}")
    return 0


# --- commands on the database: each opens it and brings its schema up to date first ---


@with_db
def cmd_db_upgrade(args: argparse.Namespace, engine) -> int:
    """Bring the database schema up to date (every command also does it first)."""
    from sms_core.store.db import upgrade

    # with_db has migrated it; this only reads the revision back (one query, no Alembic).
    revision = upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    if args.json:
        print_json({"database": where, "revision": revision})
    else:
        print(f"database {where} is at schema revision {revision}")
    return 0


@with_db
def cmd_demo_clear(args: argparse.Namespace, engine) -> int:
    """Remove the demo data `make run` seeded (a team's own data stays)."""
    from sms_core.service import SmsService

    done = SmsService(engine).clear_demo()
    if args.json:
        print_json(
            {
                "campaigns": done.campaigns,
                "messages": done.messages,
                "templates": done.templates,
                "contract": done.contract,
            }
        )
    else:
        print(
            f"removed {done.campaigns} demo campaigns ({done.messages} messages), "
            f"{done.templates} demo templates" + (" and the demo contract" if done.contract else "")
        )
    return 0


def _contract_dict(contract) -> dict[str, object] | None:
    from sms_core.sending.contract import contract_end
    from sms_core.sending.quota import format_month

    if contract is None:
        return None
    return {
        "monthly_units": contract.monthly_units,
        "start_month": format_month(contract.start_month),
        "end_month": format_month(contract_end(contract)),
        "months": contract.months,
        "sender_mode": contract.sender_mode,
        "sender_number": contract.sender_number,
        "updated_at": contract.updated_at.isoformat(),
    }


def _print_contract(info: dict[str, object] | None) -> None:
    if info is None:
        print("no SMS contract yet: set one up with `python -m sms_core contract set`")
        return
    print(
        f"contract: {info['monthly_units']:,} units a month, "
        f"{info['start_month']} to {info['end_month']} ({info['months']} months)"
    )
    print(f"sender: {info['sender_mode']} number {info['sender_number']}")


@with_db
def cmd_contract_set(args: argparse.Namespace, engine) -> int:
    """Create or change the SMS contract."""
    from sms_core.sending.contract import set_contract
    from sms_core.sending.quota import parse_month
    from sms_core.store.db import transaction

    start = parse_month(args.start)
    with transaction(engine) as session:
        contract = set_contract(
            session,
            args.units,
            start,
            args.months,
            args.sender,
            args.number,
            actor=actor(),
        )
        info = _contract_dict(contract)
    if args.json:
        print_json(info)
    else:
        _print_contract(info)
    return 0


@with_db
def cmd_contract_show(args: argparse.Namespace, engine) -> int:
    """Show the SMS contract."""
    from sms_core.sending.contract import get_contract
    from sms_core.store.db import transaction

    with transaction(engine) as session:
        info = _contract_dict(get_contract(session))
    if args.json:
        print_json(info)
    else:
        _print_contract(info)
    return 0


@with_db
def cmd_quota(args: argparse.Namespace, engine) -> int:
    """Show a month's units: cap, used, reserved, remaining; and the past months' use."""
    from sms_core.sending.quota import (
        current_month,
        format_month,
        monthly_usage,
        parse_month,
        remaining,
    )
    from sms_core.store.db import transaction

    month = parse_month(args.month) if args.month else current_month()
    with transaction(engine) as session:
        status = remaining(session, month)
        history = monthly_usage(session, args.history) if args.history else []
    successes: dict = {}
    if args.history:
        # R20: successful sends as the dashboard's chart and the notebook count them.
        from sms_core.reports import monthly_success

        df = monthly_success(engine, args.history)
        successes = dict(zip(df["month"], df["successful"].astype(int), strict=True))
    result = {"month": format_month(month), **status._asdict()}
    if args.history:
        result["history"] = [
            {
                "month": format_month(h.month),
                "used": h.used,
                "cap": h.cap,
                "successful": successes.get(h.month, 0),
            }
            for h in history
        ]
    if args.json:
        print_json(result)
        return 0
    print(
        f"{result['month']}: {status.remaining:,} of {status.cap:,} units remain "
        f"({status.used:,} used, {status.reserved:,} reserved)"
    )
    for h in history:
        print(
            f"  {format_month(h.month)}  {h.used:>8,} used of {h.cap:,}"
            f"  {successes.get(h.month, 0):>8,} successful sends"
        )
    return 0


def _template_dict(template) -> dict[str, object]:
    return {
        "name": template.name,
        "body": template.body,
        "updated_at": template.updated_at.isoformat(),
    }


@with_db
def cmd_templates(args: argparse.Namespace, engine) -> int:
    """List, save, show, rename or delete message templates (R12)."""
    from sms_core.store import templates
    from sms_core.store.db import transaction

    result: Any  # a list of templates, or one, or what was deleted
    with transaction(engine) as session:
        if args.action == "list":
            result = [_template_dict(t) for t in templates.list_templates(session)]
        elif args.action == "save":
            result = _template_dict(
                templates.save_template(session, args.name, read_body(args), actor=actor())
            )
        elif args.action == "show":
            result = _template_dict(templates.get_template(session, args.name))
        elif args.action == "rename":
            result = _template_dict(
                templates.rename_template(session, args.name, args.new_name, actor=actor())
            )
        else:
            templates.delete_template(session, args.name, actor=actor())
            result = {"deleted": args.name.strip()}
    if args.json:
        print_json(result)
    elif args.action == "list":
        for t in result:
            first_line = t["body"].splitlines()[0] if t["body"] else ""
            print(f"{t['name']}\t{first_line[:60]}")
        if not result:
            print("no templates yet")
    elif args.action == "show":
        print(result["body"])
    elif args.action == "delete":
        print(f"deleted template '{result['deleted']}'")
    else:
        print(f"saved template '{result['name']}'")
    return 0


def _optout_dict(entry) -> dict[str, object]:
    return {
        "phone": entry.phone,
        "reason": entry.reason,
        "added_by": entry.added_by,
        "added_at": entry.added_at.isoformat(),
    }


@with_db
def cmd_optout(args: argparse.Namespace, engine) -> int:
    """Add, remove, list or import opted-out numbers (the suppression list)."""
    from sms_core.store import suppression
    from sms_core.store.db import transaction

    result: Any  # one entry's fields, or the list of them
    with transaction(engine) as session:
        if args.action == "add":
            entry, new = suppression.add_optout(session, args.number, args.reason, actor=actor())
            result = {**_optout_dict(entry), "added": new}
            text = f"{entry.phone} {'added to' if new else 'was already on'} the opt-out list"
        elif args.action == "remove":
            removed = suppression.remove_optout(session, args.number, actor=actor())
            phone = "*" * 7 + suppression.normalise_number(args.number)[-4:]
            result = {"phone": phone, "removed": removed}
            text = f"{phone} {'removed from' if removed else 'was not on'} the opt-out list"
        elif args.action == "import":
            imported = suppression.import_optouts(session, args.file, args.reason, actor=actor())
            result = {"added": imported.added, "already": imported.already}
            text = f"{imported.added} numbers added, {imported.already} already on the list"
        else:
            result = [_optout_dict(e) for e in suppression.list_optouts(session)]
            lines = [
                f"{e['phone']}\t{e['added_at'][:19]}\t{e['added_by']}\t{e['reason'] or ''}"
                for e in result
            ]
            text = "\n".join(lines) if lines else "the opt-out list is empty"
    if args.json:
        print_json(result)
    else:
        print(text)
    return 0


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    return value


def _add_db_commands(commands) -> None:
    p = commands.add_parser("db", help="the database: `db upgrade` migrates it to the newest")
    p.add_argument("action", choices=["upgrade"])
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_db_upgrade)

    p = commands.add_parser("demo", help="the demo data make run seeds: `demo clear` removes it")
    p.add_argument("action", choices=["clear"])
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_demo_clear)

    p = commands.add_parser("contract", help="the SMS contract: set or show (R16)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("set", help="create or change the contract")
    s.add_argument("--units", type=_whole_number, required=True, help="units (通) a month")
    s.add_argument("--start", required=True, help="first month, YYYY-MM (Japan time)")
    s.add_argument("--months", type=_whole_number, required=True, help="length, at least 3")
    s.add_argument("--sender", choices=["shared", "dedicated"], default="shared")
    s.add_argument("--number", help="the dedicated sender number")
    s.add_argument("--json", action="store_true", help="print the contract as JSON")
    s.set_defaults(func=cmd_contract_set)
    s = actions.add_parser("show", help="show the contract")
    s.add_argument("--json", action="store_true", help="print the contract as JSON")
    s.set_defaults(func=cmd_contract_show)

    p = commands.add_parser("quota", help="units of a month: cap, used, reserved, remaining")
    p.add_argument("--month", help="YYYY-MM (default: this month in Japan time)")
    p.add_argument(
        "--history",
        type=_whole_number,
        nargs="?",
        const=12,
        default=0,
        metavar="MONTHS",
        help="also the units used and the successful sends (R20: recipients' messages whose "
        "every part went out, as the dashboard's chart) of the past MONTHS months (default 12)",
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_quota)

    p = commands.add_parser("templates", help="saved message bodies (R12)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("list", help="every template")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("save", help="save a body under NAME (replaces that template)")
    s.add_argument("name")
    s.add_argument("--body", help="the message text, with {{tags}}")
    s.add_argument("--body-file", help="read the message text from this UTF-8 file")
    s.add_argument("--json", action="store_true", help="print as JSON")
    for action, text in (("show", "print a template's body"), ("delete", "delete a template")):
        s = actions.add_parser(action, help=text)
        s.add_argument("name")
        s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("rename", help="rename a template")
    s.add_argument("name")
    s.add_argument("new_name")
    s.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_templates)

    p = commands.add_parser("optout", help="numbers that never receive an SMS")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("add", help="add a number")
    s.add_argument("number")
    s.add_argument("--reason", help="why (e.g. 'asked by phone')")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("remove", help="remove a number")
    s.add_argument("number")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("list", help="every number, newest first")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("import", help="add every number of a text/CSV file")
    s.add_argument("file")
    s.add_argument("--reason", help="why, recorded on each new entry")
    s.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_optout)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="python -m sms_core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("preview", help="who can receive an SMS and what it costs")
    p.add_argument(
        "roster",
        help=ROSTER_HELP,
    )
    p.add_argument("--body", help="the message text, with {{tags}}")
    p.add_argument("--body-file", help="read the message text from this UTF-8 file")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="use HEADER for FIELD (candidate_id, name, kind, mobile, home_phone, "
        "vacation_phone, phone1, phone2); repeatable",
    )
    p.add_argument("--out", help="write the per-recipient preview here (CSV, UTF-8 with BOM)")
    p.add_argument("--optout-file", help="numbers that must not receive, one per line")
    p.add_argument("--short-url-base", help="base of short URLs (default $SMS_SHORT_URL_BASE)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_preview)
    _add_db_commands(commands)
    add_send_commands(commands)
    add_settings_commands(commands)
    add_user_commands(commands)
    add_draft_commands(commands)
    add_ops_commands(commands)  # issue 16: lookup, resend, reschedule…
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SmsError as exc:
        print(f"error: {error_text(exc, cli_language())}", file=sys.stderr)
        return EXIT_BAD_INPUT

"""``python -m sms_core settings``: the team-wide settings the dashboard's Settings page edits.

``settings`` (or ``settings show``) lists provider, quiet hours and short URL base with
where each comes from; ``settings set KEY VALUE`` stores one for every process;
``settings reset KEY`` returns it to its environment variable.
"""

from __future__ import annotations

import argparse

from sms_core.cli.common import print_json, with_db

# The keys of sms_core.store.app_settings.SETTINGS, written out so that building the parser
# does not import the store (SQLAlchemy and the models) for every command; a unit test
# keeps the two the same.
KEYS = (
    "provider",
    "quiet_hours",
    "short_url_base",
    "frequency_cap",
    "unit_price_yen",
    "notify_format",
    "notify_failure_ratio",
    "notify_quota_ratio",
)


def actor() -> str:
    from sms_core.cli.common import actor as actor

    return actor()


@with_db
def cmd_settings(args: argparse.Namespace, engine) -> int:
    """Show, set or reset the team-wide settings."""
    from sms_core.store import app_settings
    from sms_core.store.db import transaction

    with transaction(engine) as session:
        if args.action == "set":
            app_settings.set_setting(session, args.key, args.value, actor=actor())
        elif args.action == "reset":
            app_settings.reset_setting(session, args.key, actor=actor())
        current = app_settings.effective_all(session)
    rows = {
        key: {"value": s.value, "source": s.source, "env": s.env, "updated_by": s.updated_by}
        for key, s in current.items()
    }
    if args.json:
        print_json(rows)
    else:
        for key, row in rows.items():
            where = {"database": "set in Settings", "environment": f"from {row['env']}"}.get(
                row["source"] or "", "default"
            )
            print(f"{key:15s} {row['value']}  ({where})")
    return 0


def add_settings_commands(commands) -> None:
    """Register ``settings`` on the CLI's subcommands."""
    p = commands.add_parser("settings", help="provider, quiet hours, short URL base")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    s = actions.add_parser("show", help="every setting and where it comes from")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("set", help="store a setting for every process")
    s.add_argument("key", choices=KEYS)
    s.add_argument("value")
    s.add_argument("--json", action="store_true", help="print as JSON")
    s = actions.add_parser("reset", help="use the environment variable again")
    s.add_argument("key", choices=KEYS)
    s.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_settings, action="show")

"""``users`` (accounts and roles), ``erase`` (a candidate's data) and ``retention``.

    python -m sms_core users add NAME --role operator      # prints a one-time password
    python -m sms_core users add alice@example.co.jp --role analyst --oidc
    python -m sms_core users list | disable NAME | enable NAME
    python -m sms_core erase --phone 090-1234-5678         # masks that number's messages
    python -m sms_core retention                            # mask what is past retention now

The command line acts with the rights of whoever can reach the database from a shell; it
records the operating-system user in the audit trail.
"""

from __future__ import annotations

import argparse

from sms_core.cli.common import actor, print_json, with_db


@with_db
def cmd_users(args: argparse.Namespace, engine) -> int:
    """Add, list, disable or enable users."""
    from sms_core.store import users
    from sms_core.store.db import transaction

    out: object
    with transaction(engine) as session:
        if args.action == "add":
            _, password = users.add_user(
                session, args.name, args.role, actor=actor(), oidc=args.oidc
            )
            out = {"name": args.name.strip(), "role": args.role, "one_time_password": password}
            text = (
                f"added {args.name.strip()} ({args.role}); they sign in with OpenID Connect"
                if args.oidc
                else f"added {args.name.strip()} ({args.role}); one-time password: {password}"
                " (changed at first sign-in)"
            )
        elif args.action in ("disable", "enable"):
            users.set_disabled(session, args.name, args.action == "disable", actor=actor())
            out = {"name": args.name, "disabled": args.action == "disable"}
            text = f"{args.name} {args.action}d"
        else:
            out = [
                {
                    "name": u.name,
                    "role": u.role,
                    "oidc": u.password_hash is None,
                    "disabled": u.disabled,
                    "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                }
                for u in users.list_users(session)
            ]
            text = (
                "\n".join(
                    f"{u['name']}\t{u['role']}{'  (disabled)' if u['disabled'] else ''}"
                    for u in out
                )
                or "no users yet"
            )
    if args.json:
        print_json(out)
    else:
        print(text)
    return 0


@with_db
def cmd_erase(args: argparse.Namespace, engine) -> int:
    """Erase a candidate's phone number, name and texts from the message history."""
    from sms_core.sending.retention import erase_at_providers, erase_phone
    from sms_core.store.db import transaction

    with transaction(engine) as session:
        done = erase_phone(session, args.phone, actor=actor())
    erase_at_providers(done)  # after the commit: one network call per provider copy
    out = {
        "phone_tail": done.phone_tail,
        "messages": done.messages,
        "kept_on_optout_list": done.kept_on_optout_list,
    }
    if args.json:
        print_json(out)
    else:
        print(f"erased ****{done.phone_tail} from {done.messages} messages")
        if done.kept_on_optout_list:
            print("the number stays on the opt-out list, so that it is never contacted again")
    return 0


@with_db
def cmd_retention(args: argparse.Namespace, engine) -> int:
    """Mask the personal data of messages past SMS_PHONE_RETENTION_MONTHS now."""
    from sms_core.sending.retention import redact_expired, retention_months
    from sms_core.store.db import transaction

    with transaction(engine) as session:
        masked = redact_expired(session)
    out = {"masked": masked, "months": retention_months()}
    if args.json:
        print_json(out)
    else:
        print(f"masked {masked} messages older than {out['months']} months")
    return 0


def add_user_commands(commands) -> None:
    """Register ``users``, ``erase`` and ``retention``."""
    from sms_core.roles import ROLES

    p = commands.add_parser("users", help="dashboard accounts and their roles")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("add", help="add a user; prints a one-time password")
    s.add_argument("name")
    s.add_argument("--role", choices=ROLES, required=True)
    s.add_argument("--oidc", action="store_true", help="signs in through OpenID Connect")
    s.add_argument("--json", action="store_true", help="print as JSON")
    for action in ("list", "disable", "enable"):
        s = actions.add_parser(action, help=f"{action} users" if action == "list" else action)
        if action != "list":
            s.add_argument("name")
        s.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_users)

    p = commands.add_parser("erase", help="erase a candidate's data by phone number")
    p.add_argument("--phone", required=True)
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_erase)

    p = commands.add_parser("retention", help="mask personal data past retention now")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_retention)

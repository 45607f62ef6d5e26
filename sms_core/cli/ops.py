"""Everyday ops commands (issue 16): lookup, resend, reschedule, spend, user-phone, notify.

Each calls the role-checked service (as the command line's ``system`` admin, audited
under ``cli:<login>``), as the dashboard's buttons do.
"""

from __future__ import annotations

import argparse
import secrets

from sms_core.cli.common import actor, print_json, with_db


def _service(engine):
    from sms_core.service import SmsService

    return SmsService(engine)


def _at(text: str | None):
    from sms_core.rules.schedule import parse_japan_time

    return parse_japan_time(text) if text else None


def _info(info) -> dict[str, object]:
    from sms_core.rules.schedule import japan_time

    return {
        "campaign": info.id,
        "name": info.name,
        "state": info.state,
        "send_at": japan_time(info.scheduled_at) if info.scheduled_at else None,
        "recipients": info.recipients,
        "messages": info.messages,
        "units": info.units,
        "created": info.created,
    }


@with_db
def cmd_lookup(args: argparse.Namespace, engine) -> int:
    """Every message sent to one candidate, by 応募者ID or phone number."""
    rows = _service(engine).lookup_candidate(candidate_id=args.candidate, phone=args.phone)
    if args.json:
        print_json([r.as_dict() for r in rows])
        return 0
    if not rows:
        print("no message was sent to this candidate")
        return 0
    for r in rows:
        when = r.delivered_at or r.accepted_at or r.failed_at or r.created_at
        clicks = f" clicks {r.clicks}" if r.clicks else ""
        reason = f" ({r.reason})" if r.reason else ""
        print(
            f"#{r.campaign_id} {r.campaign}\t{r.candidate_id}\t{r.name}\t{r.phone}\t"
            f"part {r.part}\t{r.state}{reason}\t{when}{clicks}"
        )
    return 0


@with_db
def cmd_resend(args: argparse.Namespace, engine) -> int:
    """Resend to the unreached recipients of a campaign, as a new linked campaign."""
    svc = _service(engine)
    if args.dry_run:
        plan = svc.resend_plan(args.campaign)
        out = {"dry_run": True, **{k: getattr(plan, k) for k in plan.__slots__}}
        out["yen"] = str(svc.cost_yen(plan.units))
        if args.json:
            print_json(out)
        else:
            print(
                f"campaign {plan.campaign_id}: {plan.recipients} unreached recipients, "
                f"{plan.messages} messages, {plan.units} units ({out['yen']} yen); left out: "
                f"{plan.opted_out} opted out, {plan.still_open} being settled, "
                f"{plan.already_resent} already resent, {plan.redacted} masked"
            )
        return 0
    key = args.key or f"resend-{args.campaign}-{secrets.token_hex(6)}"
    info = svc.resend(args.campaign, key=key, send_at=_at(args.at), actor=actor())
    out = {**_info(info), "resend_of": args.campaign, "key": key}
    if args.json:
        print_json(out)
    else:
        verb = "created" if info.created else "already existed"
        print(
            f"resend #{info.id} of campaign {args.campaign} {verb}: {info.recipients} "
            f"recipients, {info.units} units, at {out['send_at']} (Japan time)"
        )
    return 0


@with_db
def cmd_reschedule(args: argparse.Namespace, engine) -> int:
    """Change a scheduled send's time, name or body before it starts."""
    body = None
    if args.body_file is not None:
        from sms_core.cli.common import read_body

        args.body = None
        body = read_body(args)
    info = _service(engine).reschedule(
        args.campaign, send_at=_at(args.at), name=args.name, body=body, actor=actor()
    )
    out = _info(info)
    if args.json:
        print_json(out)
    else:
        print(
            f"campaign {info.id} '{info.name}' now goes out at {out['send_at']} (Japan time): "
            f"{info.units} units reserved"
        )
    return 0


@with_db
def cmd_spend(args: argparse.Namespace, engine) -> int:
    """A month's spend in yen: units used and reserved times the unit price."""
    from sms_core.sending.quota import format_month, parse_month

    spend = _service(engine).month_spend(parse_month(args.month) if args.month else None)
    out = {
        "month": format_month(spend.month),
        "unit_price_yen": str(spend.unit_price_yen),
        "used_units": spend.used_units,
        "reserved_units": spend.reserved_units,
        "used_yen": str(spend.used_yen),
        "reserved_yen": str(spend.reserved_yen),
    }
    if args.json:
        print_json(out)
    else:
        print(
            f"{out['month']}: {out['used_yen']} yen spent ({spend.used_units:,} units), "
            f"{out['reserved_yen']} yen reserved ({spend.reserved_units:,} units) at "
            f"{out['unit_price_yen']} yen per unit"
        )
    return 0


@with_db
def cmd_user_phone(args: argparse.Namespace, engine) -> int:
    """Set or clear a user's own mobile number (where their test sends go)."""
    phone = _service(engine).set_user_phone(args.name, None if args.clear else args.number)
    tail = f"****{phone[-4:]}" if phone else None
    if args.json:
        print_json({"user": args.name, "phone": tail})
    else:
        print(f"{args.name}: own number {tail}" if tail else f"{args.name}: own number cleared")
    return 0


@with_db
def cmd_notify(args: argparse.Namespace, engine) -> int:
    """Post the team notifications that are due now (the worker does it on its own)."""
    from sms_core.sending.notify import Notifier

    notifier = Notifier(engine)
    try:
        if notifier.url() is None:
            print("no webhook URL: set SMS_NOTIFY_WEBHOOK_URL or [notify] webhook_url")
            return 0
        posted = notifier.run_once()
    finally:
        notifier.close()
    out = [{"event": e.event, "subject": e.subject, "title": e.title} for e in posted]
    if args.json:
        print_json(out)
    else:
        print(
            "\n".join(f"posted {e['event']} {e['subject']}: {e['title']}" for e in out)
            or "nothing to post"
        )
    return 0


def _campaign_id(text: str) -> int:
    try:
        value = int(text.lstrip("#"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a campaign is its number, not '{text}'") from None
    return value


def add_ops_commands(commands) -> None:
    """Register issue 16's commands on the CLI's subcommands."""
    p = commands.add_parser("lookup", help="every message sent to one candidate")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--candidate", help="応募者ID (candidate id)")
    who.add_argument("--phone", help="phone number, any written form")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_lookup)

    p = commands.add_parser("resend", help="resend to a campaign's unreached recipients")
    p.add_argument("campaign", type=_campaign_id)
    p.add_argument("--at", help='send time in Japan time, e.g. "2026-12-01 10:00" (default now)')
    p.add_argument("--key", help="idempotency key: the same key never resends twice")
    p.add_argument("--dry-run", action="store_true", help="who would be resent to, and units")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_resend)

    p = commands.add_parser("reschedule", help="edit a scheduled send before it starts")
    p.add_argument("campaign", type=_campaign_id)
    p.add_argument("--at", help='new send time in Japan time, e.g. "2026-12-01 10:00"')
    p.add_argument("--name", help="new name")
    p.add_argument("--body-file", help="new body (UTF-8); tags: {{氏名}}, {{応募者ID}} only")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_reschedule)

    p = commands.add_parser("spend", help="a month's spend in yen (unit_price_yen setting)")
    p.add_argument("--month", help="YYYY-MM (default: this month in Japan time)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_spend)

    p = commands.add_parser("user-phone", help="a user's own number, for their test sends")
    p.add_argument("name")
    p.add_argument("number", nargs="?")
    p.add_argument("--clear", action="store_true", help="remove the number")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_user_phone)

    p = commands.add_parser("notify", help="post the team notifications due now")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_notify)

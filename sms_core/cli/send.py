"""Sending from the command line: ``send``, ``worker``, ``history``, ``cancel``, ``pause``.

The same functions as the dashboard: a preview, a confirmed campaign (idempotent on
``--key``), and the dispatch worker that sends it.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import sys

from sms_core.cli.common import ROSTER_HELP, parse_mapping, print_json, read_body, with_db
from sms_core.errors import InputError


def _mask(phone: str) -> str:
    """Numbers in listings show only their last 4 digits."""
    return "*" * max(len(phone) - 4, 0) + phone[-4:]


@with_db
def cmd_send(args: argparse.Namespace, engine) -> int:
    """Draft a send of a roster and confirm it now or at --at (Japan time); with
    --dry-run show the draft (cost, the month its units come from, the shortfall) only.

    The same use case as the dashboard's New send (sms_core.sending.send_case)."""
    from sms_core.providers import get_provider
    from sms_core.rules.schedule import japan_time, parse_japan_time
    from sms_core.service import SmsService

    if args.template and (args.body is not None or args.body_file is not None):
        raise InputError("give --template or a body, not both")
    svc = SmsService(engine)
    send_at = parse_japan_time(args.at) if args.at else None
    # 送信期限 (issue 12): what is not handed over by then expires, units released.
    deadline = parse_japan_time(args.until) if args.until else None
    draft = svc.draft_send(
        args.roster,
        body=None if args.template else read_body(args),
        template_name=args.template,
        mapping=parse_mapping(args.map),
        send_at=send_at,
        deadline=deadline,
        quiet_policy=args.quiet,
        urgent_reason=args.urgent,
        name=args.name or f"{args.roster} {japan_time(send_at or _now())}",
        key=args.key or secrets.token_hex(16),
    )
    if args.dry_run:
        return _print_draft(draft, args.json)
    get_provider(draft.provider).close()  # refuse now if it cannot be used here
    info = svc.confirm_send(draft, actor=args.actor)
    if args.json:
        print_json(
            {
                "campaign": info.id,
                "state": info.state,
                "created": info.created,
                "recipients": info.recipients,
                "messages": info.messages,
                "units": info.units,
                "scheduled_at": info.scheduled_at,
                "quota_month": info.quota_month.strftime("%Y-%m"),
                "deadline": deadline,
            }
        )
    else:
        verb = "confirmed" if info.created else "already confirmed (same --key)"
        when = japan_time(info.scheduled_at) if info.scheduled_at else "now"
        print(
            f"campaign {info.id} {verb}: {info.recipients:,} recipients, "
            f"{info.messages:,} messages, {info.units:,} units of {info.quota_month:%Y-%m}, "
            f"from {when} (Japan time)"
        )
        print("a running worker sends it: python -m sms_core worker")
    return 0


def _print_draft(draft, as_json: bool) -> int:
    """``send --dry-run``: the draft's figures, including why it would be refused."""
    from sms_core.rules.schedule import japan_time

    starts = japan_time(draft.starts_at) if draft.starts_at else None
    out = {
        "dry_run": True,
        "recipients": draft.recipients,
        "messages": draft.messages,
        "units": draft.units,
        "segments": draft.segments,
        "reasons": draft.reasons,
        "month": draft.month_label,
        "remaining_before": draft.remaining_before,
        "remaining_after": draft.remaining_after,
        "shortfall": draft.shortfall,
        "quiet_hours": draft.quiet_outcome,
        "starts_at": starts,
        "sender": draft.sender,
        "links_expire_on": draft.links_expire_on.isoformat() if draft.links_expire_on else None,
        "blocked": draft.blocked,
    }
    if as_json:
        print_json(out)
    else:
        print("\n".join(draft.preview.summary.lines()))
        print(
            f"dry run: {draft.recipients:,} recipients, {draft.messages:,} messages, "
            f"{draft.units:,} units from {draft.month_label} "
            f"({draft.remaining_before:,} remain; {draft.remaining_after:,} after)"
        )
        if draft.shortfall:
            print(f"shortfall: {draft.shortfall:,} units short in {draft.month_label}")
        if starts:
            print(f"goes out: {starts} (Japan time, quiet hours: {draft.quiet_outcome})")
        print(f"sender: {draft.sender or '-'}")
        if draft.blocked:
            print(f"it would be refused: {draft.problem or draft.blocked.replace('_', ' ')}")
        print("nothing was saved or sent")
    return 0


def _now():
    from sms_core.clock import now_utc

    return now_utc()


@with_db
def cmd_worker(args: argparse.Namespace, engine) -> int:
    """Run the dispatch worker until SIGTERM or Ctrl-C (the batch in flight is finished)."""
    from sms_core.providers import get_provider
    from sms_core.sending.dispatch import DispatchConfig
    from sms_core.sending.workers import ProviderWorkers
    from sms_core.store.app_settings import provider_in_use

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    overrides = {
        k: v
        for k, v in (
            ("rate_per_second", args.rate),
            ("concurrency", args.concurrency),
            ("batch_size", args.batch),
        )
        if v is not None
    }
    config = DispatchConfig.from_env(**overrides)
    in_use = provider_in_use(engine)
    get_provider(in_use).close()  # the provider in use must work here: ConfigError if not
    workers = ProviderWorkers(engine, config)
    if not args.once:
        # Before the first refresh: a SIGTERM while providers are being built must
        # still stop the worker cleanly (exit 0), not kill it mid-start.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: workers.request_stop())
    try:
        workers.refresh()
        if args.once:
            reports = workers.run_once()
            print_json(
                {
                    name: {k: v for k, v in vars(report).items() if k != "outcomes"}
                    for name, report in reports.items()
                }
            )
            return 0
        print(
            f"worker sending through {', '.join(workers.workers)} (new sends: {in_use}); "
            "Ctrl-C stops it",
            file=sys.stderr,
        )
        workers.run()
        return 0
    finally:
        workers.close()


@with_db
def cmd_history(args: argparse.Namespace, engine) -> int:
    """Campaigns with counts per message state, or one campaign's messages."""
    from sqlalchemy import func, select

    from sms_core.rules.schedule import japan_time
    from sms_core.store.db import transaction
    from sms_core.store.models import Campaign, Message

    with transaction(engine) as session:
        if args.campaign is not None:
            rows = (
                session.execute(
                    select(Message)
                    .where(Message.campaign_id == args.campaign)
                    .order_by(Message.recipient_row, Message.part_index)
                    .limit(args.limit)
                )
                .scalars()
                .all()
            )
            out = [
                {
                    "row": m.recipient_row + 2,
                    "part": f"{m.part_index}/{m.part_count}",
                    "phone": _mask(m.phone),
                    "state": m.state,
                    "units": m.units,
                    "error": m.error_message or "",
                }
                for m in rows
            ]
        else:
            campaigns = session.scalars(
                select(Campaign).order_by(Campaign.id.desc()).limit(args.limit)
            ).all()
            counts: dict[int, dict[str, int]] = {}
            for campaign_id, state, n in session.execute(
                select(Message.campaign_id, Message.state, func.count())
                .where(Message.campaign_id.in_([c.id for c in campaigns]))
                .group_by(Message.campaign_id, Message.state)
            ):
                counts.setdefault(campaign_id, {})[state] = n
            out = [
                {
                    "campaign": c.id,
                    "name": c.name,
                    "template": c.template_name or "",
                    "state": c.state,
                    "scheduled_at": japan_time(c.scheduled_at) if c.scheduled_at else "",
                    "recipients": c.recipients,
                    "units": c.units_reserved,
                    "messages": counts.get(c.id, {}),
                }
                for c in campaigns
            ]
    if args.json:
        print_json(out)
    elif not out:
        print("nothing yet")
    else:
        for item in out:
            print("  ".join(f"{k}={v}" for k, v in item.items()))
    return 0


@with_db
def cmd_cancel(args: argparse.Namespace, engine) -> int:
    """Cancel a campaign: queued messages are dropped and their units released."""
    from sms_core.sending.campaigns import cancel_campaign

    info = cancel_campaign(engine, args.campaign, actor=args.actor)
    if args.json:
        print_json({"campaign": info.id, "state": info.state})
    else:
        print(f"campaign {info.id} cancelled")
    return 0


@with_db
def cmd_pause(args: argparse.Namespace, engine) -> int:
    """Pause or resume a campaign."""
    from sms_core.sending.campaigns import set_paused

    info = set_paused(engine, args.campaign, args.command == "pause", actor=args.actor)
    if args.json:
        print_json({"campaign": info.id, "state": info.state})
    else:
        print(f"campaign {info.id} is {info.state}")
    return 0


@with_db
def cmd_serve(args: argparse.Namespace, engine) -> int:
    """Run the short-link and receipt service until SIGTERM or Ctrl-C (issue 3)."""
    from sms_core.linkserver.server import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(
        f"link service on http://{args.host}:{args.port} (/s/CODE, /receipts/PROVIDER, "
        "/healthz); Ctrl-C stops it",
        file=sys.stderr,
    )
    return serve(engine, host=args.host, port=args.port, threads=args.threads)


def cmd_run(args: argparse.Namespace) -> int:
    """Start the whole product: dashboard, worker and link service (what `make run` does)."""
    from sms_core.launcher import run_product

    return run_product(
        port=args.port,
        address=args.address,
        demo=not args.no_demo,
        worker=not args.no_worker,
        links=not args.no_links,
        links_port=args.links_port,
    )


def add_send_commands(commands) -> None:
    """Register the sending commands on the CLI's subparsers."""
    p = commands.add_parser("send", help="confirm a send of a roster, now or at --at")
    p.add_argument(
        "roster",
        help=ROSTER_HELP,
    )
    p.add_argument("--body", help="the message text, with {{tags}}")
    p.add_argument("--body-file", help="read the message text from this UTF-8 file")
    p.add_argument("--template", help="use the saved template of this name")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=HEADER")
    p.add_argument("--at", help='send time in Japan time, e.g. "2026-12-01 10:00"')
    p.add_argument(
        "--until",
        help='deadline (送信期限) in Japan time, e.g. "2026-12-01 13:00": messages not '
        "handed over by then expire and their units are released",
    )
    p.add_argument("--name", help="a name for the history")
    p.add_argument(
        "--quiet",
        choices=["refuse", "defer"],
        default="refuse",
        help="a send time inside quiet hours: refuse it, or defer to their end",
    )
    p.add_argument(
        "--urgent",
        metavar="REASON",
        help="send inside quiet hours anyway (weather, disaster); recorded",
    )
    p.add_argument("--key", help="idempotency key: the same key never sends twice")
    p.add_argument("--actor", default="cli", help="who is sending, for the audit trail")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent; save nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_send)

    p = commands.add_parser("worker", help="send queued messages until stopped")
    p.add_argument("--once", action="store_true", help="run one cycle and exit")
    p.add_argument("--rate", type=float, help="messages per second (default: unlimited)")
    p.add_argument("--concurrency", type=int, help="requests in flight at once")
    p.add_argument("--batch", type=int, help="messages claimed per cycle")
    p.set_defaults(func=cmd_worker)

    p = commands.add_parser("run", help="start the dashboard, a worker and the link service")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--no-demo", action="store_true", help="do not seed demo data")
    p.add_argument("--no-worker", action="store_true", help="start the dashboard alone")
    p.add_argument("--no-links", action="store_true", help="do not start the link service")
    p.add_argument(
        "--links-port", type=int, default=8600, help="port of the link service (default 8600)"
    )
    p.set_defaults(func=cmd_run)

    p = commands.add_parser("serve", help="short links and delivery receipts over HTTP")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8600, help="port (default 8600)")
    p.add_argument("--threads", type=int, default=16, help="requests served at once")
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("history", help="campaigns and their message states")
    p.add_argument("--campaign", type=int, help="list this campaign's messages")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = commands.add_parser("cancel", help="cancel a scheduled or sending campaign")
    p.add_argument("campaign", type=int)
    p.add_argument("--actor", default="cli")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cancel)

    for name, text in (("pause", "pause a campaign"), ("resume", "resume a paused campaign")):
        p = commands.add_parser(name, help=text)
        p.add_argument("campaign", type=int)
        p.add_argument("--actor", default="cli")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_pause)

"""The command line: ``python -m sms_core COMMAND …``.

Every command calls the same sms_core functions as the dashboard. Bad input prints one
clear line on stderr and exits with code 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import InputError, SmsError

EXIT_BAD_INPUT = 2


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise InputError(f"--map takes FIELD=HEADER (e.g. mobile=携帯TEL), not '{pair}'")
        mapping[field.strip()] = header.strip()
    return mapping


def _read_body(args: argparse.Namespace) -> str:
    if args.body is not None and args.body_file is not None:
        raise InputError("give the message with --body or --body-file, not both")
    if args.body_file is not None:
        try:
            return Path(args.body_file).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(
                f"cannot read the body file '{args.body_file}': {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise InputError(f"the body file '{args.body_file}' is not UTF-8 text") from None
    if args.body is None:
        raise InputError("give the message with --body TEXT or --body-file FILE")
    return args.body


def _read_suppression(path: str | None) -> list[str]:
    if path is None:
        return []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        # One number per line, in any written form (spaces inside a number are fine).
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise InputError(f"cannot read the opt-out file '{path}': {exc.strerror}") from None


def cmd_preview(args: argparse.Namespace) -> int:
    """Preview a roster against a body: per-row CSV and a summary."""
    from .export import write_csv
    from .preview import preview

    body = _read_body(args)
    result = preview(
        args.roster,
        body,
        mapping=_parse_mapping(args.map),
        suppressed=_read_suppression(args.optout_file),
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="python -m sms_core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("preview", help="who can receive an SMS and what it costs")
    p.add_argument("roster", help="roster file: CSV (UTF-8 or Shift_JIS/CP932) or .xlsx")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SmsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

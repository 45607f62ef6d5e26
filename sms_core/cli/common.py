"""What every command shares: reading the body and mappings, JSON output, the database."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from sms_core.errors import InputError

EXIT_BAD_INPUT = 2
# What the ``roster`` argument of ``preview`` and ``send`` reads.
ROSTER_HELP = (
    "roster file: CSV (UTF-8 or Shift_JIS/CP932; comma, tab or semicolon), "
    "Excel's Unicode text (UTF-16) or .xlsx"
)


def cli_language() -> str:
    """The command line speaks English, or Japanese with ``SMS_LANG=ja``."""
    return "ja" if os.environ.get("SMS_LANG", "").strip().lower().startswith("ja") else "en"


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise InputError(f"--map takes FIELD=HEADER (e.g. mobile=携帯TEL), not '{pair}'")
        mapping[field.strip()] = header.strip()
    return mapping


def read_body(args: argparse.Namespace) -> str:
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


def read_suppression(path: str | None) -> list[str]:
    if path is None:
        return []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        # One number per line, in any written form (spaces inside a number are fine).
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise InputError(f"cannot read the opt-out file '{path}': {exc.strerror}") from None


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def with_db(command: Callable[[argparse.Namespace, object], int]):
    """Wrap a command so it gets a migrated engine; a database it cannot use exits 1."""

    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import OperationalError

        from sms_core.store.db import make_engine, upgrade

        engine = make_engine()
        try:
            upgrade(engine)
            return command(args, engine)
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            print(f"error: cannot use the database: {reason}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()

    run.__doc__ = command.__doc__
    return run

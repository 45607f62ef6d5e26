"""The suppression list: numbers that opted out and never receive an SMS (R3 ``opted_out``).

Numbers are normalised as the roster's are
(:func:`sms_core.rules.phone_verdict.classify`), so ``+81 90-1234-5678`` and ``０９０…``
are one entry, and then stored only as a keyed hash (HMAC-SHA-256 under
``SMS_OPTOUT_KEY``) with their last 4 digits: the list honours a
number after its erasure without holding it (issue 13). Each entry keeps who added it,
when and why; every change is audited, with the last 4 digits, never the number.

The key comes from the environment variable ``SMS_OPTOUT_KEY`` or, failing that, the
top-level ``SMS_OPTOUT_KEY`` of ``.streamlit/secrets.toml``. Without either, a fixed
development key is used and a warning logged: fit for tests and the demo, never for
production (anyone with the code could test numbers against the hashes). Changing the key
makes every stored entry unmatchable: keep it as long as the database.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError, InputError
from sms_core.rules.optout_hash import HashedOptOuts, optout_hash
from sms_core.rules.phone_verdict import classify
from sms_core.store.db import rowcount
from sms_core.store.models import AuditEvent, Suppression, audit

__all__ = [
    "DEVELOPMENT_KEY",
    "ENV_KEY",
    "ImportResult",
    "add_optout",
    "import_optouts",
    "is_optout",
    "list_optouts",
    "normalise_number",
    "number_hash",
    "optout_key",
    "read_numbers",
    "remove_optout",
    "suppressed_among",
    "suppressed_numbers",
    "uses_development_key",
]

# Where an entry came from (issue 12), shown in the opt-out list.
SOURCES = ("link", "operator", "import")

log = logging.getLogger(__name__)

ENV_KEY = "SMS_OPTOUT_KEY"
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
# Tests and the demo only: published with the code, so it protects nothing (see above).
DEVELOPMENT_KEY = "development-only-optout-key-never-use-in-production"
_warned = False

# Header words that name the phone column of a CSV with several columns.
_PHONE_HEADERS = ("phone", "tel", "mobile", "number", "電話", "携帯", "番号")
# Keeps one import within what one transaction comfortably holds.
MAX_IMPORT_LINES = 1_000_000


@dataclass(frozen=True)
class ImportResult:
    """What an import did: numbers newly added and numbers already on the list."""

    added: int
    already: int


def normalise_number(raw: str, where: str = "") -> str:
    """The national form of ``raw``; InputError when it is not a well-formed number."""
    national = classify(raw).national
    if not national:
        prefix = f"{where}: " if where else ""
        raise InputError(
            f"{prefix}'{raw.strip()}' is not a well-formed phone number",
            key="optout.number",
            number=raw.strip(),
        )
    return national


def optout_key(environ: dict[str, str] | None = None, secrets_path: Path | None = None) -> bytes:
    """The opt-out hashing key: ``SMS_OPTOUT_KEY`` from the environment or secrets.toml,
    else the development key (with a warning, once)."""
    global _warned
    value = (environ if environ is not None else os.environ).get(ENV_KEY, "").strip()
    if not value:
        path = secrets_path or SECRETS_FILE
        try:
            with open(path, "rb") as f:
                value = str(tomllib.load(f).get(ENV_KEY, "")).strip()
        except FileNotFoundError:
            value = ""
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path} cannot be read for {ENV_KEY}: {exc}") from None
    if not value:
        if not _warned:
            log.warning("%s is not set: opt-outs are hashed with the development key", ENV_KEY)
            _warned = True
        value = DEVELOPMENT_KEY
    return value.encode()


def uses_development_key() -> bool:
    """Whether opt-outs are hashed with the published development key (admins are told)."""
    return optout_key() == DEVELOPMENT_KEY.encode()


def number_hash(national: str, key: bytes | None = None) -> str:
    """The stored form of a national-form number: its keyed hash."""
    return optout_hash(key or optout_key(), national)


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def add_optout(
    session: Session,
    number: str,
    reason: str | None = None,
    *,
    actor: str = "system",
    source: str = "operator",
) -> tuple[Suppression, bool]:
    """Put ``number`` on the list; returns the entry and whether it is new.

    ``source`` is where it came from: ``operator`` (default), ``link`` (the candidate's
    own opt-out link) or ``import``. An entry already there keeps its original
    who/when/why/source.
    """
    if source not in SOURCES:
        raise InputError(f"an opt-out comes from one of {', '.join(SOURCES)}, not '{source}'")
    phone = normalise_number(number)
    hashed = number_hash(phone)
    existing = session.get(Suppression, hashed)
    if existing is not None:
        return existing, False
    entry = Suppression(
        phone_hash=hashed,
        phone_tail=phone[-4:],
        reason=reason or None,
        added_by=actor,
        added_at=now_utc(),
        source=source,
    )
    session.add(entry)
    session.flush()
    # The last 4 digits only: the audit trail is append-only, so it must never hold a
    # number an erasure would have to remove.
    audit(session, actor, "optout.add", phone_tail=phone[-4:], reason=reason, source=source)
    return entry, True


def remove_optout(session: Session, number: str, *, actor: str = "system") -> bool:
    """Take ``number`` off the list; returns False when it was not on it.

    ``number`` may also be an entry's ``phone_hash`` (what a list offers to pick, since
    it shows only the last 4 digits).
    """
    if _is_hash(number):
        hashed = number.lower()
        entry = session.get(Suppression, hashed)
        tail = entry.phone_tail if entry else ""
    else:
        phone = normalise_number(number)
        hashed, tail = number_hash(phone), phone[-4:]
    deleted = rowcount(session.execute(delete(Suppression).where(Suppression.phone_hash == hashed)))
    if deleted:
        audit(session, actor, "optout.remove", phone_tail=tail)
    return bool(deleted)


def _is_hash(value: str) -> bool:
    return len(value) == 64 and all(ch in "0123456789abcdef" for ch in value.lower())


def is_optout(session: Session, number: str) -> bool:
    """Whether ``number`` (any format) is on the list."""
    hashed = number_hash(normalise_number(number))
    return session.get(Suppression, hashed) is not None


def list_optouts(session: Session) -> list[Suppression]:
    """Every entry, newest first (each shows its last 4 digits: ``phone_tail``)."""
    stmt = select(Suppression).order_by(Suppression.added_at.desc(), Suppression.phone_tail)
    return list(session.scalars(stmt))


# Asked before every hand-over, so built once (building it costs the worker about as much
# CPU as running it).
_HASHES_LISTED = select(Suppression.phone_hash).where(
    Suppression.phone_hash.in_(bindparam("hashes", expanding=True))
)


def suppressed_among(session: Session, numbers: Iterable[str]) -> set[str]:
    """Those of ``numbers`` (national form) on the list now: one statement for all of them.

    The worker's hand-over check (issue 12) asks through this function only: the list
    holds keyed hashes (issue 13), so the numbers are hashed and matched by hash.
    """
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    key = optout_key()
    by_hash = {optout_hash(key, n): n for n in wanted}
    found = session.scalars(_HASHES_LISTED, {"hashes": list(by_hash)})
    return {by_hash[h] for h in found}


def suppressed_numbers(session: Session) -> HashedOptOuts:
    """The list as a preview or a send matches it (``number in result``, or a column
    through ``result.mask``): hashes and last digits, never numbers."""
    rows = session.execute(select(Suppression.phone_hash, Suppression.phone_tail)).all()
    return HashedOptOuts(optout_key(), frozenset(h for h, _ in rows), frozenset(t for _, t in rows))


def _decode(data: bytes, source: str) -> str:
    # Lists exported from Excel in Japan are often CP932; UTF-8 is tried first (R21).
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{source} is neither UTF-8 nor Shift_JIS/CP932 text", key="optout.encoding")


def read_numbers(data: bytes, source: str = "the file") -> list[str]:
    """The numbers of a text or CSV file, normalised; InputError names the bad line.

    One number per line, or a CSV whose first column holds them; with several columns a
    header row must name the phone column (``phone``, ``電話番号``, …). Blank lines and
    lines starting with ``#`` are skipped; a first line with no more than 3 digits in any
    cell is a header.
    """
    rows = list(csv.reader(io.StringIO(_decode(data, source))))
    if len(rows) > MAX_IMPORT_LINES:
        raise InputError(
            f"{source} has more than {MAX_IMPORT_LINES:,} lines",
            key="optout.too_many",
            max=MAX_IMPORT_LINES,
        )
    column = 0
    first_line = _first_content_line(rows)
    numbers = []
    for line_no, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if line_no == first_line and _is_header(cells):
            column = _phone_column(cells, source)
            continue
        if column >= len(cells) or not cells[column]:
            raise InputError(
                f"{source}, line {line_no}: no number", key="optout.line_empty", line=line_no
            )
        numbers.append(normalise_number(cells[column], f"{source}, line {line_no}"))
    return numbers


def _first_content_line(rows: list[list[str]]) -> int:
    for line_no, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if any(cells) and not cells[0].startswith("#"):
            return line_no
    return 0


def _is_header(cells: list[str]) -> bool:
    # A few digits are fine in a header (電話番号1); a number, even a mistyped one, has more.
    return all(sum(ch.isdigit() for ch in cell) <= 3 for cell in cells)


def _phone_column(header: list[str], source: str) -> int:
    if len(header) == 1:
        return 0
    for index, name in enumerate(header):
        if any(word in name.lower() for word in _PHONE_HEADERS):
            return index
    raise InputError(
        f"{source}: none of the columns ({', '.join(header)}) looks like a phone number; "
        "name it 'phone' or put the numbers in a one-column file",
        key="optout.no_column",
    )


def import_optouts(
    session: Session,
    path: str | Path,
    reason: str | None = None,
    *,
    actor: str = "system",
) -> ImportResult:
    """Add every number of a text/CSV file; all or nothing (a bad line adds none).

    Numbers already on the list keep their original entry.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the opt-out file '{path}': {exc.strerror}",
            key="optout.unreadable",
            path=str(path),
        ) from None
    return import_optouts_bytes(session, data, path.name, reason, actor=actor)


def import_optouts_bytes(
    session: Session,
    data: bytes,
    name: str,
    reason: str | None = None,
    *,
    actor: str = "system",
) -> ImportResult:
    """:func:`import_optouts` for the bytes of an upload named ``name``."""
    numbers = list(dict.fromkeys(read_numbers(data, f"'{name}'")))
    key = optout_key()
    added_at = now_utc()
    new: list[str] = []
    # Batches keep each statement's bound parameters under the backends' limits.
    for start in range(0, len(numbers), 5000):
        batch = numbers[start : start + 5000]
        stmt = (
            _insert(session)(Suppression)
            .values(
                [
                    {
                        "phone_hash": optout_hash(key, n),
                        "phone_tail": n[-4:],
                        "reason": reason or None,
                        "added_by": actor,
                        "added_at": added_at,
                        "source": "import",
                    }
                    for n in batch
                ]
            )
            .on_conflict_do_nothing(index_elements=["phone_hash"])
            # Only the numbers this import added (not those already on the list).
            .returning(Suppression.phone_tail)
        )
        new.extend(session.scalars(stmt))
    added = len(new)
    audit(session, actor, "optout.import", file=name, added=added, reason=reason)
    # Each entry is audited too (issue 12), in bulk: one statement per batch.
    for start in range(0, len(new), 5000):
        session.execute(
            insert(AuditEvent),
            [
                {
                    "at": added_at,
                    "actor": actor,
                    "action": "optout.add",
                    "detail": json.dumps(
                        # The last 4 digits only, as every opt-out event (issue 13).
                        {"file": name, "phone_tail": n, "reason": reason, "source": "import"},
                        ensure_ascii=False,
                        sort_keys=True,
                    ),
                }
                for n in new[start : start + 5000]
            ],
        )
    return ImportResult(added=added, already=len(numbers) - added)

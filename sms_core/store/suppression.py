"""The suppression list: numbers that opted out and never receive an SMS (R3 ``opted_out``).

Numbers are stored in national form (``09012345678``) after the same normalisation as
the roster (:func:`sms_core.rules.phones.classify`), so ``+81 90-1234-5678`` and ``０９０…``
are one entry. Each entry keeps who added it, when and why; every change is audited.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import InputError
from sms_core.rules.phones import classify
from sms_core.store.models import Suppression, audit

__all__ = [
    "ImportResult",
    "add_optout",
    "import_optouts",
    "list_optouts",
    "normalise_number",
    "read_numbers",
    "remove_optout",
    "suppressed_numbers",
]

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
        raise InputError(f"{prefix}'{raw.strip()}' is not a well-formed phone number", key="optout.number", number=raw.strip())  # noqa: E501
    return national


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def add_optout(
    session: Session, number: str, reason: str | None = None, *, actor: str = "system"
) -> tuple[Suppression, bool]:
    """Put ``number`` on the list; returns the entry and whether it is new.

    An entry already there keeps its original who/when/why.
    """
    phone = normalise_number(number)
    existing = session.get(Suppression, phone)
    if existing is not None:
        return existing, False
    entry = Suppression(phone=phone, reason=reason or None, added_by=actor, added_at=now_utc())
    session.add(entry)
    session.flush()
    audit(session, actor, "optout.add", phone=phone, reason=reason)
    return entry, True


def remove_optout(session: Session, number: str, *, actor: str = "system") -> bool:
    """Take ``number`` off the list; returns False when it was not on it."""
    phone = normalise_number(number)
    deleted = session.execute(delete(Suppression).where(Suppression.phone == phone)).rowcount
    if deleted:
        audit(session, actor, "optout.remove", phone=phone)
    return bool(deleted)


def list_optouts(session: Session) -> list[Suppression]:
    """Every entry, newest first."""
    stmt = select(Suppression).order_by(Suppression.added_at.desc(), Suppression.phone)
    return list(session.scalars(stmt))


def suppressed_numbers(session: Session) -> set[str]:
    """The national forms on the list, for the preview's ``opted_out`` check."""
    return set(session.scalars(select(Suppression.phone)))


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
        raise InputError(f"{source} has more than {MAX_IMPORT_LINES:,} lines", key="optout.too_many", max=MAX_IMPORT_LINES)  # noqa: E501
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
            raise InputError(f"{source}, line {line_no}: no number", key="optout.line_empty", line=line_no)  # noqa: E501
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
        raise InputError(f"cannot read the opt-out file '{path}': {exc.strerror}") from None
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
    before = session.scalar(select(func.count()).select_from(Suppression)) or 0
    added_at = now_utc()
    # Batches keep each statement's bound parameters under the backends' limits.
    for start in range(0, len(numbers), 5000):
        batch = numbers[start : start + 5000]
        stmt = (
            _insert(session)(Suppression)
            .values(
                [
                    {"phone": n, "reason": reason or None, "added_by": actor, "added_at": added_at}
                    for n in batch
                ]
            )
            .on_conflict_do_nothing(index_elements=["phone"])
        )
        session.execute(stmt)
    after = session.scalar(select(func.count()).select_from(Suppression)) or 0
    added = after - before
    audit(session, actor, "optout.import", file=name, added=added, reason=reason)
    return ImportResult(added=added, already=len(numbers) - added)

"""From a confirmed preview to the exact messages that will go out (R8, R9, R11).

A plan is what a campaign stores: for every chosen recipient, the parts of their text
in order, each with its units and a stable client reference (what the provider is told,
so a message is never sent twice), and the short links behind their URL tags. Nothing
here touches the database; :mod:`sms_core.sending.campaigns` persists a plan in one transaction.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sms_core.errors import InputError
from sms_core.rules.tags import SHORT_CODE_LENGTH

if TYPE_CHECKING:
    # plan_send imports what it needs itself: resending and cancelling use this module's
    # codes and references without loading numpy, pyarrow and pandas (the preview's).
    import numpy as np

    from sms_core.rules.preview import Preview
    from sms_core.rules.roster import Roster

# Base62: letters and digits survive every SMS encoding and need no escaping in a URL.
CODE_ALPHABET = string.ascii_letters + string.digits


def new_short_code() -> str:
    """A random, unguessable short-link code (no personal data in it)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))


def new_reference() -> str:
    """A random campaign reference, the prefix of every client reference it sends."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """One message of one recipient, as it will be handed to the provider."""

    recipient_row: int  # 0-based roster row; the spreadsheet row is this + 2
    part_index: int  # 1 .. part_count, sent in this order (R8)
    part_count: int
    candidate_id: str
    name: str
    kind: str
    phone: str
    body: str
    units: int
    client_ref: str


@dataclass(frozen=True, slots=True)
class PlannedLink:
    """A short link behind one URL tag of one recipient (R11)."""

    code: str
    target: str
    recipient_row: int


@dataclass(frozen=True)
class SendPlan:
    """Everything a campaign sends: parts in order, links, and totals."""

    reference: str
    parts: list[PlannedPart]
    links: list[PlannedLink]
    recipients: int
    units: int


def plan_send(
    preview: Preview,
    *,
    rows: Sequence[int] | np.ndarray | None = None,
    reference: str | None = None,
    new_code: Callable[[], str] = new_short_code,
) -> SendPlan:
    """Plan sending ``preview``'s body to ``rows`` (0-based; default: every eligible row).

    Raises InputError when a chosen row cannot receive, or nothing would be sent.
    """
    import numpy as np
    import pyarrow as pa

    from sms_core.rules import text
    from sms_core.rules.roster import KIND_CODES

    assessment = preview.assessment
    # R3: a row repeating a number may be chosen when the earlier row was narrowed away;
    # a number chosen twice is refused below.
    receivable = assessment.receivable
    chosen = (
        np.flatnonzero(assessment.eligible) if rows is None else np.asarray(rows, dtype=np.int64)
    )
    if rows is not None:
        bad = chosen[(chosen < 0) | (chosen >= len(receivable))]
        if len(bad):
            raise InputError(
                f"row {int(bad[0]) + 2} is not in the roster",
                key="plan.row_missing",
                row=int(bad[0]) + 2,
            )
        blocked = chosen[~receivable[chosen]]
        if len(blocked):
            raise InputError(
                f"row {int(blocked[0]) + 2} cannot receive an SMS",
                key="plan.row_blocked",
                row=int(blocked[0]) + 2,
            )
        if len(np.unique(chosen)) != len(chosen):
            raise InputError("a recipient is chosen twice", key="plan.chosen_twice")
        numbers = assessment.national.take(pa.array(chosen)).to_pylist()
        if len(set(numbers)) != len(numbers):
            seen: set[str] = set()
            for row, number in zip(chosen.tolist(), numbers, strict=True):
                if number in seen:
                    raise InputError(
                        f"row {row + 2}: the same number is chosen twice",
                        key="plan.same_number",
                        row=row + 2,
                    )
                seen.add(number)
    if not len(chosen):
        raise InputError("no recipient can receive this send", key="plan.nobody")
    reference = reference or new_reference()

    links: list[PlannedLink] = []
    used_codes: set[str] = set()

    def link(row: int, target: str) -> str:
        code = new_code()
        while code in used_codes:  # the database re-checks against earlier campaigns
            code = new_code()
        used_codes.add(code)
        links.append(PlannedLink(code, target, row))
        return code

    texts = preview.texts_for(chosen, link)
    roster = assessment.roster
    ids = _values(roster, "candidate_id", chosen)
    names = _values(roster, "name", chosen)
    phones = assessment.national.take(chosen).to_pylist()
    kinds = roster.kind[chosen]
    parts: list[PlannedPart] = []
    for k, (row, body) in enumerate(zip(chosen.tolist(), texts, strict=True)):
        pieces = text.split_message(body)
        for index, piece in enumerate(pieces, start=1):
            parts.append(
                PlannedPart(
                    recipient_row=row,
                    part_index=index,
                    part_count=len(pieces),
                    candidate_id=ids[k],
                    name=names[k],
                    kind=KIND_CODES[kinds[k]],
                    phone=phones[k],
                    body=piece,
                    units=text.units_for_chars(text.utf16_len(piece)),
                    client_ref=f"{reference}-{row}-{index}",
                )
            )
    return SendPlan(reference, parts, links, len(chosen), sum(p.units for p in parts))


def _values(roster: Roster, field: str, rows: np.ndarray) -> list[str]:
    column = roster.column(field)
    if column is None:
        return [""] * len(rows)
    return [v or "" for v in column.take(rows).to_pylist()]

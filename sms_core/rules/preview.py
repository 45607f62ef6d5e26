"""The roster preview: for every row, who can receive, on which number, what text, what cost.

Two stages, so that editing the body never re-judges the numbers:

* :func:`assess` — eligibility (R1–R5), body-independent: picks the field by the
  candidate's kind (R4), classifies it, marks duplicates and opted-out numbers (R3).
* :func:`cost_messages` — renders the body per recipient (R10, R11) and counts
  characters, units, parts and carrier segments (R6–R9).

Both work column-wise over Arrow arrays; only rows that need the full splitter (longer
than one message, or holding characters outside the BMP) go through scalar code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sms_core.errors import InputError, RosterError, SmsError, TemplateError
from sms_core.rules import phones, text
from sms_core.rules.export import neutralise_formulas
from sms_core.rules.optout_hash import HashedOptOuts
from sms_core.rules.roster import KIND_CODES, MID_CAREER, NEW_GRAD, Roster, load_roster
from sms_core.rules.tags import (
    COLUMN,
    SHORT_CODE_LENGTH,
    TEXT,
    URL,
    URL_COLUMN,
    parse_body,
    placeholder_url,
)

# Phone-level reasons come first, in phones.REASON_CODES order; send-level ones follow.
# ``frequency_cap`` (issue 12): the number already had its messages for the Japan-time day.
REASONS: tuple[str, ...] = (*phones.REASON_CODES, "duplicate", "opted_out", "frequency_cap")
OK = REASONS.index("ok")
MISSING = REASONS.index("missing")
DUPLICATE = REASONS.index("duplicate")
OPTED_OUT = REASONS.index("opted_out")
FREQUENCY_CAP = REASONS.index("frequency_cap")
SOURCE_FIELDS = ("mobile", "phone1", "phone2")
# Output columns whose text comes from the roster, so may hold a spreadsheet formula.
_ROSTER_TEXT_COLUMNS = ("candidate_id", "name", "message", "empty_tags", "raw_phone")

# The columns of the preview CSV, in order (issue 2's contract), then our own extras.
OUTPUT_COLUMNS = (
    "row",
    "candidate_id",
    "name",
    "kind",
    "source_field",
    "phone",
    "e164",
    "eligible",
    "reason",
    "repaired",
    "message",
    "chars",
    "units",
    "parts",
    "segments",
    "empty_tags",
    "raw_phone",
)


@dataclass(frozen=True, eq=False)
class Assessment:
    """Eligibility of every roster row; independent of the message body."""

    roster: Roster
    reason: np.ndarray  # int8 index into REASONS
    source: np.ndarray  # int8 index into SOURCE_FIELDS
    national: pa.Array  # "09012345678", "" when not well-formed
    repaired: np.ndarray  # bool: Excel's dropped leading zero put back
    raw: pa.Array  # the value as written in the source field

    @cached_property
    def eligible(self) -> np.ndarray:
        """Bool per row: the candidate can receive the SMS."""
        return cast(np.ndarray, self.reason == OK)

    @cached_property
    def receivable(self) -> np.ndarray:
        """Bool per row: a mobile number not opted out, whether or not it repeats (R3).

        A repeat is judged among the recipients a send is narrowed to, so a row marked
        ``duplicate`` here may still be chosen when its earlier row is narrowed away.
        """
        return cast(np.ndarray, (self.reason == OK) | (self.reason == DUPLICATE))

    @cached_property
    def e164(self) -> pa.Array:
        """E.164 form of ``national`` ("+819012345678"), "" where there is none."""
        tail = pc.utf8_slice_codeunits(self.national, 1)
        joined = pc.binary_join_element_wise("+81", tail, "")
        return pc.if_else(pc.equal(self.national, ""), "", joined)

    def reason_counts(self) -> dict[str, int]:
        """Rows per reason code, every code present (zero when none)."""
        counts = np.bincount(self.reason, minlength=len(REASONS))
        return {code: int(counts[i]) for i, code in enumerate(REASONS)}


def _text_column(roster: Roster, name: str) -> pa.Array:
    column = roster.column(name)
    if column is None:
        return pa.nulls(roster.num_rows, pa.string())
    return column.combine_chunks()


def _normalised_suppression(numbers: Iterable[str]) -> pa.Array:
    """Suppression-list entries in national form; entries that are not numbers are ignored."""
    national = {phones.classify(n).national for n in numbers}
    national.discard("")
    return pa.array(sorted(national), pa.string())


def _suppression(
    suppressed: HashedOptOuts | Iterable[str], *, ordered: bool = False
) -> HashedOptOuts | tuple[str, ...]:
    """The suppression list as a hashable value: the stored (hashed) list as it is, plain
    numbers (tests, scripts) as a tuple."""
    if isinstance(suppressed, HashedOptOuts):
        return suppressed
    return tuple(sorted(suppressed)) if ordered else tuple(suppressed)


def assess(
    roster: Roster,
    *,
    suppressed: HashedOptOuts | Iterable[str] = (),
    capped: Iterable[str] = (),
) -> Assessment:
    """Judge every row (R1–R5): reason, number used, source field, repair flag.

    ``capped`` are numbers (national form) that already had today's messages under the
    frequency cap (issue 12; the caller counts them): their rows are ``frequency_cap``.
    """
    n = roster.num_rows
    # R4: new graduates only ever use the mobile field; mid-career start with 電話番号1.
    # Picked before decoding, a CP932 roster decodes one of the two per row.
    fields = roster.fields
    primary = roster.text_where(roster.kind == NEW_GRAD, fields.get("mobile"), fields.get("phone1"))
    first = phones.classify_array(primary)
    reason = first.reason.astype(np.int8, copy=True)
    national, repaired, raw = first.national, first.repaired.copy(), primary
    source = np.where(roster.kind == NEW_GRAD, 0, 1).astype(np.int8)

    phone2 = fields.get("phone2")
    if phone2 is not None:
        # R4: 電話番号2 only when 電話番号1 is not eligible, so only those rows are read.
        retry = np.flatnonzero((roster.kind == MID_CAREER) & (reason != OK))
        if len(retry):
            values = roster.text_rows(phone2, retry)
            second = phones.classify_array(values)
            # Use 電話番号2 when it is eligible, or when only it is filled in: then it is
            # the first non-empty field and its reason is the one to report.
            take = (second.reason == OK) | ((reason[retry] == MISSING) & (second.reason != MISSING))
            rows = retry[take]
            if len(rows):
                mask = np.zeros(n, dtype=bool)
                mask[rows] = True
                mask_arr = pa.array(mask)
                national = pc.replace_with_mask(national, mask_arr, second.national.filter(take))
                raw = pc.replace_with_mask(raw, mask_arr, values.filter(pa.array(take)))
                reason[rows] = second.reason[take]
                repaired[rows] = second.repaired[take]
                source[rows] = 2

    eligible = reason == OK
    if isinstance(suppressed, HashedOptOuts):
        # The stored list: keyed hashes of numbers, matched by hashing (issue 13).
        if len(suppressed) and eligible.any():
            reason[eligible & suppressed.mask(national)] = OPTED_OUT
            eligible = reason == OK
    else:
        blocked = _normalised_suppression(suppressed)
        if len(blocked) and eligible.any():
            on_list = pc.is_in(national, value_set=blocked).to_numpy(zero_copy_only=False)
            reason[eligible & on_list] = OPTED_OUT
            eligible = reason == OK
    at_cap = _normalised_suppression(capped)
    if len(at_cap) and eligible.any():
        over = pc.is_in(national, value_set=at_cap).to_numpy(zero_copy_only=False)
        reason[eligible & over] = FREQUENCY_CAP
        eligible = reason == OK
    if eligible.any():
        # R3: the same number earlier in this send makes later rows duplicates.
        rows = np.flatnonzero(eligible)
        numbers = pc.cast(national.take(pa.array(rows)), pa.int64()).to_numpy()
        repeated = pd.Series(numbers).duplicated(keep="first").to_numpy()
        reason[rows[repeated]] = DUPLICATE
    raw = pc.fill_null(raw, "")
    return Assessment(roster, reason, source, national, repaired, raw)


@dataclass(frozen=True)
class Summary:
    """Totals of a preview; costs count eligible recipients only."""

    rows: int
    eligible: int
    reasons: dict[str, int]
    repaired: int
    total_units: int
    total_segments: int
    total_parts: int
    empty_tag_rows: int
    max_units: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON output."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def lines(self) -> list[str]:
        """Human-readable summary lines, as the CLI prints them."""
        reasons = ", ".join(f"{code} {count:,}" for code, count in self.reasons.items() if count)
        return [
            f"rows: {self.rows:,}   eligible recipients: {self.eligible:,}",
            f"reasons: {reasons}",
            f"numbers repaired (leading zero restored): {self.repaired:,}",
            f"total units (通): {self.total_units:,}   carrier segments: {self.total_segments:,}"
            f"   messages: {self.total_parts:,}   most units per recipient: {self.max_units}",
            f"eligible recipients with an empty merge-tag value: {self.empty_tag_rows:,}",
        ]


@dataclass(frozen=True, eq=False)
class Selection:
    """The recipients a send goes to after narrowing, and what they cost."""

    rows: np.ndarray  # 0-based roster rows, all eligible
    recipients: int
    units: int
    segments: int
    messages: int
    duplicates: int = 0  # chosen rows left out as repeats of an earlier chosen row (R3)
    # Those rows (0-based); select() always sets them, so the default is only for a caller
    # building a Selection by hand.
    repeats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))


def first_of_each_number(national: pa.Array, rows: np.ndarray) -> np.ndarray:
    """R3: ``rows`` (ascending) without those repeating the number of an earlier one."""
    if not len(rows):
        return rows
    numbers = pc.cast(national.take(pa.array(rows)), pa.int64()).to_numpy()
    return rows[~pd.Series(numbers).duplicated(keep="first").to_numpy()]


@dataclass(frozen=True, eq=False)
class Preview:
    """A body costed against an assessed roster, row by row, with its summary."""

    assessment: Assessment
    body: str
    message: pa.Array
    chars: np.ndarray
    units: np.ndarray  # 0 for rows that are not eligible, so sums are the send's cost
    parts: np.ndarray
    segments: np.ndarray
    empty_tags: pa.Array  # comma-separated tags whose value is empty, "" when none
    url_base: str  # the short-URL base the placeholders were counted with
    summary: Summary = field(repr=False)
    # Costs of every receivable row, repeats included: a repeat of a row narrowed away is
    # sent (R3), so :meth:`select` costs it from these. None: same as units/segments/parts.
    receivable_costs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False
    )

    def select(self, filters: Mapping[str, Sequence[str]] | None = None) -> Selection:
        """Eligible recipients whose roster values match every filter, with their cost.

        ``filters`` maps a column header to the values to keep (e.g. only candidates not
        registered on LINE: ``{"LINE登録": ["未"]}``); an empty list keeps nothing.
        """
        # R3: a repeat is judged among the rows still chosen after narrowing, so the
        # narrowing starts from every receivable row and the repeats are dropped after.
        keep = self.assessment.receivable.copy()
        roster = self.assessment.roster
        for header, values in (filters or {}).items():
            if header not in roster.column_names:
                raise InputError(
                    f"the roster has no column '{header}' to narrow by",
                    key="filter.no_column",
                    column=header,
                )
            chosen = pa.array(list(values), pa.string())
            keep &= pc.is_in(roster.text(header), value_set=chosen).to_numpy(zero_copy_only=False)
        narrowed = np.flatnonzero(keep)
        rows = first_of_each_number(self.assessment.national, narrowed)
        units, segments, parts = self.receivable_costs or (self.units, self.segments, self.parts)
        return Selection(
            rows=rows,
            recipients=len(rows),
            units=int(units[rows].sum()),
            segments=int(segments[rows].sum()),
            messages=int(parts[rows].sum()),
            duplicates=len(narrowed) - len(rows),
            repeats=np.setdiff1d(narrowed, rows),
        )

    def texts_for(
        self, rows: Sequence[int] | np.ndarray, link: Callable[[int, str], str]
    ) -> list[str]:
        """The texts of ``rows`` as sent: each URL tag becomes ``url_base + link(row, target)``.

        ``link`` returns a short code of SHORT_CODE_LENGTH characters, exactly as long as
        the placeholder, so each text keeps the length and cost the preview showed (R11).
        A URL column that is empty for one of ``rows`` is an InputError naming the row.
        """
        roster = self.assessment.roster
        index = pa.array(np.asarray(rows, dtype=np.int64))
        pieces = parse_body(self.body, roster)
        columns: list[Any] = []  # str for TEXT and URL pieces, else one str per row
        for piece in pieces:
            if piece.kind in (TEXT, URL):
                columns.append(piece.value)
            elif piece.kind == COLUMN:
                columns.append(_column_text(roster, piece.value).values.take(index).to_pylist())
            else:
                columns.append(roster.text(piece.value).take(index).to_pylist())
        texts = []
        for k, row in enumerate(np.asarray(rows).tolist()):
            out = []
            for piece, column in zip(pieces, columns, strict=True):
                kind, tag = piece.kind, piece.tag
                if kind == TEXT:
                    out.append(column)
                elif kind == COLUMN:
                    out.append(column[k])
                else:
                    target = column if kind == URL else column[k]
                    if not target:
                        raise InputError(
                            f"row {row + 2}: the URL tag '{{{{{tag}}}}}' has no address; "
                            "fill it in or leave this candidate out",
                            key="plan.url_missing",
                            row=row + 2,
                            tag=tag,
                        )
                    code = link(row, target)
                    if len(code) != SHORT_CODE_LENGTH:
                        raise ValueError("a short code of the wrong length would change the cost")
                    out.append(self.url_base + code)
            texts.append("".join(out))
        return texts

    def table(self) -> pa.Table:
        """The preview as an Arrow table with :data:`OUTPUT_COLUMNS`."""
        a = self.assessment
        roster = a.roster
        n = roster.num_rows
        kind = pa.DictionaryArray.from_arrays(pa.array(roster.kind), pa.array(KIND_CODES))
        source = pa.DictionaryArray.from_arrays(pa.array(a.source), pa.array(SOURCE_FIELDS))
        reason = pa.DictionaryArray.from_arrays(pa.array(a.reason), pa.array(REASONS))
        columns = {
            "row": pa.array(np.arange(2, n + 2, dtype=np.int64)),
            "candidate_id": _text_column(roster, "candidate_id"),
            "name": _text_column(roster, "name"),
            "kind": kind.cast(pa.string()),
            "source_field": source.cast(pa.string()),
            "phone": a.national,
            "e164": a.e164,
            "eligible": pa.array(a.eligible),
            "reason": reason.cast(pa.string()),
            "repaired": pa.array(a.repaired),
            "message": self.message,
            "chars": pa.array(self.chars),
            "units": pa.array(self.units),
            "parts": pa.array(self.parts),
            "segments": pa.array(self.segments),
            "empty_tags": self.empty_tags,
            "raw_phone": a.raw,
        }
        table = pa.table(columns)
        return table.set_column(
            1, "candidate_id", pc.fill_null(table["candidate_id"], "")
        ).set_column(2, "name", pc.fill_null(table["name"], ""))

    def export_table(self) -> pa.Table:
        """:meth:`table` with roster-supplied text made safe to open in Excel."""
        return neutralise_formulas(self.table(), _ROSTER_TEXT_COLUMNS)

    def frame(self) -> pd.DataFrame:
        """The preview as a pandas DataFrame, one row per roster row."""
        # Arrow-backed strings as they are: pandas' own str dtype would copy every column.
        frame: pd.DataFrame = self.table().to_pandas(
            types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_string(t) else None
        )
        return frame


@dataclass(frozen=True, eq=False)
class _ColumnText:
    """A merge-tag column as recipients get it, with its per-row facts."""

    values: pa.Array
    lengths: np.ndarray  # UTF-16 code units
    astral: np.ndarray  # holds a character outside the BMP
    empty: np.ndarray


def _column_empty(roster: Roster, header: str) -> np.ndarray:
    """Rows whose value in this column is empty."""
    return roster.memo(("empty", header), lambda: pc.equal(roster.text(header), "").to_numpy())


def _column_text(roster: Roster, header: str) -> _ColumnText:
    def compute() -> _ColumnText:
        values = roster.text(header).combine_chunks()
        if pc.any(pc.match_substring(values, "\r")).as_py():
            # R6: a CRLF inside a cell reaches the phone as LF, so it is counted as one.
            values = pc.replace_substring(pc.replace_substring(values, "\r\n", "\n"), "\r", "\n")
        lengths, astral = text.utf16_lengths_and_astral(values)
        return _ColumnText(values, lengths, astral, _column_empty(roster, header))

    return roster.memo(("column_text", header), compute)


@dataclass(frozen=True, eq=False)
class _Rendered:
    """A body rendered for every row and counted, before eligibility is known."""

    body: str
    message: pa.Array
    chars: np.ndarray
    units: np.ndarray
    parts: np.ndarray
    segments: np.ndarray
    empty_tags: pa.Array
    empty_any: np.ndarray
    url_base: str


def cost_messages(
    assessment: Assessment, body: str, *, short_url_base: str | None = None
) -> Preview:
    """Render ``body`` for every row and cost it (R6–R11); eligibility is reused as is."""
    return _costed(assessment, _render(assessment.roster, body, short_url_base))


def _render(roster: Roster, body: str, short_url_base: str | None) -> _Rendered:
    """Texts and counts of ``body`` per row (R6–R11); needs the roster, not eligibility."""
    body = text.normalize_newlines(body)
    if not body.strip():
        raise TemplateError("the message is empty; an empty SMS cannot be sent", key="body.empty")
    if len(body) > text.MAX_BODY_CHARS:
        raise TemplateError(
            f"the message is {len(body):,} characters; at most {text.MAX_BODY_CHARS:,} "
            "can be sent as one SMS send",
            key="body.too_long",
            chars=len(body),
            max=text.MAX_BODY_CHARS,
        )
    n = roster.num_rows
    pieces = parse_body(body, roster)
    url_text = placeholder_url(short_url_base)
    url_base = url_text[:-SHORT_CODE_LENGTH]

    parts: list[pa.Array | str] = []
    chars = np.zeros(n, dtype=np.int64)
    astral = np.zeros(n, dtype=bool)
    fixed = 0
    empty_flags: list[tuple[str, np.ndarray]] = []
    column_lengths: list[tuple[str, np.ndarray]] = []  # to name a value that is too long
    for piece in pieces:
        if piece.kind == TEXT:
            parts.append(piece.value)
            fixed += text.utf16_len(piece.value)
            astral |= text.utf16_len(piece.value) != len(piece.value)
        elif piece.kind in (URL, URL_COLUMN):
            parts.append(url_text)
            fixed += len(url_text)
            if piece.kind == URL_COLUMN:
                empty_flags.append((piece.tag, _column_empty(roster, piece.value)))
        else:
            assert piece.kind == COLUMN
            column = _column_text(roster, piece.value)
            parts.append(column.values)
            chars += column.lengths
            column_lengths.append((piece.value, column.lengths))
            astral |= column.astral
            empty_flags.append((piece.tag, column.empty))
    chars += fixed
    _check_lengths(chars, column_lengths)

    if not any(isinstance(p, pa.Array) for p in parts):
        message = pa.array(np.full(n, "".join(parts), dtype=object), pa.string())
    else:
        message = pc.binary_join_element_wise(*parts, "")

    units = (chars + text.UNIT_CHARS - 1) // text.UNIT_CHARS
    segments = np.where(
        chars <= text.SEGMENT_SINGLE, 1, (chars + text.SEGMENT_MULTI - 1) // text.SEGMENT_MULTI
    )
    n_parts = np.ones(n, dtype=np.int64)
    # Staged: only texts longer than one message, or whose surrogate pairs may shift a
    # carrier segment boundary, need the exact splitter; everything else is arithmetic.
    slow = np.flatnonzero(
        (chars > text.MAX_MESSAGE_CHARS) | (astral & (chars > text.SEGMENT_SINGLE))
    )
    if len(slow):
        memo: dict[str, text.Cost] = {}
        for i, value in zip(slow, message.take(pa.array(slow)).to_pylist(), strict=True):
            cost = memo.get(value)
            if cost is None:
                cost = memo[value] = text.cost(value)
            units[i], segments[i], n_parts[i] = cost.units, cost.segments, cost.parts
    empty = chars == 0
    units[empty] = segments[empty] = n_parts[empty] = 0
    empty_tags, empty_any = _empty_tag_column(empty_flags, n)
    return _Rendered(
        body, message, chars, units, n_parts, segments, empty_tags, empty_any, url_base
    )


def _check_lengths(chars: np.ndarray, column_lengths: list[tuple[str, np.ndarray]]) -> None:
    """A row whose merged text is longer than one send may be: RosterError naming the row
    and the column whose value made it so (the longest one merged into that row)."""
    over = np.flatnonzero(chars > text.MAX_BODY_CHARS)
    if not len(over):
        return
    first = int(over[0])
    header = None
    if column_lengths:
        header = max(column_lengths, key=lambda item: int(item[1][first]))[0]
    more = f" ({len(over) - 1:,} more rows like it)" if len(over) > 1 else ""
    raise RosterError(
        f"this value makes the message {int(chars[first]):,} characters long; at most "
        f"{text.MAX_BODY_CHARS:,} can be sent to one candidate{more}",
        row=first + 2,
        column=header,
        key="roster.message_too_long",
        chars=int(chars[first]),
        max=text.MAX_BODY_CHARS,
        others=len(over) - 1,
    )


def _costed(assessment: Assessment, rendered: _Rendered) -> Preview:
    """The preview: ``rendered`` costed for the eligible rows of ``assessment`` only."""
    eligible = assessment.eligible
    units = np.where(eligible, rendered.units, 0)
    segments = np.where(eligible, rendered.segments, 0)
    n_parts = np.where(eligible, rendered.parts, 0)
    receivable = assessment.receivable
    receivable_costs = (
        np.where(receivable, rendered.units, 0),
        np.where(receivable, rendered.segments, 0),
        np.where(receivable, rendered.parts, 0),
    )
    n = len(units)
    summary = Summary(
        rows=n,
        eligible=int(eligible.sum()),
        reasons=assessment.reason_counts(),
        repaired=int(assessment.repaired.sum()),
        total_units=int(units.sum()),
        total_segments=int(segments.sum()),
        total_parts=int(n_parts.sum()),
        empty_tag_rows=int((rendered.empty_any & eligible).sum()),
        max_units=int(units.max()) if n else 0,
    )
    return Preview(
        assessment,
        rendered.body,
        rendered.message,
        rendered.chars,
        units,
        n_parts,
        segments,
        rendered.empty_tags,
        rendered.url_base,
        summary,
        receivable_costs,
    )


def _empty_tag_column(flags: list[tuple[str, np.ndarray]], n: int) -> tuple[pa.Array, np.ndarray]:
    """R10: per row, the tags whose value is empty, joined by commas.

    Each row's set of empty tags is a bit mask; the few distinct masks become the
    dictionary of a dictionary array, so no string is built per row.
    """
    if not flags:
        return pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), [""]).cast(
            pa.string()
        ), np.zeros(n, dtype=bool)
    codes = np.zeros(n, dtype=np.int64)
    for bit, (_, mask) in enumerate(flags):
        codes |= mask.astype(np.int64) << bit
    # k tags give at most 2**k masks; a lookup table numbers the ones present in O(n).
    counts = np.bincount(codes, minlength=1 << len(flags))
    present = np.flatnonzero(counts)
    number = np.zeros(len(counts), dtype=np.int32)
    number[present] = np.arange(len(present), dtype=np.int32)
    indices = number[codes]
    words = [
        ",".join(tag for bit, (tag, _) in enumerate(flags) if code >> bit & 1)
        for code in present.tolist()
    ]
    column = pa.DictionaryArray.from_arrays(indices, pa.array(words))
    return column.cast(pa.string()), codes != 0


def _assess_fully(
    roster: Roster, suppressed: Iterable[str], capped: Iterable[str] = ()
) -> Assessment:
    assessment = assess(roster, suppressed=suppressed, capped=capped)
    assessment.e164  # noqa: B018 — computed here, on the worker thread, for the table
    return assessment


def preview(
    source: str | Path | bytes | Roster,
    body: str,
    *,
    mapping: dict[str, str] | None = None,
    suppressed: Iterable[str] = (),
    short_url_base: str | None = None,
    capped: Iterable[str] = (),
) -> Preview:
    """Load (unless given a Roster), assess and cost in one call.

    ``capped``: numbers at today's frequency cap (issue 12), shown as ``frequency_cap``.

    Eligibility and the rendered texts do not depend on each other, so they are computed
    on two threads; Arrow and numpy release the GIL in their kernels. Only masking the
    costs with eligibility waits for both.
    """
    roster = source if isinstance(source, Roster) else load_roster(source, mapping=mapping)
    suppressed = _suppression(suppressed)
    with ThreadPoolExecutor(max_workers=1) as pool:
        judged = pool.submit(_assess_fully, roster, suppressed, tuple(capped))
        try:
            rendered = _render(roster, body, short_url_base)
        except SmsError:
            judged.result()  # a problem with the roster is reported before one with the body
            raise
        assessment = judged.result()
    return _costed(assessment, rendered)


class PreviewCache:
    """Remembers the last roster's assessment so that editing the body only re-costs.

    One per user session (the dashboard keeps it in its session state); it holds the
    roster in memory and nothing else, and never sends anything.
    """

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._assessment: Assessment | None = None
        # A digest of the roster's bytes: what a confirmation's idempotency key is made of.
        self.digest: str | None = None

    def assessment(
        self,
        data: bytes | Callable[[], bytes],
        name: str,
        *,
        source_id: str | None = None,
        mapping: dict[str, str] | None = None,
        suppressed: Iterable[str] = (),
        capped: Iterable[str] = (),
    ) -> Assessment:
        """Load and assess ``data`` unless it is the roster assessed last time.

        With a ``source_id`` (an upload's id) the roster is recognised by it, and
        ``data`` may be a function that is called only when the roster is new: a body
        edited key by key then neither copies nor hashes a large file again.
        """
        suppressed = _suppression(suppressed, ordered=True)
        digest = None
        if source_id is None:
            data = data() if callable(data) else data
            source_id = digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        capped = tuple(sorted(capped))
        key = (source_id, name, tuple(sorted((mapping or {}).items())), suppressed, capped)
        if key != self._key or self._assessment is None:
            data = data() if callable(data) else data
            roster = load_roster(data, mapping=mapping, name=name)
            self._assessment = assess(roster, suppressed=suppressed, capped=capped)
            self._key = key
            self.digest = digest or hashlib.blake2b(data, digest_size=16).hexdigest()
        return self._assessment

    def preview(
        self,
        data: bytes | Callable[[], bytes],
        name: str,
        body: str,
        *,
        source_id: str | None = None,
        mapping: dict[str, str] | None = None,
        suppressed: Iterable[str] = (),
        short_url_base: str | None = None,
        capped: Iterable[str] = (),
    ) -> Preview:
        """The preview of ``body`` against the roster in ``data`` (see :meth:`assessment`)."""
        assessment = self.assessment(
            data,
            name,
            source_id=source_id,
            mapping=mapping,
            suppressed=suppressed,
            capped=capped,
        )
        return cost_messages(assessment, body, short_url_base=short_url_base)

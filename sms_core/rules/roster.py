"""Reading candidate rosters: CSV (CP932 or UTF-8, detected) and Excel .xlsx (R21, R22).

.xlsx is read by :mod:`sms_core.rules.xlsx` (python-calamine). Excel's "Unicode text"
(UTF-16 with a byte-order mark, tab-separated) and tab- or semicolon-separated exports are
read too: the separator is told from the header line.

A roster becomes an Arrow table whose every column is text (a phone number is never
turned into a float), plus the mapping from the product's canonical fields to the
file's own headers, and the candidate kind per row. Every problem is a
:class:`~sms_core.errors.RosterError` naming the spreadsheet row (header = row 1) and
column, raised before anything is kept, so nothing is half-loaded.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from sms_core.errors import RosterError
from sms_core.rules.cp932 import decode_column
from sms_core.rules.xlsx import Sheet, cell_text, column_letters, column_text, read_rows

if TYPE_CHECKING:
    pass

T = TypeVar("T")

# A 1,000,000-candidate ATS export with a dozen columns is about 130 MB; twice that leaves
# room for wide exports while keeping the decoded table (about the file's size again in
# Arrow) well inside a laptop's memory.
MAX_ROSTER_BYTES = 256 * 1024 * 1024
# The largest Japanese recruiting databases hold under a million candidates per season;
# more rows than this is an export of something else (an access log, a whole CRM).
MAX_ROSTER_ROWS = 2_000_000
# ATS exports carry a few dozen columns; hundreds means the file is not a roster.
MAX_COLUMNS = 500
# Enough of the file's start to tell its encoding and see its header line.
_SNIFF_BYTES = 64 * 1024
# Bytes compared at a time when counting lines: small enough to stay in cache.
_COUNT_BLOCK = 1 << 20

# Canonical field -> the ATS export's Japanese header and the English one (R4, issue 2).
FIELD_HEADERS: dict[str, tuple[str, str]] = {
    "candidate_id": ("応募者ID", "candidate_id"),
    "name": ("氏名", "name"),
    "kind": ("区分", "kind"),
    "mobile": ("携帯電話番号", "mobile"),
    "home_phone": ("現住所電話番号", "home_phone"),
    "vacation_phone": ("休暇中電話番号", "vacation_phone"),
    "phone1": ("電話番号1", "phone1"),
    "phone2": ("電話番号2", "phone2"),
}
# Other headers ATS exports use for a field, recognised after the two above. None for the
# phone fields but the mobile one: 電話番号 or TEL alone could be any of them.
MORE_HEADERS: dict[str, tuple[str, ...]] = {
    "candidate_id": ("応募者番号", "候補者ID", "応募者コード"),
    "name": ("名前", "お名前", "氏名（漢字）", "full_name"),
    "kind": ("採用区分", "応募区分", "候補者区分"),
    "mobile": ("携帯番号", "携帯電話", "携帯TEL", "mobile_phone"),
}

NEW_GRAD, MID_CAREER = 0, 1
KIND_CODES = ("new_grad", "mid_career")
# Values seen in ATS exports for each kind, compared after _fold().
_KIND_VALUES = {
    NEW_GRAD: ("新卒", "新卒採用", "new_grad", "newgrad", "new graduate", "graduate"),
    MID_CAREER: (
        "中途",
        "中途採用",
        "キャリア採用",  # many companies' own word for mid-career hiring
        "経験者採用",
        "mid_career",
        "midcareer",
        "mid-career",
        "experienced",
    ),
}


def _fold(text: str) -> str:
    """Compare headers and kind values loosely: width, case, spaces, '_' and '-' ignored."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    return "".join(ch for ch in text if ch not in " _-\u3000")


_KIND_LOOKUP = {_fold(v): code for code, values in _KIND_VALUES.items() for v in values}
# Every header the product recognises by default, folded: how a header row is told from a
# title above it, and a roster sheet from a cover sheet.
_KNOWN_HEADERS = {
    _fold(h) for table in (FIELD_HEADERS, MORE_HEADERS) for names in table.values() for h in names
}
# How far below row 1 a header row is looked for under a title.
_TITLE_ROWS = 20


def _lines_below(text_head: str) -> list[str]:
    """The lines under the first where a header row may stand below a title."""
    return text_head.splitlines()[1 : _TITLE_ROWS + 1]


def _looks_like_headers(cells: Sequence[object]) -> bool:
    """Whether a row holds at least two of the headers the product recognises."""
    return len({_fold(str(c)) for c in cells} & _KNOWN_HEADERS) >= 2


def _check_header_row(
    headers: Sequence[str], below: Sequence[Sequence[object]], first: int
) -> None:
    """RosterError when row ``first`` holds no known header but a row under it does: a
    title above the headers, which would otherwise read as a one-column roster."""
    if {_fold(h) for h in headers} & _KNOWN_HEADERS:
        return
    for offset, cells in enumerate(below, start=1):
        if _looks_like_headers(cells):
            raise RosterError(
                f"the column headers are in row {first + offset}, not in row {first}: delete "
                "the rows above them (a title, notes) so that the headers are the first row",
                row=first + offset,
                key="roster.header_below",
                at=first + offset,
            )


@dataclass(frozen=True)
class Roster:
    """A loaded roster: every column text (decoded on first use), never null, in file order.

    ``fields`` maps canonical field names (``mobile``, ``phone1``, …) to the header
    used in the file; ``kind`` holds :data:`NEW_GRAD` or :data:`MID_CAREER` per row.
    """

    source: pa.Table  # as parsed: CP932 columns still bytes until first used
    fields: dict[str, str]
    kind: np.ndarray
    encoding: str
    source_name: str = ""
    _tag_index: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _memo: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """A value derived from this roster's (immutable) table, computed once per key.

        Editing a body re-costs the same columns again and again; their lengths and
        flags are facts of the roster, not of the body.
        """
        try:
            return cast(T, self._memo[key])
        except KeyError:
            value = self._memo[key] = compute()
            return value

    @property
    def num_rows(self) -> int:
        """Number of candidate rows (the header not counted)."""
        return cast(int, self.source.num_rows)

    @property
    def column_names(self) -> list[str]:
        """The file's headers, in order."""
        return cast(list[str], self.source.column_names)

    def text(self, header: str) -> pa.ChunkedArray:
        """A column as text, decoded on first use (CP932 files) and remembered.

        Decoding only what a preview uses is most of what makes CP932 rosters fast; a
        value that is not CP932 raises RosterError naming its row and column when its
        column is first used.
        """

        def compute() -> pa.ChunkedArray:
            column = self.source.column(header)
            if pa.types.is_binary(column.type):
                return decode_column(column, header)
            return column

        return self.memo(("text", header), compute)

    def text_where(self, pick: np.ndarray, if_true: str | None, if_false: str | None) -> pa.Array:
        """Per row, the text of column ``if_true`` where ``pick`` holds, else of ``if_false``.

        A column given as None reads as nulls. A CP932 file decodes only the values
        picked (a preview reads 携帯電話番号 for new graduates and 電話番号1 for the
        others, never both); bytes that are not CP932 are named by their row and the
        column they were picked from.
        """
        headers = (if_true, if_false)
        values = [None if h is None else self._raw(h) for h in headers]
        types = {v.type for v in values if v is not None}
        if len(types) > 1:  # one of them is decoded already: compare text with text
            values = [None if h is None else self.text(h) for h in headers]
            types = {pa.string()}
        kind = types.pop() if types else pa.string()
        values = [pa.nulls(self.num_rows, kind) if v is None else v for v in values]
        picked = pc.if_else(pa.array(pick, pa.bool_()), *values)
        if not pa.types.is_binary(kind):
            return _one_array(picked)
        try:
            return _one_array(decode_column(picked, if_true or ""))
        except RosterError as exc:
            assert exc.row is not None  # decode_column names the row of a bad value
            header = if_true if pick[exc.row - 2] else if_false
            raise RosterError(
                exc.reason, row=exc.row, column=header, key=exc.key, **exc.params
            ) from None

    def text_rows(self, header: str, rows: np.ndarray) -> pa.Array:
        """The text of column ``header`` at ``rows`` (0-based), decoding only those rows."""
        values = self._raw(header).take(pa.array(rows, pa.int64()))
        if not pa.types.is_binary(values.type):
            return _one_array(values)
        try:
            return _one_array(decode_column(values, header))
        except RosterError as exc:
            assert exc.row is not None  # decode_column names the row of a bad value
            row = int(rows[exc.row - 2]) + 2
            raise RosterError(
                exc.reason, row=row, column=header, key=exc.key, **exc.params
            ) from None

    def _raw(self, header: str) -> pa.ChunkedArray:
        """A column as decoded if it already is, else as parsed (bytes for CP932)."""
        decoded = self._memo.get(("text", header))
        return self.source.column(header) if decoded is None else decoded

    @property
    def table(self) -> pa.Table:
        """Every column as text (decodes what was not decoded yet)."""
        return self.memo("table", lambda: pa.table({h: self.text(h) for h in self.column_names}))

    def column(self, name: str) -> pa.ChunkedArray | None:
        """The column for a canonical field, or None when the file lacks it."""
        header = self.fields.get(name)
        return None if header is None else self.text(header)

    def resolve_tag(self, tag: str) -> str | None:
        """The file header a merge tag names: a header as written or a field's alias."""
        return self._tag_index.get(_fold(tag))

    def distinct_values(self, header: str, limit: int = 50) -> list[str] | None:
        """The column's distinct values, sorted; None when there are more than ``limit``.

        Used to offer a column for narrowing recipients: a yes/no flag or a graduation
        year, not a name or a phone number.
        """

        def compute() -> list[str] | None:
            values = pc.unique(self.text(header))
            if len(values) > limit:
                return None
            return sorted(v for v in values.to_pylist() if v is not None)

        return self.memo(("distinct", header, limit), compute)

    def tag_names(self) -> list[str]:
        """Names usable as merge tags: every header, plus the English field aliases."""
        names = list(self.column_names)
        for canonical, header in self.fields.items():
            english = FIELD_HEADERS[canonical][1]
            if english not in names and header in names:
                names.append(english)
        return names


def _one_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one array, without a copy when it already is one chunk."""
    if isinstance(column, pa.Array):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def load_roster(
    source: str | Path | bytes,
    *,
    mapping: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Roster:
    """Read a roster from a path or the bytes of an upload; see the module docstring.

    ``mapping`` maps canonical fields to headers in the file when they are not the
    ATS export's defaults, e.g. ``{"mobile": "携帯TEL"}``.
    """
    if isinstance(source, bytes):
        data, label = pa.py_buffer(source), name or "upload"
    else:
        path = Path(source)
        label = name or path.name
        try:
            _check_size(path.stat().st_size)
            # Mapped, not read: the parser takes the pages straight from the OS cache.
            data = pa.memory_map(str(path)).read_buffer()
        except OSError as exc:
            raise RosterError(
                f"cannot open '{path}': {exc.strerror}", key="roster.cannot_open", path=str(path)
            ) from None
    _check_size(data.size)
    head = data[:_SNIFF_BYTES].to_pybytes()
    if not head.strip() and (data.size <= _SNIFF_BYTES or not data.to_pybytes().strip()):
        raise RosterError("the file is empty", key="roster.empty")
    if head[:4] == b"PK\x03\x04":
        table, encoding = _read_xlsx(data.to_pybytes()), "xlsx"
    elif head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise RosterError(
            "old Excel .xls files are not read; save the sheet as .xlsx or CSV", key="roster.xls"
        )
    elif head[:2] in _UTF16_BOMS:
        data = pa.py_buffer(_utf16_as_utf8(data.to_pybytes()))
        table, _ = _read_csv(data, data[:_SNIFF_BYTES].to_pybytes())
        encoding = "utf-16"
    else:
        table, encoding = _read_csv(data, head)
    table = _without_trailing_empty_rows(table)
    if table.num_rows > MAX_ROSTER_ROWS:
        raise RosterError(
            f"{table.num_rows:,} rows is more than the {MAX_ROSTER_ROWS:,} a roster may hold",
            key="roster.too_many_rows",
            rows=table.num_rows,
            max=MAX_ROSTER_ROWS,
        )
    fields = _map_fields(table.column_names, mapping or {})
    kind = _read_kinds(table.column(fields["kind"]), fields["kind"])
    _require_phone_columns(fields, kind)
    tag_index = {_fold(h): h for h in table.column_names}
    for canonical, header in fields.items():
        tag_index.setdefault(_fold(FIELD_HEADERS[canonical][1]), header)
        tag_index.setdefault(_fold(FIELD_HEADERS[canonical][0]), header)
    return Roster(table, fields, kind, encoding, label, tag_index)


def _without_trailing_empty_rows(table: pa.Table) -> pa.Table:
    """The table without the rows of only empty cells at its end (``,,,`` lines that Excel
    writes for cleared or formatted rows below the data). Only at the end, so every row
    above keeps its spreadsheet number; an empty row inside the data is still refused."""
    if not table.num_rows or not table.num_columns:
        return table
    last = table.slice(table.num_rows - 1)
    if any(last.column(i)[0].as_py() not in ("", b"") for i in range(table.num_columns)):
        return table  # the common case: no trailing empty row, nothing computed
    filled = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        filled |= pc.greater(pc.binary_length(column), 0).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(filled)
    return table.slice(0, int(rows[-1]) + 1 if len(rows) else 0)


def _check_size(size: int) -> None:
    if size > MAX_ROSTER_BYTES:
        raise RosterError(
            f"the file is {size / 2**20:,.0f} MiB; a roster may be at most "
            f"{MAX_ROSTER_BYTES // 2**20} MiB",
            key="roster.too_big",
            mib=round(size / 2**20),
            max=MAX_ROSTER_BYTES // 2**20,
        )


def _detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) or CP932, told from the file's first bytes (R21)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if b"\x00" in head:
        raise RosterError("this is not a CSV text file (it holds binary data)", key="roster.binary")
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still UTF-8.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
        if _UTF8_JAPANESE.search(head, 0, exc.start):
            # Japanese in UTF-8 before the break: a UTF-8 file with a row that is not.
            # Read as CP932 it would turn every other row into mojibake (螻ｱ逕ｰ様).
            raise RosterError(
                _NOT_UTF8_ROW, row=head.count(b"\n", 0, exc.start) + 1, key="roster.not_utf8_row"
            ) from None
    # Strict shift_jis fails on 髙, 﨑, ①, －, ～ that Excel writes: Excel's "Shift_JIS" is cp932.
    try:
        head.decode("cp932")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 1:
            raise RosterError(
                "the file is neither UTF-8 nor Shift_JIS (CP932) text; "
                "export it from Excel as 'CSV UTF-8' or 'CSV'",
                row=head.count(b"\n", 0, exc.start) + 1,
                key="roster.encoding",
            ) from None
    return "cp932"


# A three-byte UTF-8 sequence (kana and kanji are E3-E9 xx xx in UTF-8); CP932 text
# rarely forms one, while its half-width kana often form valid two-byte ones.
_UTF8_JAPANESE = re.compile(rb"[\xe0-\xef][\x80-\xbf]{2}")
_NOT_UTF8_ROW = (
    "the file is UTF-8 text but this row is not (it holds Shift_JIS/CP932 text or a "
    "damaged character); export the whole file again from Excel as 'CSV UTF-8'"
)


def _utf8_break(raw: bytes) -> int:
    """The offset of the first byte that is not UTF-8, or -1 (a block at a time)."""
    pos = 0
    while pos < len(raw):
        end = min(len(raw), pos + _COUNT_BLOCK)
        if end < len(raw):
            # Cut after a line break: it never stands inside a multi-byte character.
            cut = raw.rfind(b"\n", pos, end)
            end = cut + 1 if cut > pos else end
        try:
            raw[pos:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            return pos + exc.start
        pos = end
    return -1


def _first_non_ascii_is_utf8(raw: bytes) -> bool:
    """Whether the file's first non-ASCII text is UTF-8 (its head was plain ASCII)."""
    high = np.flatnonzero(np.frombuffer(raw, np.uint8) >= 0x80)
    if not len(high):
        return True
    window = raw[int(high[0]) : int(high[0]) + 4096]
    try:
        window.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(window) - 3 and exc.reason == "unexpected end of data":
            return True
        return bool(_UTF8_JAPANESE.search(window, 0, exc.start))
    return True


# Excel's "Unicode text" export is UTF-16 with one of these byte-order marks.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Comma first: a header line that splits as well on another separator is still CSV.
_SEPARATORS = (",", "\t", ";")


def _utf16_as_utf8(data: bytes) -> bytes:
    """A UTF-16 file (with its byte-order mark) as UTF-8 bytes, read as any UTF-8 file."""
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].decode("utf-16", "replace").count("\n") + 1
        raise RosterError(
            "the file is UTF-16 text but this row is damaged; export it again from Excel",
            row=row,
            key="roster.utf16_damaged",
        ) from None
    return text.encode("utf-8")


def _separator(text_head: str) -> str:
    """The field separator: the one that splits the header line into the most cells."""
    line = text_head.lstrip("\ufeff").splitlines()[0] if text_head.strip() else ""
    counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in _SEPARATORS}
    return max(_SEPARATORS, key=lambda d: (counts[d], d == ","))


def _header(text_head: str, separator: str = ",") -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text_head, newline=""), delimiter=separator))
    except (StopIteration, csv.Error):
        raise RosterError("the file has no header row", row=1, key="roster.no_header") from None
    headers = [h.strip() for h in first]
    if len(headers) > MAX_COLUMNS:
        raise RosterError(
            f"{len(headers)} columns; a roster may have at most {MAX_COLUMNS}",
            key="roster.too_many_columns",
            columns=len(headers),
            max=MAX_COLUMNS,
        )
    seen: dict[str, int] = {}
    folded: dict[str, str] = {}
    for index, header in enumerate(headers, start=1):
        if not header:
            raise RosterError(
                f"column {index} has no header",
                row=1,
                column=f"column {column_letters(index)}",
                key="roster.blank_header",
            )
        if header in seen:
            raise RosterError(
                "this header appears twice", row=1, column=header, key="roster.header_twice"
            )
        seen[header] = index
        # Fields and merge tags are matched loosely (width, case, spaces, '_'): two
        # headers that match alike would make the choice between them silent.
        twin = folded.setdefault(_fold(header), header)
        if twin != header:
            raise RosterError(
                f"the headers '{twin}' and '{header}' differ only in width, case, spaces "
                "or '_', so the file is ambiguous: rename one of them",
                row=1,
                column=header,
                key="roster.header_twins",
                first=twin,
                second=header,
            )
    return headers


def _utf8_japanese_run(body: pa.Buffer) -> int:
    """The offset of the first run of three UTF-8 kana/kanji (E3-E9 xx xx, three times in
    a row) in a file taken for CP932, or -1. CP932 text practically never forms such a
    run; UTF-8 Japanese always does. Block by block, vectorised: ~0.1 s for 100 MiB."""
    raw = np.frombuffer(body, dtype=np.uint8)
    overlap = 8
    for start in range(0, len(raw), _COUNT_BLOCK):
        block = raw[start : start + _COUNT_BLOCK + overlap]
        if len(block) < 9:
            break
        lead = (block >= 0xE3) & (block <= 0xE9)
        cont = (block >= 0x80) & (block <= 0xBF)
        char = lead[:-2] & cont[1:-1] & cont[2:]  # a 3-byte character starts here
        run = char[:-6] & char[3:-3] & char[6:]
        hits = np.flatnonzero(run)
        if len(hits):
            return start + int(hits[0])
    return -1


def _first_nul(body: pa.Buffer) -> int:
    """The offset of the first NUL byte in the file, or -1 (block by block, as counting)."""
    raw = np.frombuffer(body, dtype=np.uint8)
    for start in range(0, len(raw), _COUNT_BLOCK):
        hits = np.flatnonzero(raw[start : start + _COUNT_BLOCK] == 0)
        if len(hits):
            return start + int(hits[0])
    return -1


def _read_csv(data: pa.Buffer, head: bytes) -> tuple[pa.Table, str]:
    nul = _first_nul(data)
    if nul >= 0:
        # Text never holds NUL: the file is binary (or UTF-16), or damaged at that row.
        row = head.count(b"\n", 0, nul) + 1 if nul < len(head) else None
        if row is None:
            row = int(np.count_nonzero(np.frombuffer(data, np.uint8)[:nul] == 0x0A)) + 1
        raise RosterError(
            "this row holds a NUL byte (binary data): this is not a CSV text file, or it "
            "is damaged; export it again from Excel as 'CSV UTF-8' or 'CSV'",
            row=row,
            key="roster.nul",
        )
    encoding = _detect_encoding(head)
    body = data.slice(3) if encoding == "utf-8-sig" else data
    if encoding == "utf-8-sig":
        head = head[3:]
    if encoding == "cp932":
        utf8 = _utf8_japanese_run(body)
        if utf8 >= 0:
            # Read as CP932, UTF-8 Japanese turns into mojibake (山田 -> 螻ｱ逕ｰ): refused.
            raise RosterError(
                "the file is Shift_JIS (CP932) text but this row is UTF-8; export the whole "
                "file again from Excel as 'CSV UTF-8'",
                row=int(np.count_nonzero(np.frombuffer(body, np.uint8)[:utf8] == 0x0A)) + 1,
                key="roster.utf8_in_cp932",
            )
    text_head = head.decode("cp932" if encoding == "cp932" else "utf-8", "ignore")
    headers, sep = _csv_headers(text_head)
    try:
        table = _parse_csv(body, headers, encoding, sep, fast=True)
        if table.num_rows != _line_count(body) - 1:
            # A quoted value holds a line break (or a blank line was skipped): the fast
            # parallel parse may have split a block inside it, so parse again safely.
            table = _parse_csv(body, headers, encoding, sep)
        return table, encoding
    except pa.ArrowInvalid as exc:
        if encoding != "cp932" and "invalid UTF8" in str(exc):
            raw = body.to_pybytes()
            if encoding == "utf-8" and head.isascii() and not _first_non_ascii_is_utf8(raw):
                # The sniffed start was plain ASCII; Japanese text further down is CP932.
                try:
                    return _parse_csv(body, headers, "cp932", sep), "cp932"
                except pa.ArrowInvalid as again:
                    raise _locate_csv_error(body, headers, "cp932", sep, again) from None
            bad = _utf8_break(raw)
            if bad >= 0:
                raise RosterError(
                    _NOT_UTF8_ROW, row=raw.count(b"\n", 0, bad) + 1, key="roster.not_utf8_row"
                ) from None
        raise _locate_csv_error(body, headers, encoding, sep, exc) from None
    except UnicodeDecodeError:
        raise RosterError(
            "the file mixes text encodings; export it again from Excel as 'CSV UTF-8'",
            key="roster.mixed_encodings",
        ) from None


def _line_count(body: pa.Buffer) -> int:
    """Lines in the file, counting a last line that lacks its line break."""
    raw = np.frombuffer(body, dtype=np.uint8)
    if not len(raw):
        return 0
    # Block by block into one small scratch array: a file-sized temporary would cost more
    # in fresh pages than the comparison itself (0.045 s -> 0.022 s for 120 MiB).
    block = min(len(raw), _COUNT_BLOCK)
    scratch = np.empty(block, dtype=bool)
    count = 0
    for start in range(0, len(raw), block):
        piece = raw[start : start + block]
        hits = scratch[: len(piece)]
        np.equal(piece, 0x0A, out=hits)
        count += int(np.count_nonzero(hits))
    return count + (0 if raw[-1] == 0x0A else 1)


def _parse_csv(
    body: pa.Buffer,
    headers: list[str],
    encoding: str,
    separator: str = ",",
    *,
    handler: Callable[[Any], str] | None = None,
    threads: bool = True,
    fast: bool = False,
) -> pa.Table:
    # CP932 is parsed as raw bytes (binary columns) and decoded column by column after:
    # see sms_core.rules.cp932 for why that is safe and much faster than transcoding it all.
    binary = encoding == "cp932"
    read = pcsv.ReadOptions(
        column_names=headers, skip_rows=1, use_threads=threads, block_size=8 << 20
    )
    parse = pcsv.ParseOptions(
        delimiter=separator, newlines_in_values=not fast, invalid_row_handler=handler
    )
    convert = pcsv.ConvertOptions(
        column_types=dict.fromkeys(headers, pa.binary() if binary else pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    table = pcsv.read_csv(
        pa.BufferReader(body), read_options=read, parse_options=parse, convert_options=convert
    )
    return table  # CP932 columns stay bytes until used: see Roster.text


def _locate_csv_error(
    body: pa.Buffer, headers: list[str], encoding: str, separator: str, exc: Exception
) -> RosterError:
    """Where the file breaks the CSV structure, found by Python's csv module over the text.

    Rows are spreadsheet rows (the header is row 1; a quoted line break stays in its row,
    a blank line is a row as Excel shows it). The message never quotes the file's bytes,
    and nothing is printed: pyarrow's own row handler would print a traceback on stderr
    for a row that is not UTF-8.
    """
    text = body.to_pybytes().decode("cp932" if encoding == "cp932" else "utf-8", "replace")
    width = len(headers)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=separator)
    row, start_line, bad = 0, 1, []
    try:
        for record in reader:
            row += 1
            if row > 1 and record and len(record) != width:
                bad.append((row, len(record)))
            start_line = reader.line_num + 1
    except csv.Error:
        if not bad:
            line = text.split("\n", start_line)[start_line - 1] if text else ""
            index = _open_quote_cell(line, separator)
            return RosterError(
                "a quoted value is not closed, or text follows its closing quote",
                row=row + 1,
                column=headers[index] if index < width else f"column {column_letters(index + 1)}",
                key="roster.open_quote",
            )
    if bad:
        number, actual = bad[0]
        more = f" ({len(bad) - 1} more rows like it)" if len(bad) > 1 else ""
        column = f"column {column_letters(width + 1)}" if actual > width else headers[actual]
        return RosterError(
            f"this row has {actual} cells but the header has {width}{more}",
            row=number,
            column=column,
            key="roster.cell_count",
            cells=actual,
            width=width,
            others=len(bad) - 1,
        )
    if "invalid UTF8" in str(exc):
        return RosterError(
            "the file is not valid UTF-8 or Shift_JIS (CP932) text", key="roster.encoding"
        )
    return RosterError(
        "the file cannot be read as CSV; export it again from Excel", key="roster.not_csv"
    )


def _open_quote_cell(line: str, separator: str = ",") -> int:
    """The 0-based cell of ``line`` where a quote opens and is not properly closed."""
    cell, quoted, at_start, after_quote = 0, False, True, False
    for ch in line:
        if quoted:
            if ch == '"':
                quoted, after_quote = False, True
            continue
        if ch == separator:
            cell, at_start, after_quote = cell + 1, True, False
        elif ch == '"' and at_start:
            quoted, at_start = True, False
        elif ch == '"' and after_quote:
            quoted, after_quote = True, False  # "" inside a quoted value
        elif after_quote and ch not in "\r\n":
            return cell  # text after the closing quote
        else:
            at_start = False
    return cell


def _read_xlsx(data: bytes) -> pa.Table:
    """The first sheet of an .xlsx workbook (see :mod:`sms_core.rules.xlsx`), as text."""
    sheet = read_rows(data, _looks_like_headers)
    rows = sheet.rows
    headers = _checked_sheet_headers(sheet)
    width, total = len(headers), len(rows[0]) if rows else 0
    body = rows[1:]
    for index in range(width, total):  # a value right of the last header
        found = next((i for i, row in enumerate(body) if row[index] != ""), None)
        if found is not None:
            raise RosterError(
                "a value stands outside the header's columns",
                row=sheet.first_row + 1 + found,
                column=f"column {column_letters(sheet.first_col + index)}",
                key="roster.outside_header",
            )
    # Excel keeps formatted but empty rows (most often at the end of a sheet).
    body = [row for row in body if row.count("") < total]
    if len(body) > MAX_ROSTER_ROWS:
        body = body[: MAX_ROSTER_ROWS + 1]  # load_roster names the limit
    # Column by column, not zip(*body): 100,000 rows as arguments cost more than the
    # comprehensions.
    return pa.table({h: column_text([row[i] for row in body]) for i, h in enumerate(headers)})


def read_headers(source: bytes, name: str | None = None) -> list[str]:
    """The header row of a roster's bytes (CSV in UTF-8 or CP932, or .xlsx), checked as
    :func:`load_roster` checks it: what a column-mapping editor offers to choose from.

    Reads only the start of a CSV and the first row of a workbook, so a page can show
    the columns even of a file whose fields cannot be recognised.
    """
    head = source[:_SNIFF_BYTES]
    if not head.strip():
        raise RosterError("the file is empty", key="roster.empty")
    if head[:4] == b"PK\x03\x04":
        return _xlsx_headers(source)
    if head[:2] in _UTF16_BOMS:
        # Cut at an even length: a UTF-16 code unit is two bytes.
        head = head[: len(head) // 2 * 2].decode("utf-16", "ignore").encode("utf-8")
    encoding = _detect_encoding(head)
    if encoding == "utf-8-sig":
        head = head[3:]
    return _csv_headers(head.decode("cp932" if encoding == "cp932" else "utf-8", "ignore"))[0]


def _csv_headers(text_head: str) -> tuple[list[str], str]:
    """The checked header row of a CSV's decoded start, and its field separator."""
    sep = _separator(text_head)
    headers = _header(text_head, sep)
    # Line by line, so a stray quote in a title cannot hide the header row beneath it; each
    # line split as it splits best, as a title line tells nothing of the separator.
    below = [
        max((next(csv.reader([line], delimiter=d), []) for d in _SEPARATORS), key=len)
        for line in _lines_below(text_head)
    ]
    _check_header_row(headers, below, 1)
    return headers, sep


def _xlsx_headers(data: bytes) -> list[str]:
    # The whole sheet is read: its first row is only known for sure once every cell's
    # reference is (a workbook's <dimension> may be wrong), and calamine is fast.
    return _checked_sheet_headers(read_rows(data, _looks_like_headers))


def _checked_sheet_headers(sheet: Sheet) -> list[str]:
    """The checked header row of a sheet: its first row, unless a title stands there."""
    rows = sheet.rows
    headers = _sheet_headers(rows[0] if rows else None)
    below = [[cell_text(c) for c in r] for r in rows[1 : _TITLE_ROWS + 1]]
    _check_header_row(headers, below, sheet.first_row)
    return headers


def _sheet_headers(first: Sequence[object] | None) -> list[str]:
    """The checked headers of a sheet's first row (trailing empty cells dropped)."""
    if not first:
        raise RosterError("the sheet is empty", row=1, key="roster.sheet_empty")
    cells = [cell_text(v) for v in first]
    while cells and not cells[-1]:
        cells.pop()
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return _header(buffer.getvalue())


def guess_fields(headers: list[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Canonical field -> header as :func:`load_roster` would map ``headers``: the explicit
    ``mapping`` first, then the ATS export's defaults. Unlike loading, a missing field is
    simply absent here (an editor shows it unset), not an error.
    """
    return _match_fields(headers, mapping or {})


def _map_fields(headers: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    """Canonical field -> header: explicit mapping first, then the ATS defaults."""
    fields = _match_fields(headers, mapping)
    if "kind" not in fields:
        raise RosterError(
            "the roster has no candidate-kind column (区分 / kind, holding 新卒 or 中途); "
            f"its columns are: {', '.join(headers)}",
            key="roster.no_kind_column",
            columns="、".join(headers),
        )
    return fields


def _match_fields(headers: list[str], mapping: Mapping[str, str]) -> dict[str, str]:
    folded = {_fold(h): h for h in headers}
    fields: dict[str, str] = {}
    for canonical, header in mapping.items():
        if canonical not in FIELD_HEADERS:
            known = ", ".join(FIELD_HEADERS)
            raise RosterError(
                f"'{canonical}' is not a roster field; fields are: {known}",
                key="roster.unknown_field",
                field=canonical,
                fields=known,
            )
        actual = header if header in headers else folded.get(_fold(header))
        if actual is None:
            raise RosterError(
                f"the mapping for '{canonical}' names a column the file does not have; "
                f"its columns are: {', '.join(headers)}",
                column=header,
                key="roster.mapped_column_missing",
                field=canonical,
                columns="、".join(headers),
            )
        fields[canonical] = actual
    taken = set(fields.values())
    for canonical, names in FIELD_HEADERS.items():
        if canonical in fields:
            continue
        for alias in (*names, *MORE_HEADERS.get(canonical, ())):
            actual = folded.get(_fold(alias))
            if actual is not None and actual not in taken:
                fields[canonical] = actual
                taken.add(actual)
                break
    return fields


def _read_kinds(column: pa.ChunkedArray, header: str) -> np.ndarray:
    """Candidate kind per row; unknown or empty values are named by row and column.

    A CP932 column is read from its bytes: only its few distinct values are decoded.
    """
    encoded = pc.dictionary_encode(column).combine_chunks()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    values = encoded.dictionary.to_pylist()
    if pa.types.is_binary(column.type):
        words = []
        for k, raw in enumerate(values):
            try:
                words.append(raw.decode("cp932"))
            except UnicodeDecodeError:
                raise RosterError(
                    "this value is not Shift_JIS (CP932) text; export the file again from Excel",
                    row=int(np.flatnonzero(indices == k)[0]) + 2,
                    column=header,
                    key="roster.not_cp932_value",
                ) from None
        values = words
    if not len(values):
        return np.zeros(0, dtype=np.int8)
    codes = np.array([_KIND_LOOKUP.get(_fold(v), -1) for v in values], dtype=np.int8)
    kind: np.ndarray = codes[indices]
    unknown = np.flatnonzero(kind < 0)
    if len(unknown):
        first = int(unknown[0])
        value = values[indices[first]]
        shown = f"'{value}'" if value else "empty"
        more = f"; {len(unknown) - 1} more rows have unknown kinds" if len(unknown) > 1 else ""
        raise RosterError(
            f"the candidate kind is {shown}; expected 新卒 (new_grad) or 中途 (mid_career){more}",
            row=first + 2,
            column=header,
            key="roster.unknown_kind" if value else "roster.empty_kind",
            value=value,
            others=len(unknown) - 1,
        )
    return kind


def _require_phone_columns(fields: dict[str, str], kind: np.ndarray) -> None:
    """R4: new graduates need the mobile column, mid-career candidates 電話番号1."""
    needs, lacking = [], []
    if (kind == NEW_GRAD).any() and "mobile" not in fields:
        needs.append(f"{FIELD_HEADERS['mobile'][0]} / mobile (for 新卒 rows)")
        lacking.append(f"{FIELD_HEADERS['mobile'][0]}（新卒の行）")
    if (kind == MID_CAREER).any() and "phone1" not in fields:
        needs.append(f"{FIELD_HEADERS['phone1'][0]} / phone1 (for 中途 rows)")
        lacking.append(f"{FIELD_HEADERS['phone1'][0]}（中途の行）")
    if needs:
        raise RosterError(
            "the roster lacks the column " + " and ".join(needs),
            key="roster.no_phone_column",
            columns="・".join(lacking),
        )

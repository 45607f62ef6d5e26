"""Judge a whole roster column of phone numbers at once (rules R1, R2, R3).

The rules, their reason codes and the scalar reference :func:`classify` are in
:mod:`sms_core.rules.phone_verdict` (light: no numpy or pyarrow, so that the store and
the command line judge one number without loading them) and are exported here too;
:func:`classify_array` gives the same answers for a whole Arrow column without a per-row
Python loop (the preview of a large roster).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sms_core.rules.phone_verdict import (
    _CHAR_MAP,
    _INVALID,
    _IP_PHONE,
    _LANDLINE,
    _MISSING,
    _OK,
    _TRIM_CHARS,
    REASON_CODES,
    PhoneVerdict,
    classify,
)

__all__ = [
    "REASON_CODES",
    "PhoneArrays",
    "PhoneVerdict",
    "classify",
    "classify_array",
]


def _re2_class(chars: str) -> str:
    # \x{…} escapes keep the RE2 pattern free of characters with a meaning in a class.
    return "".join(f"\\x{{{ord(c):X}}}" for c in chars)


# RE2 (Arrow) pattern for step 3; built from the same tables as _CHAR_MAP.
_WHITELIST_RE2 = f"^[{_re2_class(''.join(_CHAR_MAP))}]*$"


# --- vectorised path -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PhoneArrays:
    """The judgement of a column of phone values, one entry per row.

    ``reason`` holds int8 indexes into :data:`REASON_CODES`; ``national`` is never null
    (``""`` where there is no national form); ``repaired`` is a bool array.
    """

    reason: np.ndarray
    national: pa.StringArray
    repaired: np.ndarray

    def e164(self) -> pa.StringArray:
        """E.164 forms (``"+81" + national[1:]``), ``""`` where ``national`` is ``""``."""
        offsets, data = _string_buffers(self.national)
        lengths = np.diff(offsets)
        has = lengths > 0
        out_len = np.where(has, lengths + 2, 0)
        # National forms are at most 11 bytes: "+81" plus the 10 bytes after the "0".
        mat = np.empty((len(lengths), 13), dtype=np.uint8)
        mat[:, :3] = np.frombuffer(b"+81", dtype=np.uint8)
        mat[:, 3:] = _windows(_padded(data), offsets[:-1] + 1)[:, :10]
        return _string_array_from_matrix(mat, out_len)


_WINDOW = 16  # bytes looked at per value; no longer digit string can be well-formed
_B0, _B1, _B2, _B5, _B8 = (ord(c) for c in "01258")
_ASCII_SEPARATORS = np.frombuffer(b"() .-", dtype=np.uint8)


def classify_array(values: pa.Array | pa.ChunkedArray) -> PhoneArrays:
    """Judge a whole column of raw phone values; row for row the same as :func:`classify`.

    ``values`` is a string-like Arrow array or chunked array (string, large_string,
    string_view, dictionary of strings, or all-null); nulls count as empty (``missing``).
    Raises ``TypeError`` for other types: a column read as integers has already lost what
    R2 needs to see (apostrophes, full-width digits, the ``+``).

    Rows of ASCII digits and hyphens — almost every row of a real roster — take a fast
    path of a few whole-column passes; only the others are trimmed, unwrapped, checked
    against the character whitelist and mapped, as a filtered subset.
    """
    arr = _as_string_array(values)
    n = len(arr)
    if n == 0:
        return PhoneArrays(np.empty(0, np.int8), pa.array([], pa.string()), np.empty(0, dtype=bool))

    raw_offsets, _ = _string_buffers(arr)
    raw_len = np.diff(raw_offsets)
    present = raw_len > 0
    if arr.null_count:
        present &= arr.is_valid().to_numpy(zero_copy_only=False)

    # Fast path over every row: drop ASCII hyphens; a row that is then only ASCII digits
    # needs no other normalisation. Rows failing the test are redone on the slow path.
    dehyphenated = pc.replace_substring(arr, "-", "")
    offsets, data = _string_buffers(dehyphenated)
    lengths = np.diff(offsets)
    win = _windows(_padded(data), offsets[:-1])
    head = win[:, :12]  # 12 digits is the longest plain digit string that can be valid
    in_value = np.arange(12) < lengths[:, None]
    all_digits = ((head - np.uint8(_B0) < 10) | ~in_value).all(axis=1)
    fast = present & all_digits & (lengths <= 12)

    reason, national, nat_len, repaired = _judge(win, lengths, allow_plus=False)
    reason[~present] = _MISSING

    slow_idx = np.flatnonzero(present & ~fast)
    if len(slow_idx):
        s_reason, s_national, s_len, s_repaired = _classify_slow(arr.take(slow_idx))
        reason[slow_idx] = s_reason
        national[slow_idx] = s_national
        nat_len[slow_idx] = s_len
        repaired[slow_idx] = s_repaired

    nat_len[reason == _MISSING] = 0
    repaired &= nat_len > 0
    return PhoneArrays(
        reason=reason,
        national=_string_array_from_matrix(national, nat_len),
        repaired=repaired,
    )


def _classify_slow(sub: pa.StringArray) -> tuple[np.ndarray, ...]:
    """Steps 1-6 of the module docstring for rows that are not plain digits and hyphens."""
    trimmed = pc.utf8_trim(sub, characters=_TRIM_CHARS)

    # Step 2: the ="…" wrapper, else one leading apostrophe, removed by byte compaction.
    offsets, data = _string_buffers(trimmed)
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    pad = _padded(data)
    first, second, last = pad[starts], pad[starts + 1], pad[np.maximum(ends - 1, 0)]
    wrapped = (lengths >= 3) & (first == ord("=")) & (second == ord('"')) & (last == ord('"'))
    apostrophe = ~wrapped & (lengths >= 1) & (first == ord("'"))
    if wrapped.any() or apostrophe.any():
        keep = np.ones(len(data), dtype=bool)
        keep[starts[wrapped]] = False
        keep[starts[wrapped] + 1] = False
        keep[ends[wrapped] - 1] = False
        keep[starts[apostrophe]] = False
        offsets, data = _compact(offsets, data, keep)
        trimmed = pc.utf8_trim(_string_array(offsets, data), characters=_TRIM_CHARS)
        offsets, data = _string_buffers(trimmed)

    lengths = np.diff(offsets)
    empty = lengths == 0
    allowed = pc.match_substring_regex(trimmed, _WHITELIST_RE2).to_numpy(zero_copy_only=False)

    # Step 4 on bytes. Only rows that passed the whitelist are used afterwards, so every
    # non-ASCII character in them is one of ours, all 3-byte UTF-8 sequences: a full-width
    # digit or plus becomes its ASCII byte, anything else there is a separator.
    keep = np.ones(len(data), dtype=bool)
    keep[np.isin(data, _ASCII_SEPARATORS)] = False
    lead = np.flatnonzero((data >= 0xE0) & (data <= 0xEF))
    if len(lead):
        cp = (
            (data[lead].astype(np.int32) & 0x0F) << 12
            | (data[lead + 1].astype(np.int32) & 0x3F) << 6
            | (data[lead + 2].astype(np.int32) & 0x3F)
        )
        fw_digit = (cp >= 0xFF10) & (cp <= 0xFF19)
        fw_plus = cp == 0xFF0B
        data = data.copy()
        data[lead[fw_digit] + 2] = (cp[fw_digit] - 0xFF10 + _B0).astype(np.uint8)
        data[lead[fw_plus] + 2] = ord("+")
        keep[lead] = False
        keep[lead + 1] = False
        keep[lead + 2] = fw_digit | fw_plus
    offsets, data = _compact(offsets, data, keep)
    lengths = np.diff(offsets)

    reason, national, nat_len, repaired = _judge(
        _windows(_padded(data), offsets[:-1]), lengths, allow_plus=True
    )
    reason[~allowed] = _INVALID
    reason[empty] = _MISSING
    nat_len[~allowed | empty] = 0
    return reason, national, nat_len, repaired


def _judge(
    win: np.ndarray, lengths: np.ndarray, *, allow_plus: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steps 5-6 and the verdict for digit strings, given as 16-byte windows and lengths.

    Each string must hold only ASCII digits, and ``+`` when ``allow_plus``; bytes of a
    window past its length are junk and never decide anything. Returns reason codes
    (int8), the national form as an (m, 11) byte matrix with its lengths (0 when
    invalid) and the repaired flags.
    """
    m = len(lengths)
    col = [win[:, j] for j in range(5)]
    invalid = lengths > _WINDOW

    if allow_plus:
        in_value = np.arange(_WINDOW) < lengths[:, None]
        is_plus = (win == ord("+")) & in_value
        plus = is_plus[:, 0]
        invalid |= is_plus[:, 1:].any(axis=1)  # "+" only in front
        intl = plus & (lengths >= 3) & (col[1] == _B8) & (col[2] == _B1)
        invalid |= plus & ~intl  # another country code, or none at all
    else:
        plus = np.zeros(m, dtype=bool)
        intl = plus

    bare81 = ~plus & (lengths == 12) & (col[0] == _B8) & (col[1] == _B1)
    repair = ~plus & (lengths == 10) & (col[0] >= ord("6")) & (col[1] == _B0)

    # Where the national digits start in the window, and whether a "0" goes in front.
    skip = np.zeros(m, dtype=np.int64)
    skip[intl] = 3 + ((lengths[intl] >= 4) & (col[3][intl] == _B0))
    skip[bare81] = 2 + (col[2][bare81] == _B0)
    prefix = intl | bare81 | repair
    nat_len = lengths - skip + prefix

    national = win[:, :11].copy()
    for k in (0, 2, 3, 4):
        rows = prefix & (skip == k)
        if rows.any():
            national[rows, 0] = _B0
            national[rows, 1:] = win[rows, k : k + 10]

    d0, d1, d2, d3 = (national[:, j] for j in range(4))
    len10, len11 = nat_len == 10, nat_len == 11
    lead0 = d0 == _B0
    mobile = len11 & lead0 & (d1 >= ord("6")) & (d2 == _B0) & (d3 != _B0)
    ip_phone = len11 & lead0 & (d1 == _B5) & (d2 == _B0)
    landline = (
        (len10 & lead0 & (d1 != _B0) & (d2 != _B0))
        | (len11 & lead0 & (d1 == _B2) & (d2 == _B0))
        | (len11 & lead0 & (d1 == _B8) & (d2 == _B0) & (d3 == _B0))
    )
    reason = np.full(m, _INVALID, dtype=np.int8)
    reason[landline] = _LANDLINE
    reason[ip_phone] = _IP_PHONE
    reason[mobile] = _OK
    reason[invalid] = _INVALID
    well_formed = reason != _INVALID
    nat_len = np.where(well_formed, nat_len, 0)
    return reason, national, nat_len, repair & well_formed


# --- Arrow <-> numpy plumbing ------------------------------------------------------------


def _as_string_array(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    if not isinstance(values, pa.Array):
        raise TypeError(f"classify_array() takes a pyarrow Array, not {type(values).__name__}")
    t = values.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return pa.nulls(len(values), pa.string())
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)):
        raise TypeError(
            f"classify_array() takes strings, not {values.type}; read phone columns as text"
        )
    return values if values.type == pa.string() else values.cast(pa.string())


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64, absolute into data) and data bytes of a ``string`` array."""
    bufs = arr.buffers()
    offsets = np.frombuffer(
        bufs[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4
    ).astype(np.int64)
    data = (
        np.frombuffer(bufs[2], dtype=np.uint8, count=int(offsets[-1]))
        if bufs[2] is not None
        else np.empty(0, dtype=np.uint8)
    )
    return offsets, data


def _string_array(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    data = data[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    return pa.StringArray.from_buffers(
        len(offsets) - 1,
        pa.py_buffer(offsets.astype(np.int32)),
        pa.py_buffer(np.ascontiguousarray(data)),
    )


def _padded(data: np.ndarray) -> np.ndarray:
    # Room for a full window read starting at any offset, including the end of the data.
    out = np.zeros(len(data) + _WINDOW + 8, dtype=np.uint8)
    out[: len(data)] = data
    return out


def _windows(padded: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The 16 bytes from each start, as an (m, 16) matrix, via two 8-byte gathers."""
    words = np.ndarray(
        shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,)
    )  # an unaligned view: one uint64 starting at every byte
    out = np.empty((len(starts), 2), dtype="<u8")
    out[:, 0] = words[starts]
    out[:, 1] = words[starts + 8]
    return out.view(np.uint8).reshape(len(starts), _WINDOW)


def _compact(
    offsets: np.ndarray, data: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the bytes where ``keep`` is False, moving every value's offsets to match."""
    kept_before = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    return kept_before[offsets], data[keep]


def _string_array_from_matrix(mat: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """A string array whose row i is the first ``lengths[i]`` bytes of ``mat[i]``."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = mat[np.arange(mat.shape[1]) < lengths[:, None]]
    return _string_array(offsets, data)

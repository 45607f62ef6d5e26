"""CP932 (Excel's "Shift_JIS") columns to Arrow strings, decoding only what is not ASCII.

In CP932 a second byte is always 0x40 or above, so a comma, a quote or a line break can
never sit inside a character: the raw bytes parse as CSV as they are, in parallel, into
binary columns. Then an all-ASCII column becomes strings without a copy (ASCII is
UTF-8); in a column of Japanese text every row goes to the codec, elsewhere only the rows
holding a byte ≥ 0x80. Of those, only the distinct values are decoded — in one call per
column, joined by a separator that CP932 text never holds. A roster's phone numbers, IDs
and URLs are nearly all ASCII, and its names, kinds and flags repeat, so most of the file
is never decoded at all.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sms_core.errors import RosterError

# ASCII "unit separator": a control character no roster value holds; checked anyway.
_SEPARATOR = 0x1F
# A column whose bytes are at least 1/_DENSE non-ASCII (Japanese text: about 3/4) is
# decoded whole; below that, only the rows that hold such bytes.
_DENSE = 4


def decode_column(column: pa.ChunkedArray | pa.Array, header: str) -> pa.ChunkedArray:
    """A binary column of CP932 bytes as UTF-8 strings.

    Raises RosterError naming the row (header = row 1) and ``header`` for bytes that are
    not CP932; when several rows hold such bytes, the first of them.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    chunks = [pc.fill_null(c, b"") if c.null_count else c for c in chunks]
    if all(_is_ascii(chunk) for chunk in chunks):
        return pa.chunked_array([_as_string(c) for c in chunks], pa.string())
    # One array, so that a value repeated across chunks is decoded once.
    arr = pa.concat_arrays(chunks) if len(chunks) > 1 else chunks[0]
    return pa.chunked_array([_decode_array(arr, header)], pa.string())


def _is_ascii(arr: pa.Array) -> bool:
    """No value holds a byte ≥ 0x80 (then the bytes are UTF-8 already)."""
    _, data = _buffers(arr)
    return data is None or not len(data) or int(data.max()) < 0x80


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Offsets (relative to the first value) and the bytes of a binary array's values."""
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32, count=arr.offset + len(arr) + 1)[arr.offset :]
    if data_buf is None:
        return offsets - offsets[0], None
    return offsets - offsets[0], np.frombuffer(data_buf, np.uint8)[offsets[0] : offsets[-1]]


def _decode_array(arr: pa.Array, header: str) -> pa.Array:
    offsets, data = _buffers(arr)
    assert data is not None  # only called when _is_ascii found bytes ≥ 0x80
    high = data >= 0x80
    if np.count_nonzero(high) * _DENSE >= len(data):
        # Names, kinds, flags: nearly every row needs the codec, so all rows go in
        # (ASCII ones decode as themselves); no subset to find, take or merge back.
        rows = np.arange(len(arr))
        sub = arr
    else:
        # Phones, IDs: a few rows hold full-width characters; find them from their bytes.
        rows = np.unique(np.searchsorted(offsets, np.flatnonzero(high), side="right") - 1)
        sub = arr.take(pa.array(rows))
    # Names and flags repeat: only their distinct values go through the codec.
    encoded = pc.dictionary_encode(sub)
    words = _decode_values(encoded.dictionary, encoded.indices, rows, header)
    decoded = words.take(encoded.indices)
    if len(rows) == len(arr):
        return _as_string(decoded)
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    return _as_string(pc.replace_with_mask(arr, pa.array(mask), decoded))


def _as_string(arr: pa.Array) -> pa.Array:
    """View a binary array whose bytes are known to be UTF-8 as strings, without a copy."""
    return pa.Array.from_buffers(pa.string(), len(arr), arr.buffers(), offset=arr.offset)


def _decode_values(values: pa.Array, indices: pa.Array, rows: np.ndarray, header: str) -> pa.Array:
    """Decode the distinct CP932 ``values`` (all at once) into a binary array of UTF-8.

    ``indices`` say which value each of ``rows`` holds; they name the row of a bad value.
    """
    joined = pc.binary_join(pa.ListArray.from_arrays([0, len(values)], values), bytes([_SEPARATOR]))
    raw = joined[0].as_py()
    if raw.count(_SEPARATOR) != len(values) - 1:
        # A value holds the separator itself: decode value by value (rare, slower).
        return pa.array(
            [_decode_one(v, k, indices, rows, header) for k, v in enumerate(values.to_pylist())],
            pa.binary(),
        )
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError as exc:
        raise _not_cp932(raw.count(_SEPARATOR, 0, exc.start), indices, rows, header) from None
    utf8 = np.frombuffer(text.encode("utf-8"), np.uint8)
    seps = np.flatnonzero(utf8 == _SEPARATOR)
    keep = np.ones(len(utf8), dtype=bool)
    keep[seps] = False
    data = utf8[keep]
    offsets = np.empty(len(values) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:-1] = seps - np.arange(len(seps))
    offsets[-1] = len(data)
    return pa.Array.from_buffers(
        pa.binary(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _decode_one(value: bytes, k: int, indices: pa.Array, rows: np.ndarray, header: str) -> bytes:
    try:
        return value.decode("cp932").encode("utf-8")
    except UnicodeDecodeError:
        raise _not_cp932(k, indices, rows, header) from None


def _not_cp932(k: int, indices: pa.Array, rows: np.ndarray, header: str) -> RosterError:
    """The error for distinct value ``k``, naming the first row that holds it.

    Distinct values are numbered in order of first appearance, so the first value that
    fails is also the first bad row of the column.
    """
    first = int(np.flatnonzero(indices.to_numpy(zero_copy_only=False) == k)[0])
    return RosterError(
        "this value is not Shift_JIS (CP932) text; export the file again from Excel",
        row=int(rows[first]) + 2,
        column=header,
        key="roster.not_cp932_value",
    )

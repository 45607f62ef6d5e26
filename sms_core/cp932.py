"""CP932 (Excel's "Shift_JIS") columns to Arrow strings, decoding only what is not ASCII.

In CP932 a second byte is always 0x40 or above, so a comma, a quote or a line break can
never sit inside a character: the raw bytes parse as CSV as they are, in parallel, into
binary columns. Then each column's ASCII rows become strings without a copy (ASCII is
UTF-8), and only rows holding a byte ≥ 0x80 go through the codec — in one call per
column, joined by a separator that CP932 text never holds. A roster's phone numbers,
IDs and URLs are nearly all ASCII, so most of the file is never decoded at all.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import RosterError

# ASCII "unit separator": a control character no roster value holds; checked anyway.
_SEPARATOR = 0x1F
# Flags and kinds (済/未, 新卒/中途) are a few bytes long and repeat: decoding each distinct
# value once beats decoding every row when values are this short and this few.
_SHORT_VALUE_BYTES = 8
_FEW_VALUES = 64


def decode_column(column: pa.ChunkedArray | pa.Array, header: str) -> pa.ChunkedArray:
    """A binary column of CP932 bytes as UTF-8 strings, chunk by chunk.

    Raises RosterError naming the row (header = row 1) and ``header`` for bytes that are
    not CP932.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out, first_row = [], 0
    for chunk in chunks:
        out.append(_decode_chunk(chunk, header, first_row))
        first_row += len(chunk)
    return pa.chunked_array(out, pa.string())


def _decode_chunk(arr: pa.Array, header: str, first_row: int) -> pa.Array:
    if arr.null_count:
        arr = pc.fill_null(arr, b"")
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, np.int32, count=arr.offset + n + 1)[arr.offset :]
    if data_buf is None or offsets[-1] == offsets[0]:
        return arr.cast(pa.string())
    data = np.frombuffer(data_buf, np.uint8)[offsets[0] : offsets[-1]]
    if data.max() < 0x80:
        return _as_string(arr)  # ASCII: already UTF-8, not even copied
    starts = offsets[:-1] - offsets[0]
    filled = offsets[1:] > offsets[:-1]
    top = np.zeros(n, dtype=np.uint8)
    # reduceat gives each row's highest byte (rows must be non-empty for it to mean that).
    top[filled] = np.maximum.reduceat(data, starts[filled])
    rows = np.flatnonzero(top >= 0x80)
    if len(rows) * 2 > n and len(data) <= _SHORT_VALUE_BYTES * n:
        coded = _decode_dictionary(arr, header, first_row)
        if coded is not None:
            return coded
    if len(rows) == n:  # every row needs the codec (names): no subset, no merge
        return _as_string(_decode_rows(arr, rows + first_row, header))
    decoded = _decode_rows(arr.take(pa.array(rows)), rows + first_row, header)
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return _as_string(pc.replace_with_mask(arr, pa.array(mask), decoded))


def _decode_dictionary(arr: pa.Array, header: str, first_row: int) -> pa.Array | None:
    """Short repeated values (区分, 済/未 flags): decode each distinct value once.

    None when the column has too many distinct values for that to pay.
    """
    encoded = pc.dictionary_encode(arr)
    values = encoded.dictionary
    if len(values) > max(_FEW_VALUES, len(arr) // 100):
        return None
    words = []
    for k, value in enumerate(values.to_pylist()):
        try:
            words.append(value.decode("cp932").encode("utf-8"))
        except UnicodeDecodeError:
            # Only now is it worth finding the first row that holds this value.
            indices = encoded.indices.to_numpy(zero_copy_only=False)
            _decode_one(value, int(np.flatnonzero(indices == k)[0]) + first_row, header)
    dictionary = pa.array(words, pa.binary())
    return _as_string(pa.DictionaryArray.from_arrays(encoded.indices, dictionary).cast(pa.binary()))


def _as_string(arr: pa.Array) -> pa.Array:
    """View a binary array whose bytes are known to be UTF-8 as strings, without a copy."""
    return pa.Array.from_buffers(pa.string(), len(arr), arr.buffers(), offset=arr.offset)


def _decode_rows(sub: pa.Array, rows: np.ndarray, header: str) -> pa.Array:
    """Decode the CP932 values of ``sub`` (all at once) into a binary array of UTF-8."""
    joined = pc.binary_join(pa.ListArray.from_arrays([0, len(sub)], sub), bytes([_SEPARATOR]))
    raw = joined[0].as_py()
    if raw.count(_SEPARATOR) != len(sub) - 1:
        # A value holds the separator itself: decode value by value (rare, slower).
        return pa.array(
            [_decode_one(v, rows[k], header) for k, v in enumerate(sub.to_pylist())], pa.binary()
        )
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError as exc:
        k = raw.count(_SEPARATOR, 0, exc.start)
        raise RosterError(
            "this value is not Shift_JIS (CP932) text; export the file again from Excel",
            row=int(rows[k]) + 2,
            column=header,
        ) from None
    utf8 = np.frombuffer(text.encode("utf-8"), np.uint8)
    seps = np.flatnonzero(utf8 == _SEPARATOR)
    keep = np.ones(len(utf8), dtype=bool)
    keep[seps] = False
    data = utf8[keep]
    offsets = np.empty(len(sub) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:-1] = seps - np.arange(len(seps))
    offsets[-1] = len(data)
    return pa.Array.from_buffers(
        pa.binary(), len(sub), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _decode_one(value: bytes, row: int, header: str) -> bytes:
    try:
        return value.decode("cp932").encode("utf-8")
    except UnicodeDecodeError:
        raise RosterError(
            "this value is not Shift_JIS (CP932) text; export the file again from Excel",
            row=int(row) + 2,
            column=header,
        ) from None

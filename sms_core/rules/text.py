"""Message length, billing units, splitting and carrier segments (rules R6–R9).

Everything here counts in UTF-16 code units, because that is what carriers send (UCS-2)
and what the contract bills: a kana, kanji or ASCII letter is 1, an emoji or other
character outside the Basic Multilingual Plane ("astral") is 2 (R6). Python strings
count code points, so ``len(text)`` is *not* the length of a message; use
:func:`utf16_len` for one string and :func:`utf16_lengths` for a column of them.

- R7: a message of ``c`` characters costs ``ceil(c / 70)`` units (通).
- R8: a message holds at most 660 characters; :func:`split_message` cuts a longer text
  so that the total units are minimal, then the parts are as few as possible, then the
  cuts fall after a line break or a sentence end where it can, and never inside a URL or
  a surrogate pair.
- R9: carriers count concatenated SMS segments differently (70 in one, 67 each beyond);
  :func:`carrier_segments` gives that count so the preview can show it beside the units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeAlias, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sms_core.errors import InputError

# R6-R8 for one message (newlines, UTF-16 length, units, the longest message), kept light
# for the sandbox, the worker and edits; re-exported here with the rest of the rules.
from sms_core.rules.units import (
    MAX_MESSAGE_CHARS,
    UNIT_CHARS,
    normalize_newlines,
    units_for_chars,
    utf16_len,
)

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_MESSAGE_CHARS",
    "SEGMENT_MULTI",
    "SEGMENT_SINGLE",
    "UNIT_CHARS",
    "URL_RE",
    "Cost",
    "carrier_segments",
    "cost",
    "has_astral",
    "normalize_newlines",
    "split_message",
    "units_for_chars",
    "utf16_len",
    "utf16_lengths",
]

# R9: a message of up to 70 code units travels as one UCS-2 SMS ...
SEGMENT_SINGLE = 70
# ... and a longer one as concatenated SMS, whose 6-byte UDH leaves 67 code units each.
SEGMENT_MULTI = 67
# The longest body we accept: 10 messages' worth. Parts of one recipient go out one after
# another (R8), so a body beyond this is a pasted document rather than an SMS; the cap
# also bounds the splitting work and keeps the DP cost encoding far from int64 overflow.
MAX_BODY_CHARS = 10 * MAX_MESSAGE_CHARS

# ASCII URLs: the scheme, then RFC 3986 unreserved and reserved characters and '%'. The
# match stops at the first other character, because Japanese text often follows a URL
# with no space ("…/apply。詳細は"). re.ASCII keeps IGNORECASE from folding non-ASCII
# look-alikes (the Kelvin sign K, the long s ſ) into the scheme or the path.
URL_RE = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE | re.ASCII)

# Code points above the BMP take two UTF-16 code units (a surrogate pair).
_BMP_MAX = 0xFFFF
# In valid UTF-8, a byte >= 0xF0 can only lead a 4-byte sequence, i.e. an astral character
# (continuation bytes are 0x80–0xBF, 2- and 3-byte leads 0xC2–0xEF).
_UTF8_ASTRAL_LEAD = 0xF0

# R8 cut preferences, judged on the character just before the cut.
_BREAK_AFTER = frozenset("\n。！？!?")  # a line or sentence ends: the best place to cut
_SOFT_AFTER = frozenset(" \t\u3000、，,")  # a pause inside a sentence: second best

# The splitter's DP minimises (units, parts, hard cuts, soft cuts) lexicographically,
# packed into one int64 so numpy can take the minimum over a window in one call. Each
# weight exceeds the largest total the terms below it can reach for a body of at most
# MAX_BODY_CHARS code units (there are fewer cuts, parts and units than code units).
_PEN_BREAK = 0
_PEN_SOFT = 1
_PEN_HARD = MAX_BODY_CHARS + 1
_W_PARTS = _PEN_HARD * (MAX_BODY_CHARS + 1)
_W_UNITS = _W_PARTS * (MAX_BODY_CHARS + 1)
# "Unreachable": far above any real cost, yet adding one part's cost cannot overflow.
_INF = np.int64(2**62)
if (MAX_BODY_CHARS + 1) * _W_UNITS >= _INF:  # pragma: no cover - guards a constant change
    raise AssertionError("DP cost weights overflow int64; lower MAX_BODY_CHARS")

# Cost of one part by its length in code units (index 0 unused), reversed so that a DP
# window g[lo:p] lines up with a contiguous, ascending slice of it.
_PART_LENGTHS = np.arange(MAX_MESSAGE_CHARS + 1, dtype=np.int64)
_PART_COST_REV = (_W_UNITS * (-(-_PART_LENGTHS // UNIT_CHARS)) + _W_PARTS)[::-1].copy()


@dataclass(frozen=True, slots=True)
class Cost:
    """What one text costs to send to one recipient, summed over its parts.

    ``chars`` is the length in UTF-16 code units (R6), ``units`` the contract units (R7,
    each part billed on its own length), ``parts`` the number of messages it is split into
    (R8) and ``segments`` the carriers' concatenated-SMS segment count (R9).
    """

    chars: int
    units: int
    parts: int
    segments: int


def carrier_segments(part: str) -> int:
    """Return how many SMS segments carriers bill for one message ``part`` (R9).

    Up to 70 code units is one segment. Beyond that, segments of 67 code units are filled
    in order, and an astral character (a surrogate pair) never straddles two segments: if
    it does not fit, it starts the next one. Meant for one part of at most 660 characters
    (see :func:`split_message`); an empty part is 0 segments.
    """
    n = utf16_len(part)
    if n <= SEGMENT_SINGLE:
        return 1 if n else 0
    if n == len(part):
        # No surrogate pairs, so nothing can be pushed into the next segment.
        return -(-n // SEGMENT_MULTI)
    segments, fill = 1, 0
    for ch in part:
        width = 2 if ord(ch) > _BMP_MAX else 1
        if fill + width > SEGMENT_MULTI:
            segments, fill = segments + 1, 0
        fill += width
    return segments


def split_message(text: str) -> list[str]:
    """Split ``text`` into messages of at most 660 characters each (R8).

    ``text`` must already be newline-normalised (:func:`normalize_newlines`). A text of at
    most 660 code units is returned as it is. A longer one is cut so that

    1. the total units ``Σ ceil(len_i / 70)`` are minimal — ``ceil(n / 70)`` whenever the
       allowed cuts permit (661 → 630 + 31, 10 units, not 660 + 1, 11 units);
    2. then the parts are as few as possible;
    3. then as few cuts as possible fall mid-word: a cut right after a line break or a
       sentence end (``。！？!?``) is best, after a space, ``、`` or ``，`` next, anywhere
       else worst (fewest worst cuts first, then fewest second-best ones).

    A cut never falls inside a surrogate pair or a URL (:data:`URL_RE`). Remaining ties go
    to the later cut, so earlier parts are the fuller ones.

    Raises :class:`InputError` for an empty text, a text over :data:`MAX_BODY_CHARS`
    characters, or a URL longer than one message.
    """
    if not text:
        raise InputError("The message is empty; write something to send.", key="body.empty")
    n = utf16_len(text)
    if n > MAX_BODY_CHARS:
        raise InputError(
            f"The message is {n:,} characters long; the limit is "
            f"{MAX_BODY_CHARS:,} ({MAX_BODY_CHARS // MAX_MESSAGE_CHARS} messages of "
            f"{MAX_MESSAGE_CHARS}).",
            key="body.too_long",
            chars=n,
            max=MAX_BODY_CHARS,
        )
    if n <= MAX_MESSAGE_CHARS:
        return [text]

    code_points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    # starts[i]: the code-unit position where Python character i begins; starts[-1] == n.
    starts = np.zeros(len(text) + 1, dtype=np.int64)
    np.cumsum(np.where(code_points > _BMP_MAX, 2, 1), out=starts[1:])
    n = int(starts[-1])

    # Cuts are allowed at character boundaries (so never inside a surrogate pair) ...
    allowed = np.zeros(n + 1, dtype=bool)
    allowed[starts] = True
    # ... except inside a URL; cutting just before or after one is fine.
    for match in URL_RE.finditer(text):
        begin, end = int(starts[match.start()]), int(starts[match.end()])
        if end - begin > MAX_MESSAGE_CHARS:
            shown = match.group()
            shown = shown if len(shown) <= 60 else shown[:60] + "…"
            raise InputError(
                f"A URL is {end - begin:,} characters long and cannot fit in one message "
                f"of {MAX_MESSAGE_CHARS}; shorten it: {shown}",
                key="body.url_too_long",
                chars=end - begin,
                max=MAX_MESSAGE_CHARS,
                url=shown,
            )
        allowed[begin + 1 : end] = False

    # Penalty of a cut at position starts[i + 1], judged on character i before it.
    char_penalty = np.full(len(text), _PEN_HARD, dtype=np.int64)
    char_penalty[np.isin(code_points, _code_points(_SOFT_AFTER))] = _PEN_SOFT
    char_penalty[np.isin(code_points, _code_points(_BREAK_AFTER))] = _PEN_BREAK
    penalty = np.zeros(n + 1, dtype=np.int64)
    penalty[starts[1:]] = char_penalty

    cuts = _best_cuts(n, allowed, penalty)
    indexes = np.searchsorted(starts, cuts).tolist()
    return [text[a:b] for a, b in pairwise(indexes)]


def _code_points(chars: frozenset[str]) -> np.ndarray:
    return np.fromiter((ord(c) for c in chars), dtype=np.uint32, count=len(chars))


def _best_cuts(n: int, allowed: np.ndarray, penalty: np.ndarray) -> list[int]:
    """Return the optimal cut positions ``[0, …, n]`` (code units) by DP (see split_message).

    ``g[q]`` is the best packed cost of text[:q] plus the penalty of cutting at ``q``; a
    part ending at ``p`` may start at any ``q`` in the last 660 positions, so each step is
    one vectorised add + argmin over that window: O(n · 660) in numpy, not in Python.
    """
    g = np.full(n + 1, _INF, dtype=np.int64)
    g[0] = 0
    back = np.zeros(n + 1, dtype=np.int64)
    top = MAX_MESSAGE_CHARS  # _PART_COST_REV[top - length] is the cost of a part
    for p in (np.flatnonzero(allowed[1:]) + 1).tolist():
        lo = max(0, p - MAX_MESSAGE_CHARS)
        # Parts q..p for q = lo…p-1 have lengths p-lo … 1.
        values = g[lo:p] + _PART_COST_REV[top - (p - lo) : top]
        # argmin over the reversed window: among equal costs, take the latest start.
        k = (p - lo - 1) - int(np.argmin(values[::-1]))
        best = values[k]
        if best >= _INF:
            continue  # no allowed cut within reach; only a URL over 660 causes this
        back[p] = lo + k
        if p < n:
            g[p] = best + penalty[p]
        else:
            break
    else:  # pragma: no cover - the URL length check above makes every end reachable
        raise InputError("The message cannot be split into parts of 660 characters.")
    cuts = [n]
    while cuts[-1]:
        cuts.append(int(back[cuts[-1]]))
    return cuts[::-1]


def cost(text: str) -> Cost:
    """Return the cost of sending ``text`` to one recipient (R6–R9).

    Newlines are normalised first (CRLF is sent as LF), the text is split as
    :func:`split_message` does, and each part is billed on its own length. Pass the text
    as the recipient will receive it: merge tags filled in and URLs shortened (R9).

    Raises :class:`InputError` for an empty text and whatever :func:`split_message` raises.
    """
    text = normalize_newlines(text)
    if not text:
        raise InputError("The message is empty; write something to send.", key="body.empty")
    parts = split_message(text)
    lengths = [utf16_len(part) for part in parts]
    return Cost(
        chars=sum(lengths),
        units=sum(units_for_chars(length) for length in lengths),
        parts=len(parts),
        segments=sum(carrier_segments(part) for part in parts),
    )


ArrowStrings: TypeAlias = pa.Array | pa.ChunkedArray


def utf16_lengths(values: ArrowStrings) -> np.ndarray:
    """Return the UTF-16 length (R6) of each string in ``values`` as int64; nulls give 0.

    Vectorised: the code-point count from Arrow plus one for each astral character, found
    as the 4-byte UTF-8 lead bytes in the data buffer. Accepts string, large_string,
    string_view and dictionary-encoded string arrays, sliced or chunked; anything else
    ``pyarrow.array`` turns into strings (a list, a pandas Series) is converted first.
    """
    parts = [_code_point_lengths(chunk) + _astral_counts(chunk) for chunk in _string_chunks(values)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def utf16_lengths_and_astral(values: ArrowStrings) -> tuple[np.ndarray, np.ndarray]:
    """:func:`utf16_lengths` and :func:`has_astral` together, scanning the bytes once."""
    lengths, astral = [], []
    for chunk in _string_chunks(values):
        counts = _astral_counts(chunk)
        lengths.append(_code_point_lengths(chunk) + counts)
        astral.append(counts > 0)
    if not lengths:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    return np.concatenate(lengths), np.concatenate(astral)


def has_astral(values: ArrowStrings) -> np.ndarray:
    """Return, per string in ``values``, whether it holds an astral character (e.g. emoji).

    Such a character counts 2 (R6) and may push a carrier segment over (R9); nulls give
    False. Accepts the same inputs as :func:`utf16_lengths`.
    """
    parts = [_astral_counts(chunk) > 0 for chunk in _string_chunks(values)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _string_chunks(values: Any) -> list[pa.Array]:
    """Return ``values`` as a list of string/large_string arrays (not chunked, not views)."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values, type=pa.large_string())
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    out = []
    for chunk in chunks:
        kind = chunk.type
        if pa.types.is_dictionary(kind):
            out.append(chunk.dictionary_decode())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out.append(chunk)
        elif pa.types.is_string_view(kind) or pa.types.is_null(kind):
            out.append(chunk.cast(pa.large_string()))
        else:
            raise TypeError(f"expected Arrow strings, got {kind}")
    return out


def _code_point_lengths(chunk: pa.Array) -> np.ndarray:
    lengths = pc.utf8_length(chunk).fill_null(0)
    return cast(np.ndarray, lengths.to_numpy(zero_copy_only=False).astype(np.int64, copy=False))


def _astral_counts(chunk: pa.Array) -> np.ndarray:
    """Count astral characters per row of a string/large_string array, without a row loop.

    The offsets buffer is shared with the unsliced parent, so it is read from
    ``chunk.offset``; the lead bytes' positions are few, so a binary search of each row's
    end offset among them gives a running count whose differences are per-row counts.
    """
    counts = np.zeros(len(chunk), dtype=np.int64)
    if len(chunk) == 0:
        return counts
    _, offsets_buf, data_buf = chunk.buffers()
    if data_buf is None or data_buf.size == 0:
        return counts
    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    # count=: the buffer may be padded or shared; read only the slots that exist.
    offsets = np.frombuffer(offsets_buf, dtype=offset_type, count=chunk.offset + len(chunk) + 1)
    offsets = offsets[chunk.offset :]
    first, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[first:end]
    leads = np.flatnonzero(data >= _UTF8_ASTRAL_LEAD) + first
    if leads.size == 0:
        return counts
    counts[:] = np.diff(np.searchsorted(leads, offsets))
    if chunk.null_count:
        # A null slot's offsets may span bytes in principle; it holds no text.
        counts[chunk.is_null().to_numpy(zero_copy_only=False)] = 0
    return counts


_TAG_RE = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def cost_of_body(body: str) -> Cost:
    """The cost of a body's own text, merge tags left out: the composer's live counter.

    Per-recipient costs (tags filled in) come from the preview; an empty text costs 0.
    """
    bare = normalize_newlines(_TAG_RE.sub("", body))
    if not bare:
        return Cost(0, 0, 0, 0)
    try:
        return cost(bare)
    except InputError:
        # Longer than a send may be: still show the count, as one oversize "part".
        n = utf16_len(bare)
        return Cost(n, units_for_chars(n), 1, carrier_segments(bare))

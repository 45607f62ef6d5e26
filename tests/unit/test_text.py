"""Tests of sms_core.rules.text: message length (R6), units (R7), splitting (R8), segments (R9)."""

from __future__ import annotations

import math
import operator
from itertools import accumulate, pairwise

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_core.errors import InputError
from sms_core.rules.text import (
    MAX_BODY_CHARS,
    MAX_MESSAGE_CHARS,
    SEGMENT_MULTI,
    SEGMENT_SINGLE,
    UNIT_CHARS,
    URL_RE,
    Cost,
    carrier_segments,
    cost,
    has_astral,
    normalize_newlines,
    split_message,
    units_for_chars,
    utf16_len,
    utf16_lengths,
)

KANA = "あいうえおかきくけこアイウエオ漢字日本語ー"
ASCII = "abcxyzABC0123"
ASTRAL = "😀𠮷🎉👍"
BREAKS = "\n。！？!?"  # R8: the best places to cut after
SOFT = " \t\u3000、，,"  # R8: second best
URL_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"


def units_of(parts: list[str]) -> int:
    return sum(units_for_chars(utf16_len(p)) for p in parts)


def cut_indexes(parts: list[str]) -> list[int]:
    """Python indexes of the cuts between parts (not 0, not the end)."""
    return list(accumulate(len(p) for p in parts))[:-1]


def cut_kind(ch: str) -> int:
    """0 after a line/sentence end, 1 after a pause, 2 elsewhere (R8 preferences)."""
    return 0 if ch in BREAKS else 1 if ch in SOFT else 2


def score(text: str, parts: list[str]) -> tuple[int, int, int, int]:
    """(units, parts, mid-word cuts, pause cuts): R8's order of preference, smaller better."""
    kinds = [cut_kind(text[i - 1]) for i in cut_indexes(parts)]
    return (units_of(parts), len(parts), kinds.count(2), kinds.count(1))


def url_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in URL_RE.finditer(text)]


def longest_url(text: str) -> int:
    return max((utf16_len(text[a:b]) for a, b in url_spans(text)), default=0)


def reference_best(text: str) -> tuple[int, int, int, int]:
    """The optimal R8 score, by a plain DP over Python character indexes.

    Deliberately independent of the implementation: no numpy, Python indexes rather than
    code units, and cut legality from first principles.
    """
    size = len(text)
    pos = [0, *accumulate(utf16_len(c) for c in text)]  # code units before char i
    inside_url = [False] * (size + 1)
    for a, b in url_spans(text):
        for i in range(a + 1, b):
            inside_url[i] = True
    base = 10**4  # above any count of parts or cuts for texts this small
    part_cost = [math.ceil(length / UNIT_CHARS) * base**3 + base**2 for length in range(661)]
    cut_cost = [0, 1, base]  # pause cut, then mid-word cut, by cut_kind
    best = [None] * (size + 1)  # best packed score of text[:i] ending with a cut at i
    best[0] = 0
    lo = 0
    for p in range(1, size + 1):
        while pos[p] - pos[lo] > MAX_MESSAGE_CHARS:
            lo += 1
        if p < size and inside_url[p]:
            continue
        options = [
            best[q] + part_cost[pos[p] - pos[q]] for q in range(lo, p) if best[q] is not None
        ]
        if options:
            best[p] = min(options) + (cut_cost[cut_kind(text[p - 1])] if p < size else 0)
    packed = best[size]
    assert packed is not None
    return (packed // base**3, packed // base**2 % base, packed // base % base, packed % base)


# --- text strategies: kana, ASCII, emoji, line breaks, sentence ends, pauses, URLs --------

runs = st.builds(operator.mul, st.sampled_from(KANA + ASCII + ASTRAL), st.integers(1, 300))
mixed = st.text(alphabet=KANA + ASCII + ASTRAL + BREAKS + SOFT, min_size=1, max_size=40)
urls = st.builds(
    lambda host, path, after: f"https://{host}.jp/{path}{after}",
    st.sampled_from(["example", "s", "recruit-example"]),
    st.one_of(
        st.text(alphabet=URL_CHARS, max_size=60),
        st.builds(operator.mul, st.sampled_from(URL_CHARS), st.integers(0, 700)),
    ),
    # Japanese text often follows a URL directly; "" lets the next ASCII chunk extend it.
    st.sampled_from(["", " ", "\n", "。", "は", "😀"]),
)
chunks = st.one_of(runs, mixed, urls, st.sampled_from(list(ASTRAL + BREAKS)))


@st.composite
def bodies(draw: st.DrawFn, max_units: int) -> str:
    """A body of 1…max_units code units, mostly over 660, often just over a multiple of 70."""
    target = draw(
        st.one_of(
            st.integers(1, max_units),
            st.integers(MAX_MESSAGE_CHARS + 1, max_units),
            st.integers(MAX_MESSAGE_CHARS - 5, min(max_units, MAX_MESSAGE_CHARS + 100)),
            st.sampled_from([n for n in (661, 700, 701, 1320, 1321, 1330, 1331) if n <= max_units]),
        )
    )
    pieces: list[str] = []
    total = 0
    while total < target and len(pieces) < 24:
        piece = draw(chunks)
        pieces.append(piece)
        total += utf16_len(piece)
    if total < target:
        # A few chunks, then one run to the target: long bodies without exhausting the
        # example's entropy budget (which would quietly skew bodies short).
        pieces.append(draw(st.sampled_from(KANA + ASCII + ASTRAL)) * (target - total))
    text = "".join(pieces)
    # Trim to the target without splitting a character (an emoji may leave it 1 short).
    ends = list(accumulate(utf16_len(c) for c in text))
    keep = sum(1 for e in ends if e <= target)
    return text[: max(keep, 1)]


# --- R6: length in UTF-16 code units ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("あ", 1),
        ("ア", 1),
        ("漢", 1),
        ("a", 1),
        ("ｱ", 1),
        ("😀", 2),
        ("𠮷", 2),
        ("👍🏽", 4),
        ("", 0),
    ],
)
def test_r6_character_widths(text: str, expected: int) -> None:
    assert utf16_len(text) == expected


def test_r6_crlf_is_sent_as_lf_and_counts_one() -> None:
    assert normalize_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"
    assert normalize_newlines("\r\r\n\n") == "\n\n\n"
    assert utf16_len(normalize_newlines("\r\n")) == 1
    assert cost("こんにちは\r\n𠮷田さん").chars == 5 + 1 + 2 + 3


@st.composite
def arrow_strings(draw: st.DrawFn) -> tuple[pa.Array | pa.ChunkedArray, list[str | None]]:
    """An Arrow string column, possibly sliced and chunked, and the values it holds."""
    values = draw(st.lists(st.one_of(st.none(), st.text(), st.sampled_from(ASTRAL)), max_size=40))
    kind = draw(st.sampled_from([pa.string(), pa.large_string(), pa.string_view()]))
    array = pa.array(values, type=kind)
    # Slice: the offsets then start at array.offset and the data buffer holds other rows.
    start = draw(st.integers(0, len(values)))
    stop = draw(st.integers(start, len(values)))
    array, values = array.slice(start, stop - start), values[start:stop]
    if draw(st.booleans()):
        cuts = sorted(draw(st.lists(st.integers(0, len(values)), max_size=4)))
        bounds = [0, *cuts, len(values)]
        array = pa.chunked_array([array.slice(a, b - a) for a, b in pairwise(bounds)], type=kind)
    return array, values


@settings(max_examples=200, deadline=None)
@given(arrow_strings())
def test_r6_utf16_lengths_matches_utf16_len(case: tuple[pa.Array, list[str | None]]) -> None:
    array, values = case
    lengths = utf16_lengths(array)
    assert lengths.dtype == np.int64
    assert lengths.tolist() == [0 if v is None else utf16_len(v) for v in values]
    astral = has_astral(array)
    assert astral.dtype == np.bool_
    assert astral.tolist() == [v is not None and any(ord(c) > 0xFFFF for c in v) for v in values]


def test_r6_utf16_lengths_other_inputs() -> None:
    values = ["a😀", None, "", "あ𠮷x"]
    expected = [3, 0, 0, 4]
    assert utf16_lengths(pa.array(values).dictionary_encode()).tolist() == expected
    assert utf16_lengths(values).tolist() == expected
    assert utf16_lengths(pa.nulls(2)).tolist() == [0, 0]
    assert utf16_lengths(pa.chunked_array([], type=pa.string())).tolist() == []
    assert has_astral(pa.chunked_array([], type=pa.string())).tolist() == []
    with pytest.raises(TypeError):
        utf16_lengths(pa.array([1, 2]))


@pytest.mark.slow
def test_r6_utf16_lengths_million_rows() -> None:
    pattern = ["山田太郎様 面接のご案内です😀", "", None, "https://s.jp/abc", "𠮷" * 3]
    array = pa.array(pattern * 200_000, type=pa.large_string())
    expected = np.tile([0 if v is None else utf16_len(v) for v in pattern], 200_000)
    np.testing.assert_array_equal(utf16_lengths(array), expected)
    np.testing.assert_array_equal(utf16_lengths(array.slice(3)), expected[3:])


# --- R7: billable units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chars", "units"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (140, 2), (141, 3), (210, 3), (211, 4), (630, 9),
     (631, 10), (660, 10)],
)  # fmt: skip
def test_r7_units_for_chars(chars: int, units: int) -> None:
    assert units_for_chars(chars) == units


def test_r7_units_of_a_message() -> None:
    assert cost("あ" * 70) == Cost(chars=70, units=1, parts=1, segments=1)
    assert cost("あ" * 71).units == 2
    assert cost("😀" * 35).units == 1  # 70 code units
    assert cost("😀" * 36).units == 2  # 72 code units
    assert cost("あ" * 660) == Cost(chars=660, units=10, parts=1, segments=10)


def test_r7_empty_message_is_refused() -> None:
    with pytest.raises(InputError, match="empty"):
        cost("")
    with pytest.raises(InputError, match="empty"):
        split_message("")
    assert cost("\r\n").chars == 1  # a lone line break is not empty (it is sent as LF)


def test_r7_negative_length_is_a_bug() -> None:
    with pytest.raises(ValueError):
        units_for_chars(-1)


# --- R8: splitting ------------------------------------------------------------------------


def test_r8_up_to_660_is_one_message() -> None:
    text = "あ" * 658 + "😀"
    assert split_message(text) == [text]
    assert split_message("a") == ["a"]


def test_r8_661_splits_630_31_for_10_units() -> None:
    parts = split_message("あ" * 661)
    assert [len(p) for p in parts] == [630, 31]
    assert units_of(parts) == 10
    # Carriers count 10 + 1 segments here: R9 shows that beside the 10 contract units.
    assert cost("あ" * 661) == Cost(chars=661, units=10, parts=2, segments=11)


def test_r8_line_break_at_a_unit_boundary_is_used() -> None:
    text = "あ" * 629 + "\n" + "い" * 70
    parts = split_message(text)
    assert [len(p) for p in parts] == [630, 70]
    assert parts[0].endswith("\n")


def test_r8_line_break_preferred_among_minimal_unit_cuts() -> None:
    # Cutting at 630 or at 560 both cost 10 units in 2 parts; 560 is after a line break.
    text = "あ" * 559 + "\n" + "い" * 140
    assert [len(p) for p in split_message(text)] == [560, 140]
    # Same for a sentence end, and a pause beats a mid-word cut.
    text = "あ" * 489 + "。" + "い" * 210
    assert [len(p) for p in split_message(text)] == [490, 210]
    text = "あ" * 489 + "、" + "い" * 210
    assert [len(p) for p in split_message(text)] == [490, 210]


def test_r8_units_come_before_line_breaks() -> None:
    # A cut after the line break at 620 would cost 9 + 2 = 11 units; 630 costs 10.
    text = "あ" * 619 + "\n" + "い" * 80
    parts = split_message(text)
    assert [len(p) for p in parts] == [630, 70]
    assert units_of(parts) == 10


def test_r8_url_straddling_a_boundary_is_not_cut() -> None:
    url = "https://example.jp/apply?id=" + "a" * 32  # code units 600…660
    text = "あ" * 600 + url + "。" + "い" * 39
    assert utf16_len(text) == 700
    parts = split_message(text)
    assert "".join(parts) == text
    assert any(url in p for p in parts)
    assert [len(p) for p in parts] == [560, 140]
    assert units_of(parts) == 10


def test_r8_url_can_force_more_than_the_unit_minimum() -> None:
    # Every cut that would give 10 units falls inside the URL: 11 is the best possible.
    url = "https://example.jp/" + "a" * 621  # code units 20…660
    text = "あ" * 20 + url + "。"
    parts = split_message(text)
    assert any(url in p for p in parts)
    assert units_of(parts) == 11 == reference_best(text)[0]


def test_r8_url_longer_than_a_message_is_refused() -> None:
    text = "詳細: https://example.jp/" + "a" * 700 + " まで"
    with pytest.raises(InputError, match="URL"):
        split_message(text)
    with pytest.raises(InputError, match="URL"):
        cost(text)


def test_r8_emoji_straddling_a_boundary_is_not_cut() -> None:
    text = "あ" * 629 + "😀" + "い" * 69  # the emoji is code units 629 and 630
    assert utf16_len(text) == 700
    parts = split_message(text)
    assert "".join(parts) == text
    assert [utf16_len(p) for p in parts] == [560, 140]
    assert units_of(parts) == 10


def test_r8_emoji_can_force_more_than_the_unit_minimum() -> None:
    # 700 code units whose pairs all start on odd units: every multiple of 70 is inside an
    # emoji, so the 10-unit splits are all forbidden and 11 is the best possible.
    text = "あ" + "😀" * 349 + "あ"
    assert utf16_len(text) == 700
    parts = split_message(text)
    assert [utf16_len(p) for p in parts] == [659, 41]
    assert units_of(parts) == 11 == reference_best(text)[0]


def test_r8_body_cap() -> None:
    assert len(split_message("あ" * MAX_BODY_CHARS)) == 11
    assert cost("あ" * MAX_BODY_CHARS).units == math.ceil(MAX_BODY_CHARS / UNIT_CHARS)
    with pytest.raises(InputError, match="6,600"):
        split_message("あ" * (MAX_BODY_CHARS + 1))
    with pytest.raises(InputError, match="limit"):
        cost("😀" * (MAX_BODY_CHARS // 2) + "あ")


def check_split(text: str, parts: list[str]) -> None:
    """The properties every R8 split has."""
    assert "".join(parts) == text
    for part in parts:
        assert 1 <= utf16_len(part) <= MAX_MESSAGE_CHARS
        part.encode("utf-16-le")  # strict: a lone surrogate (half an emoji) would raise
    cuts = cut_indexes(parts)
    for a, b in url_spans(text):
        assert not [c for c in cuts if a < c < b], f"URL {text[a:b]!r} was cut"
    n = utf16_len(text)
    minimum = math.ceil(n / UNIT_CHARS)
    assert units_of(parts) >= minimum
    # 630-unit parts reach the minimum whenever every multiple of 70 may be cut at.
    boundaries = set(accumulate(utf16_len(c) for c in text))
    for a, b in url_spans(text):
        boundaries -= set(range(utf16_len(text[:a]) + 1, utf16_len(text[:b])))
    if all(k in boundaries for k in range(UNIT_CHARS, n, UNIT_CHARS)):
        assert units_of(parts) == minimum


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(max_units=3000))
def test_r8_split_properties(text: str) -> None:
    if longest_url(text) > MAX_MESSAGE_CHARS:
        with pytest.raises(InputError, match="URL"):
            split_message(text)
        return
    check_split(text, split_message(text))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(max_units=1400))
def test_r8_split_is_optimal_against_reference(text: str) -> None:
    if longest_url(text) > MAX_MESSAGE_CHARS:
        return
    parts = split_message(text)
    check_split(text, parts)
    # Minimal units, then fewest parts among those, then the best cuts: all of R8's order.
    assert score(text, parts) == reference_best(text)


# --- R9: carrier segments ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chars", "segments"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (603, 9),
     (604, 10), (660, 10), (670, 10), (671, 11)],
)  # fmt: skip
def test_r9_segments_by_length(chars: int, segments: int) -> None:
    assert carrier_segments("あ" * chars) == segments


def test_r9_segment_constants() -> None:
    assert (SEGMENT_SINGLE, SEGMENT_MULTI) == (70, 67)


def test_r9_surrogate_pair_is_pushed_to_the_next_segment() -> None:
    # 66 + 2 > 67: the emoji starts segment 2 (67 full), and the last "a" needs a third,
    # though 134 code units would fit in 2 segments by length alone.
    text = "a" * 66 + "😀" + "a" * 66
    assert utf16_len(text) == 134
    assert carrier_segments(text) == 3
    # One less before it and the pair fits in segment 1.
    assert carrier_segments("a" * 65 + "😀" + "a" * 67) == 2
    # Up to 70 code units there is one segment, emoji or not.
    assert carrier_segments("😀" * 35) == 1


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=KANA + ASCII + ASTRAL, max_size=330))
def test_r9_segments_bounds(text: str) -> None:
    n = utf16_len(text)
    segments = carrier_segments(text)
    if n <= SEGMENT_SINGLE:
        assert segments == (1 if n else 0)
    else:
        # Each pushed pair wastes one code unit, at most once per segment.
        assert math.ceil(n / SEGMENT_MULTI) <= segments <= math.ceil(n / (SEGMENT_MULTI - 1))
        if n == len(text):
            assert segments == math.ceil(n / SEGMENT_MULTI)


def test_r9_cost_sums_segments_over_parts() -> None:
    text = "あ" * 700
    parts = split_message(text)
    assert cost(text).segments == sum(carrier_segments(p) for p in parts)

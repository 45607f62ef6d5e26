"""Tests of sms_core.rules.phones: eligible numbers (R1), normalisation (R2), reason codes (R3).

The tables restate the rules case by case; the hypothesis properties check that the
vectorised ``classify_array`` answers exactly as the scalar ``classify`` on messy input;
``phonenumbers`` serves as an independent oracle of which numbers are mobile.
"""

from __future__ import annotations

import ast
import random
from itertools import pairwise
from pathlib import Path

import numpy as np
import phonenumbers
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_core.rules import phone_verdict, phones
from sms_core.rules.phones import (
    REASON_CODES,
    PhoneArrays,
    PhoneVerdict,
    classify,
    classify_array,
)

MOBILE = "09012345678"

# (raw value, reason, national, repaired). national is "" unless well-formed.
R1_CASES = [
    ("09012345678", "ok", "09012345678", False),
    ("08012345678", "ok", "08012345678", False),
    ("07012345678", "ok", "07012345678", False),
    ("06012345678", "ok", "06012345678", False),
    ("09099999999", "ok", "09099999999", False),
    # 0X0-0 blocks are not mobile: 090-0, 070-0, 060-0 invalid ...
    ("090-0123-4567", "invalid", "", False),
    ("07001234567", "invalid", "", False),
    ("06001234567", "invalid", "", False),
    # ... and 080-0 is the 0800 toll-free range: a well-formed service number.
    ("08001234567", "landline", "08001234567", False),
    ("09112345678", "invalid", "", False),  # 091: not a mobile prefix, 11 digits
    ("0901234567", "invalid", "", False),  # 090 with 10 digits
]

R2_CASES = [
    # Separators: hyphens, spaces, brackets, dots.
    ("090-1234-5678", "ok", MOBILE, False),
    ("090 1234 5678", "ok", MOBILE, False),
    ("090　1234　5678", "ok", MOBILE, False),
    ("(090)1234-5678", "ok", MOBILE, False),
    ("090(1234)5678", "ok", MOBILE, False),
    ("（090）1234－5678", "ok", MOBILE, False),
    ("090.1234.5678", "ok", MOBILE, False),
    ("090．1234．5678", "ok", MOBILE, False),
    ("0-9-0-1-2-3-4-5-6-7-8", "ok", MOBILE, False),
    ("090--1234  5678", "ok", MOBILE, False),
    ("-09012345678-", "ok", MOBILE, False),
    # Full-width digits and dash-like marks.
    ("０９０１２３４５６７８", "ok", MOBILE, False),
    ("０９０－１２３４－５６７８", "ok", MOBILE, False),
    ("０９０-1234-5678", "ok", MOBILE, False),
    ("090ー1234ー5678", "ok", MOBILE, False),
    ("090ｰ1234ｰ5678", "ok", MOBILE, False),
    ("090‐1234‑5678", "ok", MOBILE, False),
    ("090‒1234–5678", "ok", MOBILE, False),
    ("090—1234―5678", "ok", MOBILE, False),
    ("090−1234−5678", "ok", MOBILE, False),
    # Whitespace at the ends is trimmed (ASCII and U+3000).
    ("  09012345678  ", "ok", MOBILE, False),
    ("\t090-1234-5678\r\n", "ok", MOBILE, False),
    ("\u300009012345678\u3000", "ok", MOBILE, False),
    # International forms.
    ("+81 90-1234-5678", "ok", MOBILE, False),
    ("+81-90-1234-5678", "ok", MOBILE, False),
    ("+81 (0)90 1234 5678", "ok", MOBILE, False),
    ("+81(0)90-1234-5678", "ok", MOBILE, False),
    ("+819012345678", "ok", MOBILE, False),
    ("+8109012345678", "ok", MOBILE, False),
    ("+81 0 90 1234 5678", "ok", MOBILE, False),
    ("(+81) 90 1234 5678", "ok", MOBILE, False),
    ("＋８１９０１２３４５６７８", "ok", MOBILE, False),
    ("＋81 90 1234 5678", "ok", MOBILE, False),
    ("819012345678", "ok", MOBILE, False),
    ("81-90-1234-5678", "ok", MOBILE, False),
    ("８１９０１２３４５６７８", "ok", MOBILE, False),
    ("+81 3-1234-5678", "landline", "0312345678", False),
    ("+81 50 1234 5678", "ip_phone", "05012345678", False),
    ("810312345678", "landline", "0312345678", False),  # 12 digits: 81 + trunk 0 + 9
    ("8109012345678", "invalid", "", False),  # bare 81 form is 12 digits only
    ("81312345678", "invalid", "", False),  # 11 digits starting 81: not international
    ("+1 415 555 2671", "invalid", "", False),
    ("+44 20 7946 0958", "invalid", "", False),
    ("+8", "invalid", "", False),
    ("+81", "invalid", "", False),
    ("+810", "invalid", "", False),
    ("+", "invalid", "", False),
    ("++819012345678", "invalid", "", False),
    ("+81+9012345678", "invalid", "", False),
    ("090+12345678", "invalid", "", False),
    ("09012345678+", "invalid", "", False),
    ("+81 90-1234-567", "invalid", "", False),
    # Excel leftovers: a leading apostrophe, the ="…" wrapper.
    ("'09012345678", "ok", MOBILE, False),
    ("'090-1234-5678", "ok", MOBILE, False),
    ("' 09012345678", "ok", MOBILE, False),
    ("  '09012345678", "ok", MOBILE, False),
    ('="09012345678"', "ok", MOBILE, False),
    ('="090-1234-5678"', "ok", MOBILE, False),
    ('=" 09012345678 "', "ok", MOBILE, False),
    ('  ="09012345678"  ', "ok", MOBILE, False),
    ('="+81 90 1234 5678"', "ok", MOBILE, False),
    ("'9012345678", "ok", MOBILE, True),
    ('="9012345678"', "ok", MOBILE, True),
    ("''09012345678", "invalid", "", False),  # only one apostrophe is Excel's
    ("09012345678'", "invalid", "", False),
    ('="09012345678', "invalid", "", False),
    ('09012345678"', "invalid", "", False),
    ("=09012345678", "invalid", "", False),
    ('="\'09012345678"', "invalid", "", False),  # one leftover only, not both
    ('="', "invalid", "", False),
    # Scientific notation from Excel has lost digits: never guessed.
    ("9.01234E+09", "invalid", "", False),
    ("9.01E+9", "invalid", "", False),
    ("9,01234E+09", "invalid", "", False),
    ("9.01234e+09", "invalid", "", False),
    ("9.012345678E+09", "invalid", "", False),
    ("'9.01234E+09", "invalid", "", False),
    # Excel's dropped leading zero: 10 digits beginning 60/70/80/90.
    ("9012345678", "ok", MOBILE, True),
    ("90-1234-5678", "ok", MOBILE, True),
    ("8012345678", "ok", "08012345678", True),
    ("7012345678", "ok", "07012345678", True),
    ("6012345678", "ok", "06012345678", True),
    ("９０１２３４５６７８", "ok", MOBILE, True),
    ("8001234567", "landline", "08001234567", True),  # 0800 toll-free
    ("9001234567", "invalid", "", False),  # repaired to 090-0…: not well-formed
    ("5012345678", "invalid", "", False),  # 50 is not one of the repaired prefixes
    ("312345678", "invalid", "", False),
    ("9112345678", "invalid", "", False),
    ("+81 9012345678", "ok", MOBILE, False),  # international, not a repair
    # Characters that NFKC would turn into digits are not digits here.
    ("①9012345678", "invalid", "", False),
    ("090-1234-567⑧", "invalid", "", False),
    ("⑴090-1234-5678", "invalid", "", False),
    ("0901234567⁸", "invalid", "", False),
    ("¹09012345678", "invalid", "", False),
    ("𝟎𝟗𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "invalid", "", False),
    ("٠٩٠١٢٣٤٥٦٧٨", "invalid", "", False),  # Arabic-Indic: Python's \d would take them
    ("०९०१२३४५६७८", "invalid", "", False),
    ("090﹣1234﹣5678", "invalid", "", False),  # small hyphen-minus: not on the list
    # Letters and other marks.
    ("TEL:09012345678", "invalid", "", False),
    ("090-1234-5678 (mobile)", "invalid", "", False),
    ("090-1234-5678※", "invalid", "", False),
    ("090-1234-5678 内線12", "invalid", "", False),
    ("なし", "invalid", "", False),
    ("090/1234/5678", "invalid", "", False),
    ("090_1234_5678", "invalid", "", False),
    ("090\t1234\t5678", "invalid", "", False),  # inside, only spaces separate
    ("090\u00a01234\u00a05678", "invalid", "", False),
    ("\u00a009012345678", "invalid", "", False),  # NBSP is not trimmed
    ("090,1234,5678", "invalid", "", False),
]

R3_CASES = [
    # missing: no number at all.
    (None, "missing", "", False),
    ("", "missing", "", False),
    (" ", "missing", "", False),
    ("\u3000", "missing", "", False),
    ("\t\n ", "missing", "", False),
    ("'", "missing", "", False),
    ("' ", "missing", "", False),
    ('=""', "missing", "", False),
    ('=" "', "missing", "", False),
    # Only separators: something was written, but no number.
    ("-", "invalid", "", False),
    ("---", "invalid", "", False),
    ("()", "invalid", "", False),
    ("ー", "invalid", "", False),
    # ip_phone: 050 + 8 digits.
    ("050-1234-5678", "ip_phone", "05012345678", False),
    ("05001234567", "ip_phone", "05001234567", False),
    ("0501234567", "invalid", "", False),
    ("050123456789", "invalid", "", False),
    # landline: well-formed domestic numbers that are neither mobile nor 050.
    ("03-1234-5678", "landline", "0312345678", False),
    ("06-1234-5678", "landline", "0612345678", False),
    ("011-123-4567", "landline", "0111234567", False),
    ("0466-12-3456", "landline", "0466123456", False),
    ("01267-1-2345", "landline", "0126712345", False),
    ("0120-123-456", "landline", "0120123456", False),
    ("0570-012-345", "landline", "0570012345", False),
    ("0180-123-456", "landline", "0180123456", False),
    ("0990-123-456", "landline", "0990123456", False),
    ("0800-123-4567", "landline", "08001234567", False),
    ("020-1234-5678", "landline", "02012345678", False),
    ("02001234567", "landline", "02001234567", False),
    # invalid: wrong length, 00/010 prefixes, …
    ("0012345678", "invalid", "", False),
    ("0101234567", "invalid", "", False),
    ("010-1234-5678", "invalid", "", False),
    ("0312345678901", "invalid", "", False),
    ("03-1234-567", "invalid", "", False),
    ("03-1234-56789", "invalid", "", False),
    ("090-1234-567", "invalid", "", False),
    ("090-1234-56789", "invalid", "", False),
    ("0800-123-456", "invalid", "", False),
    ("0200123456", "invalid", "", False),
    ("1234", "invalid", "", False),
    ("0", "invalid", "", False),
    ("12345678901", "invalid", "", False),
    ("0" * 40, "invalid", "", False),
    ("090-1234-5678" * 5, "invalid", "", False),
]

ALL_CASES = R1_CASES + R2_CASES + R3_CASES


def _as_tuple(v: PhoneVerdict) -> tuple[str, str, bool]:
    return (v.reason, v.national, v.repaired)


def _array_tuples(result: PhoneArrays) -> list[tuple[str, str, bool]]:
    return list(
        zip(
            [REASON_CODES[c] for c in result.reason.tolist()],
            result.national.to_pylist(),
            result.repaired.tolist(),
            strict=True,
        )
    )


def _check_same(values: list[str | None], array: pa.Array | pa.ChunkedArray) -> None:
    """classify_array(array) must answer, row for row, as classify on values."""
    result = classify_array(array)
    assert result.reason.dtype == np.int8
    assert result.repaired.dtype == np.bool_
    assert result.national.type == pa.string()
    assert result.national.null_count == 0
    assert len(result.reason) == len(result.repaired) == len(result.national) == len(values)
    verdicts = [classify(v) for v in values]
    got = _array_tuples(result)
    for value, verdict, act in zip(values, verdicts, got, strict=True):
        exp = _as_tuple(verdict)
        assert act == exp, f"{value!r}: classify_array {act} != classify {exp}"
    assert result.e164().to_pylist() == [v.e164 for v in verdicts]


# --- tables -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "reason", "national", "repaired"), R1_CASES)
def test_r1_mobile_numbers(raw, reason, national, repaired):
    """R1: only 060/070/080/090 + a fourth digit 1-9, 11 digits, is eligible (ok)."""
    assert _as_tuple(classify(raw)) == (reason, national, repaired)


@pytest.mark.parametrize(("raw", "reason", "national", "repaired"), R2_CASES)
def test_r2_normalisation(raw, reason, national, repaired):
    """R2: separators, full-width forms, +81/81, Excel leftovers, repair, sci-notation."""
    assert _as_tuple(classify(raw)) == (reason, national, repaired)


@pytest.mark.parametrize(("raw", "reason", "national", "repaired"), R3_CASES)
def test_r3_reason_codes(raw, reason, national, repaired):
    """R3: missing, ip_phone, landline and invalid, one reason per value."""
    assert _as_tuple(classify(raw)) == (reason, national, repaired)


def test_r1_r2_r3_table_vectorised():
    """R1-R3: classify_array gives every table row the same verdict as the table."""
    values = [raw for raw, *_ in ALL_CASES]
    result = classify_array(pa.array(values, pa.string()))
    assert _array_tuples(result) == [tuple(expected) for _, *expected in ALL_CASES]
    _check_same(values, pa.array(values, pa.string()))


@pytest.mark.parametrize(
    "sep",
    list("-－ーｰ‐‑‒–—―− 　()（）.．"),
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_r2_every_separator(sep):
    """R2: each separator is accepted anywhere, alone or repeated, scalar and vectorised."""
    values = [
        f"090{sep}1234{sep}5678",
        f"{sep}09012345678",
        f"09012345678{sep}",
        f"0{sep}{sep}9012345678",
        f"+81{sep}90{sep}1234{sep}5678",
        f"'090{sep}1234{sep}5678",
        f"03{sep}1234{sep}5678",
    ]
    verdicts = [classify(v) for v in values]
    assert [v.reason for v in verdicts] == ["ok"] * 6 + ["landline"]
    _check_same(values, pa.array(values))


@pytest.mark.parametrize("digit", range(10))
def test_r2_every_fullwidth_digit(digit):
    """R2: each full-width digit maps to its ASCII digit."""
    fw = chr(0xFF10 + digit)
    value = f"090-1234-567{fw}"
    assert classify(value) == PhoneVerdict("ok", f"0901234567{digit}", False)
    _check_same([value], pa.array([value]))


def test_r2_accepted_characters_are_exactly_the_listed_ones():
    """R2: the whitelist is digits, full-width digits, plus signs and the separators."""
    listed = set("0123456789０１２３４５６７８９+＋-－ーｰ‐‑‒–—―− 　()（）.．")
    assert set(phones._CHAR_MAP) == listed
    # The vectorised mapping works on UTF-8 bytes and relies on this.
    assert all(len(c.encode()) in (1, 3) for c in listed)


# --- verdict objects ----------------------------------------------------------------------


def test_r3_reason_codes_are_stable_ids():
    """R3: codes are stable English ids; int8 codes index REASON_CODES."""
    assert REASON_CODES == ("ok", "missing", "ip_phone", "landline", "invalid")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("090-1234-5678", "+819012345678"),
        ("+81 (0)90 1234 5678", "+819012345678"),
        ("9012345678", "+819012345678"),
        ("03-1234-5678", "+81312345678"),
        ("050-1234-5678", "+815012345678"),
        ("090-0123-4567", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_r2_e164(raw, e164):
    """R2: the E.164 form is +81 and the national digits without the trunk 0."""
    assert classify(raw).e164 == e164
    assert classify_array(pa.array([raw], pa.string())).e164().to_pylist() == [e164]


def test_r3_verdict_is_frozen():
    """R3: a verdict is a value; it cannot be changed after the fact."""
    verdict = classify(MOBILE)
    with pytest.raises(AttributeError):
        verdict.reason = "invalid"  # type: ignore[misc]


def test_classify_rejects_non_strings():
    """classify takes text; a number read as int has already lost R2's clues."""
    with pytest.raises(TypeError):
        classify(9012345678)  # type: ignore[arg-type]


# --- array plumbing ----------------------------------------------------------------------


def test_r3_array_nulls_and_empty_are_missing():
    """R3: nulls count as empty values (missing)."""
    result = classify_array(pa.array([None, "", MOBILE, None], pa.string()))
    assert [REASON_CODES[c] for c in result.reason] == ["missing", "missing", "ok", "missing"]
    assert result.national.to_pylist() == ["", "", MOBILE, ""]
    assert result.e164().to_pylist() == ["", "", "+819012345678", ""]


@pytest.mark.parametrize(
    "array",
    [
        pa.array([], pa.string()),
        pa.chunked_array([], pa.string()),
        pa.chunked_array([pa.array([], pa.string())]),
    ],
    ids=["array", "no-chunks", "empty-chunk"],
)
def test_r3_array_empty(array):
    """R3: an empty column gives empty results of the right types."""
    result = classify_array(array)
    assert len(result.reason) == len(result.repaired) == len(result.national) == 0
    assert result.reason.dtype == np.int8
    assert result.national.type == pa.string()
    assert len(result.e164()) == 0


def test_r3_array_string_like_types():
    """R3: large_string, string_view, dictionary and all-null columns are accepted."""
    values = ["090-1234-5678", None, "０５０１２３４５６７８", "'9012345678", "abc"]
    base = pa.array(values, pa.string())
    for array in (
        base.cast(pa.large_string()),
        base.cast(pa.string_view()),
        base.dictionary_encode(),
        pa.chunked_array([base.slice(0, 2), base.slice(2)]).cast(pa.large_string()),
    ):
        _check_same(values, array)
    nulls = classify_array(pa.nulls(3))
    assert nulls.reason.tolist() == [REASON_CODES.index("missing")] * 3
    assert nulls.national.to_pylist() == ["", "", ""]


def test_classify_array_rejects_non_strings():
    """Integer columns are refused: the leading zero and every R2 clue are gone."""
    with pytest.raises(TypeError):
        classify_array(pa.array([9012345678]))
    with pytest.raises(TypeError):
        classify_array([MOBILE])  # type: ignore[arg-type]


def test_r2_array_sliced_input():
    """R2: a slice of a larger array (non-zero offset) is judged by its own rows."""
    values = [raw for raw, *_ in ALL_CASES]
    array = pa.array(values, pa.string())
    for start, stop in [(1, len(values)), (7, 40), (len(values) - 3, len(values))]:
        _check_same(values[start:stop], array.slice(start, stop - start))


def test_sms_core_does_not_import_phonenumbers():
    """phonenumbers is a test oracle only; the product must not depend on it."""
    for module in (phones, phone_verdict):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "phonenumbers" not in imported, module.__name__


# --- properties: classify_array == classify --------------------------------------------

DIGITS = "0123456789"
FW_DIGITS = "０１２３４５６７８９"
SEPARATORS = "-－ーｰ‐‑‒–—―− 　()（）.．"
# Characters that must never count: NFKC digits, letters, sci-notation, other spaces.
TRAPS = "①⑧⑴¹²𝟗٣०Ee,/_\t\n\u00a0※aZ﹣'\"=+＋"
PREFIXES = ["090", "080", "070", "060", "050", "020", "0800", "0120", "0570", "03", "011", "00"]


@st.composite
def realistic_phone(draw: st.DrawFn) -> str:
    """A national number in one of R2's many spellings, sometimes slightly wrong."""
    prefix = draw(st.sampled_from(PREFIXES))
    size = draw(st.sampled_from([10, 11, 11, 11, 9, 12]))
    rest = draw(st.text(alphabet=DIGITS, min_size=size - len(prefix), max_size=size - len(prefix)))
    digits = prefix + rest
    form = draw(st.sampled_from(["national", "dropped0", "+81", "+81(0)", "81"]))
    if form == "dropped0":
        digits = digits[1:]
    elif form == "+81":
        digits = "+81" + digits[1:]
    elif form == "+81(0)":
        digits = "+81(0)" + digits[1:]
    elif form == "81":
        digits = "81" + digits[1:]
    chars = []
    for ch in digits:
        if ch in DIGITS and draw(st.integers(0, 9)) == 0:
            ch = FW_DIGITS[int(ch)]
        chars.append(ch)
        if draw(st.integers(0, 5)) == 0:
            chars.append(draw(st.sampled_from(SEPARATORS + TRAPS[:3])))
    body = "".join(chars)
    wrap = draw(st.sampled_from(["", "", "", "'", '="', " ", "\u3000", "\t"]))
    body = f'="{body}"' if wrap == '="' else wrap + body
    return body + draw(st.sampled_from(["", "", "", " ", "\u3000", '"', "E+09"]))


phone_values = st.one_of(
    realistic_phone(),
    st.text(alphabet=DIGITS + FW_DIGITS + SEPARATORS + TRAPS, max_size=18),
    st.text(alphabet=DIGITS + "-", max_size=15),
    st.text(max_size=6),
    st.none(),
)


@st.composite
def arrow_layouts(draw: st.DrawFn) -> tuple[list[str | None], pa.Array | pa.ChunkedArray]:
    """Values and an Arrow column holding them: plain, sliced or chunked."""
    values = draw(st.lists(phone_values, max_size=40))
    layout = draw(st.sampled_from(["array", "sliced", "chunked"]))
    if layout == "array":
        return values, pa.array(values, pa.string())
    if layout == "sliced":
        before = draw(st.lists(phone_values, max_size=3))
        after = draw(st.lists(phone_values, max_size=3))
        whole = pa.array(before + values + after, pa.string())
        return values, whole.slice(len(before), len(values))
    cuts = sorted(draw(st.lists(st.integers(0, len(values)), max_size=4)))
    bounds = [0, *cuts, len(values)]
    chunks = [pa.array(values[a:b], pa.string()) for a, b in pairwise(bounds)]
    return values, pa.chunked_array(chunks, pa.string())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrow_layouts())
def test_r1_r2_r3_classify_array_matches_classify(case):
    """R1-R3: the vectorised path gives exactly the scalar verdict on messy columns."""
    values, array = case
    _check_same(values, array)


@settings(max_examples=500, deadline=None)
@given(phone_values)
def test_r3_verdict_invariants(value):
    """R3: one reason per value; national exactly when well-formed; it judges the same."""
    verdict = classify(value)
    assert verdict.reason in REASON_CODES
    well_formed = verdict.reason in ("ok", "ip_phone", "landline")
    assert bool(verdict.national) == well_formed
    assert not verdict.repaired or well_formed
    if well_formed:
        assert verdict.national.isascii() and verdict.national.isdigit()
        assert classify(verdict.national) == PhoneVerdict(verdict.reason, verdict.national, False)
        assert _as_tuple(classify(verdict.e164))[:2] == (verdict.reason, verdict.national)


def _random_values(n: int, seed: int) -> list[str | None]:
    """n messy values without hypothesis: realistic spellings, junk and nulls."""
    rng = random.Random(seed)
    junk_alphabet = DIGITS * 4 + FW_DIGITS + SEPARATORS + TRAPS
    out: list[str | None] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.3:
            out.append(f"0{rng.choice('6789')}0{rng.randrange(10**8):08d}")
        elif roll < 0.5:
            d = f"{rng.randrange(10**8):08d}"
            out.append(f"0{rng.choice('6789')}0-{d[:4]}-{d[4:]}")
        elif roll < 0.8:
            prefix = rng.choice(PREFIXES)
            digits = prefix + "".join(rng.choices(DIGITS, k=rng.choice([9, 10, 11]) - len(prefix)))
            form = rng.choice(["", "", "+81 ", "81", "'", '="', "+81 (0)", "drop", "+1 "])
            if form == "drop":
                digits = digits[1:]
            elif form in ("+81 ", "81", "+81 (0)"):
                digits = form + digits[1:]
            elif form == '="':
                digits = f'="{digits}"'
            elif form:
                digits = form + digits
            seps = [rng.choice(SEPARATORS) if rng.random() < 0.15 else "" for _ in digits]
            mixed = "".join(
                (FW_DIGITS[int(c)] if c in DIGITS and rng.random() < 0.1 else c) + s
                for c, s in zip(digits, seps, strict=True)
            )
            out.append(rng.choice(["", " ", "\u3000"]) + mixed)
        elif roll < 0.95:
            out.append("".join(rng.choices(junk_alphabet, k=rng.randrange(0, 17))))
        else:
            out.append(rng.choice([None, "", " ", "'", '=""']))
    return out


@pytest.mark.slow
def test_r1_r2_r3_large_array_matches_classify():
    """R1-R3: on 250,000 generated values in one go, vectorised == scalar, row for row."""
    values = _random_values(250_000, seed=20240601)
    verdicts = [classify(v) for v in values]  # once per value: the scalar path is the cost
    expected_reason = np.array([REASON_CODES.index(v.reason) for v in verdicts], dtype=np.int8)
    expected_national = [v.national for v in verdicts]
    expected_repaired = np.array([v.repaired for v in verdicts])
    # Every reason and the repair must be exercised, or the comparison proves little.
    assert set(expected_reason.tolist()) == set(range(len(REASON_CODES)))
    assert expected_repaired.sum() > 100

    array = pa.array(values, pa.string())
    chunked = pa.chunked_array([array.slice(i, 36_000) for i in range(0, len(values), 36_000)])
    for column in (array, chunked):
        result = classify_array(column)
        mismatch = np.flatnonzero(result.reason != expected_reason)
        assert not len(mismatch), [values[i] for i in mismatch[:10]]
        assert result.national.to_pylist() == expected_national
        assert np.array_equal(result.repaired, expected_repaired)


# --- oracle: phonenumbers ---------------------------------------------------------------


def _pn_mobile(national: str) -> bool:
    try:
        number = phonenumbers.parse(national, "JP")
    except phonenumbers.NumberParseException:  # e.g. 00…, read as an international prefix
        return False
    return (
        phonenumbers.is_valid_number(number)
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    )


def _spellings(national: str) -> list[str]:
    """R2 spellings of one national number (10 or 11 digits, leading 0)."""
    if len(national) == 11:
        dashed = f"{national[:3]}-{national[3:7]}-{national[7:]}"
    else:
        dashed = f"{national[:2]}-{national[2:6]}-{national[6:]}"
    return [
        national,
        dashed,
        dashed.translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
        dashed.replace("-", "ー"),
        f"+81 {national[1:3]} {national[3:7]} {national[7:]}",
        f"+81 (0){national[1:]}",
        f"'{national}",
        f'="{dashed}"',
    ]


def _oracle_numbers(seed: int) -> list[str]:
    rng = random.Random(seed)
    numbers = []
    for prefix in ("060", "070", "080", "090", "050", "020"):
        for _ in range(600):
            numbers.append(prefix + "".join(rng.choices(DIGITS, k=8)))
    for _ in range(1500):
        numbers.append("0" + "".join(rng.choices(DIGITS, k=9)))
    return numbers


def test_r1_ok_means_mobile_for_phonenumbers():
    """R1 vs the phonenumbers oracle: ok exactly when libphonenumber calls it MOBILE.

    libphonenumber's JP mobile pattern is [6-9]0[1-9]… (national significant number),
    the same as R1 including the 060 blocks and the 0X0-0 exclusion, so the test can
    be exact both ways. (080-0 is TOLL_FREE there and landline here.)
    """
    checked = 0
    for national in _oracle_numbers(seed=7):
        mobile = _pn_mobile(national)
        for spelling in _spellings(national):
            verdict = classify(spelling)
            assert (verdict.reason == "ok") == mobile, (spelling, verdict)
            if mobile:
                assert verdict.national == national
                checked += 1
    assert checked > 1000


def test_r1_mobile_blocks_agree_with_phonenumbers():
    """R1: every 060/070/080/090 number with fourth digit 1-9 is mobile for both."""
    rng = random.Random(11)
    for prefix in ("060", "070", "080", "090"):
        for fourth in "123456789":
            for _ in range(40):
                national = prefix + fourth + "".join(rng.choices(DIGITS, k=7))
                assert _pn_mobile(national), national
                assert classify(national).reason == "ok"
                assert classify(national[1:]) == PhoneVerdict("ok", national, True)


def test_r1_oracle_on_array_path():
    """R1: the same oracle check through classify_array, on all spellings at once."""
    numbers = _oracle_numbers(seed=8)
    values = [s for n in numbers for s in _spellings(n)]
    result = classify_array(pa.array(values))
    per_number = result.reason.reshape(len(numbers), -1)
    expected_ok = np.array([_pn_mobile(n) for n in numbers])
    ok = REASON_CODES.index("ok")
    assert np.array_equal(per_number == ok, np.repeat(expected_ok[:, None], 8, axis=1))


def test_r3_050_and_020_are_never_mobile_for_phonenumbers():
    """R3: what we exclude as ip_phone/landline, libphonenumber does not call MOBILE.

    One documented difference: libphonenumber treats 050-0… as not valid at all, while
    R3 classes every 050 + 8 digits as ip_phone; both exclude it, so eligibility agrees.
    """
    rng = random.Random(5)
    for prefix in ("050", "020", "0800"):
        for _ in range(300):
            national = prefix + "".join(rng.choices(DIGITS, k=11 - len(prefix)))
            verdict = classify(national)
            assert verdict.reason in ("ip_phone", "landline")
            assert not _pn_mobile(national)
    assert classify("05001234567").reason == "ip_phone"
    assert not phonenumbers.is_valid_number(phonenumbers.parse("05001234567", "JP"))

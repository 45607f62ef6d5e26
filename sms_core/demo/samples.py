"""Synthetic candidate rosters, messy the way real ATS and Excel exports are (R1-R4, R21).

:func:`generate_roster` builds a roster as an Arrow table of text columns, with the
Japanese headers of an ATS export (:data:`JA_HEADERS`) or English ones
(:data:`EN_HEADERS`). Everything is vectorised with numpy and Arrow compute, so a
million rows take about two seconds; the same seed always gives the same table.

With ``messy=True`` about three rows in four hold a clean mobile number in the field
the candidate's kind uses (R4); the rest are spread over every messy form of R2 and every
shape that earns a reason code in R3 (see :data:`SHAPES`), and about 2% of the rows reuse
an earlier row's mobile number. New graduates sometimes hold a mobile number only in the
home or vacation phone (never used, R4); mid-career candidates sometimes hold it only in
電話番号2, behind a landline or an empty 電話番号1.

:func:`write_roster_csv` writes CP932, UTF-8 with BOM or UTF-8 (R21), quoting only
where CSV needs it, as Excel does; :func:`write_roster_xlsx` writes every cell as text.

Run ``python -m sms_core.demo.samples OUT.csv --rows N`` for a large roster on disk.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

JA_HEADERS = [
    "応募者ID",
    "氏名",
    "区分",
    "携帯電話番号",
    "現住所電話番号",
    "休暇中電話番号",
    "電話番号1",
    "電話番号2",
    "卒業年度",
    "LINE登録",
    "イベント予約",
    "説明会URL",
]
EN_HEADERS = [
    "candidate_id",
    "name",
    "kind",
    "mobile",
    "home_phone",
    "vacation_phone",
    "phone1",
    "phone2",
    "graduation_year",
    "line_registered",
    "event_booked",
    "event_url",
]


def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text``."""
    return tuple(text.split())


# Family names, most common first (weights fall with rank).
FAMILY_NAMES = _words(
    """
    佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木
    山口 松本 井上 木村 林 斎藤 清水 山崎 森 池田 橋本 阿部 石川 山下
    中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本
    斉藤 福田 太田 西村 藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田
    竹内 小野 田村 中山 和田 石田 森田 上田 原 内田 柴田 酒井 宮崎 横山
    高木 安藤 宮本 大野 小島 工藤 谷口 今井 高田 増田 丸山 杉山 村田
    大塚 小山 平野 藤本 河野 上野 野口 武田 松井 千葉 岩崎 菅原 木下
    久保 佐野 野村 松尾 吉川 吉村 浜田
    """
)
# Variant forms a real roster holds, given to 5% of the rows: 髙 (hashigo-daka),
# 﨑 (tatsu-saki), 濵, 邊/邉, 齋/齊, 德 (all in CP932), and 𠮷 (tsuchi-yoshi, U+20BB7:
# outside the BMP, so two UTF-16 code units, and not representable in CP932).
VARIANT_FAMILY_NAMES = _words(
    """
    髙橋 髙田 山﨑 宮﨑 岩﨑 𠮷田 𠮷川 𠮷野 濵田 渡邊 渡邉 齋藤 齊藤
    德永
    """
)
GIVEN_NAMES = _words(
    """
    翔太 大輝 蓮 悠真 陽翔 湊 颯太 大翔 悠人 健太 拓海 翔 陸 樹 海斗
    駿 亮 直樹 和也 達也 大樹 雄大 優斗 一輝 涼 匠 航 隼人 誠 浩二
    健一 洋平 聡 雅人 康介 智也 圭佑 祐介 慎也 奏太 陽菜 結衣 美咲 葵
    さくら 凛 結菜 芽依 莉子 彩花 美月 花子 七海 愛 真由 優花 千尋 遥
    楓 杏 明日香 麻衣 沙織 由佳 恵 舞 綾 瞳 彩 理沙 菜々子 美穂 香織
    裕子 智子 直美 陽子 奈央 紗希 愛美 ひなた あかり ゆい みなみ こはる
    はるか まゆ えり ゆうき かおり ユウキ ケン マリア エミリ アンナ ジュン
    リサ サラ レイ ナオ
    """
)
# Characters a CP932 file cannot hold, and what an Excel user would type instead.
CP932_SUBSTITUTES = {"𠮷": "吉"}

ENCODINGS = ("utf-8-sig", "utf-8", "cp932")
EVENT_URL_BASE = "https://recruit.example.co.jp/events/"

CLEAN, NORMALISABLE, REASON = "clean", "normalisable", "reason"
_MOBILE_PREFIXES = np.array([60, 70, 80, 90], dtype=np.int64)
_MOBILE_PREFIX_P = [0.01, 0.14, 0.35, 0.50]
_AREA_CODES = pa.array(["045", "052", "011", "092", "075", "078", "022", "048"])
_FULLWIDTH = {str(i): chr(0xFF10 + i) for i in range(10)} | {"-": "－"}
_MISSING_SHARE = 0.015  # empty 携帯電話番号 / 電話番号1
_MESSY_SHARE = 0.0066  # each other messy shape: 1.98, so 2, rows of a 300-row sample
_DUPLICATE_SHARE = 0.02
_EMPTY_NAME_SHARE = 0.005
_VARIANT_SHARE = 0.05  # rows with a family name from VARIANT_FAMILY_NAMES
_MID_CAREER_SHIFT_SHARE = 0.2  # mid-career rows whose mobile sits in 電話番号2

Render = Callable[[np.random.Generator, pa.Array], pa.Array]


@dataclass(frozen=True)
class Shape:
    """One way a phone value is written.

    ``category`` is ``clean`` (eligible as written), ``normalisable`` (a mobile number in
    an R2 messy form: eligible once normalised) or ``reason`` (excluded with an R3 reason:
    missing, ip_phone, landline or invalid). ``example`` shows the form.
    """

    name: str
    category: str
    weight: float
    example: str
    render: Render


# --------------------------------------------------------------------------- helpers


def _s(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate arrays and literal strings element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def _slice(arr: pa.Array, start: int, stop: int) -> pa.Array:
    return pc.utf8_slice_codeunits(arr, start, stop)


def _parts(mobile: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Split 11-digit numbers into the 3-4-4 groups of a written mobile number."""
    return _slice(mobile, 0, 3), _slice(mobile, 3, 7), _slice(mobile, 7, 11)


def _digits(rng: np.random.Generator, m: int, width: int, first_min: int = 0) -> pa.Array:
    """``m`` random digit strings of ``width`` digits, the first at least ``first_min``."""
    rest = 10 ** (width - 1)
    values = rng.integers(first_min, 10, size=m, dtype=np.int64) * rest
    values += rng.integers(0, rest, size=m, dtype=np.int64)
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")


def _either(rng: np.random.Generator, p_first: float, first: pa.Array, second: pa.Array):
    """Per row, ``first`` with probability ``p_first``, else ``second``."""
    return pc.if_else(pa.array(rng.random(len(first)) < p_first), first, second)


def _pick(rng: np.random.Generator, options: Sequence[pa.Array]) -> pa.Array:
    """Per row, one of the equally likely ``options`` (arrays of the same length)."""
    choice = rng.integers(0, len(options), size=len(options[0]))
    out = options[0]
    for k in range(1, len(options)):
        out = pc.if_else(pa.array(choice == k), options[k], out)
    return out


def _fullwidth(arr: pa.Array) -> pa.Array:
    for half, full in _FULLWIDTH.items():
        arr = pc.replace_substring(arr, half, full)
    return arr


def _repeat(value: str, m: int) -> pa.Array:
    return pa.repeat(_s(value), m)


def _hyphenated(mobile: pa.Array, sep: str = "-") -> pa.Array:
    a, b, c = _parts(mobile)
    return _join(a, sep, b, sep, c)


def _fixed(prefix: str, groups: Sequence[tuple[int, int]]) -> Render:
    """A number ``prefix-g1-g2``; ``groups`` holds (width, smallest first digit) pairs."""

    def render(rng: np.random.Generator, mobile: pa.Array) -> pa.Array:
        m = len(mobile)
        parts = [_digits(rng, m, width, lo) for width, lo in groups]
        plain = _join(_repeat(prefix, m), *parts)
        hyphen = _join(_repeat(prefix, m), *[p for part in parts for p in ("-", part)])
        return _either(rng, 0.7, hyphen, plain)

    return render


def _landline_area(rng: np.random.Generator, mobile: pa.Array) -> pa.Array:
    m = len(mobile)
    area = _AREA_CODES.take(pa.array(rng.integers(0, len(_AREA_CODES), size=m)))
    b, c = _digits(rng, m, 3, 2), _digits(rng, m, 4)
    return _either(rng, 0.7, _join(area, "-", b, "-", c), _join(area, b, c))


def _mobile_0x0_0(rng: np.random.Generator, mobile: pa.Array) -> pa.Array:
    m = len(mobile)
    a = _slice(mobile, 0, 3)
    b, c = _join("0", _digits(rng, m, 3)), _digits(rng, m, 4)
    return _either(rng, 0.7, _join(a, "-", b, "-", c), _join(a, b, c))


def _letters(rng: np.random.Generator, mobile: pa.Array) -> pa.Array:
    a, b, c = _parts(mobile)
    return _pick(
        rng,
        [
            _join(a, "-abcd-", c),  # a placeholder typed by hand
            _join("O", _slice(a, 1, 2), "O-", b, "-", c),  # letter O for zero
            _join(a, "-", b, "-", _slice(c, 0, 3), "l"),  # letter l for one
        ],
    )


def _scientific(mobile: pa.Array) -> pa.Array:
    """What Excel shows (and saves to CSV) for 9012345678 in General format: 9.01235E+09."""
    values = pc.cast(mobile, pa.int64()).to_numpy()
    mantissa = pc.cast(pa.array((values + 5_000) // 10_000), pa.string())  # 6 digits
    head = _slice(mantissa, 0, 1)
    tail = pc.utf8_rtrim(_slice(mantissa, 1, 6), characters="0")
    shown = pc.if_else(pc.equal(tail, ""), head, _join(head, ".", tail))
    return _join(shown, "E+09")


def _blank(rng: np.random.Generator, mobile: pa.Array) -> pa.Array:
    m = len(mobile)
    return _either(rng, 0.5, _repeat(" ", m), _repeat("\u3000", m))


def _shape(name: str, category: str, example: str, render: Render, weight: float = 0.0):
    return Shape(name, category, weight or _MESSY_SHARE, example, render)


def _mobile_render(fn: Callable[[pa.Array], pa.Array]) -> Render:
    return lambda rng, mobile: fn(mobile)


def _r(fn: Callable[..., pa.Array]) -> Render:
    """Render a mobile number from its 3-4-4 groups (``a``, ``b``, ``c``) and ``d`` (10)."""

    def render(rng: np.random.Generator, mobile: pa.Array) -> pa.Array:
        a, b, c = _parts(mobile)
        return fn(a=a, b=b, c=c, d=_slice(mobile, 1, 11), s=mobile)

    return render


SHAPES: tuple[Shape, ...] = (
    # Clean and eligible as written; the shares leave room for the messy shapes below.
    _shape("clean_plain", CLEAN, "09012345678", _mobile_render(lambda s: s), 0.45),
    _shape("clean_hyphen", CLEAN, "090-1234-5678", _mobile_render(_hyphenated), 0.3),
    # R2: a mobile number in a messy form, eligible once normalised.
    _shape(
        "fullwidth_hyphen",
        NORMALISABLE,
        "０９０－１２３４－５６７８",
        _mobile_render(lambda s: _fullwidth(_hyphenated(s))),
    ),
    _shape("fullwidth_plain", NORMALISABLE, "０９０１２３４５６７８", _mobile_render(_fullwidth)),
    _shape(
        "fullwidth_hyphen_only",
        NORMALISABLE,
        "090－1234－5678",
        _mobile_render(lambda s: _hyphenated(s, "－")),
    ),
    _shape(
        "long_mark", NORMALISABLE, "090ー1234ー5678", _mobile_render(lambda s: _hyphenated(s, "ー"))
    ),
    _shape("spaces", NORMALISABLE, "090 1234 5678", _mobile_render(lambda s: _hyphenated(s, " "))),
    _shape(
        "ideographic_space",
        NORMALISABLE,
        "090\u30001234\u30005678",
        _mobile_render(lambda s: _hyphenated(s, "\u3000")),
    ),
    _shape(
        "brackets",
        NORMALISABLE,
        "(090) 1234 5678",
        _r(lambda a, b, c, **_: _join("(", a, ") ", b, " ", c)),
    ),
    _shape(
        "brackets_mid",
        NORMALISABLE,
        "090(1234)5678",
        _r(lambda a, b, c, **_: _join(a, "(", b, ")", c)),
    ),
    _shape(
        "fullwidth_brackets",
        NORMALISABLE,
        "（090）1234-5678",
        _r(lambda a, b, c, **_: _join("（", a, "）", b, "-", c)),
    ),
    _shape("dots", NORMALISABLE, "090.1234.5678", _mobile_render(lambda s: _hyphenated(s, "."))),
    _shape(
        "plus81_hyphen",
        NORMALISABLE,
        "+81 90-1234-5678",
        _r(lambda a, b, c, **_: _join("+81 ", _slice(a, 1, 3), "-", b, "-", c)),
    ),
    _shape("plus81_plain", NORMALISABLE, "+819012345678", _r(lambda d, **_: _join("+81", d))),
    _shape(
        "plus81_zero",
        NORMALISABLE,
        "+81 (0)90 1234 5678",
        _r(lambda a, b, c, **_: _join("+81 (0)", _slice(a, 1, 3), " ", b, " ", c)),
    ),
    _shape("intl_81", NORMALISABLE, "819012345678", _r(lambda d, **_: _join("81", d))),
    _shape("excel_apostrophe", NORMALISABLE, "'09012345678", _r(lambda s, **_: _join("'", s))),
    _shape("excel_formula", NORMALISABLE, '="09012345678"', _r(lambda s, **_: _join('="', s, '"'))),
    _shape("dropped_zero", NORMALISABLE, "9012345678", _r(lambda d, **_: d)),
    _shape(
        "padded",
        NORMALISABLE,
        " 090-1234-5678  ",
        _r(lambda s, **_: _join(" ", _hyphenated(s), "  ")),
    ),
    # R3: shapes that are excluded, each with one reason.
    _shape("missing_empty", REASON, "", lambda rng, s: _repeat("", len(s)), _MISSING_SHARE),
    _shape("missing_blank", REASON, " ", _blank),
    _shape("ip_phone", REASON, "050-1234-5678", _fixed("050", [(4, 1), (4, 0)])),
    _shape("m2m_020", REASON, "020-4123-4567", _fixed("020", [(4, 1), (4, 0)])),
    _shape("landline_03", REASON, "03-3123-4567", _fixed("03", [(4, 2), (4, 0)])),
    _shape("landline_06", REASON, "06-6123-4567", _fixed("06", [(4, 2), (4, 0)])),
    _shape("landline_area", REASON, "045-321-4567", _landline_area),
    _shape("freedial_0120", REASON, "0120-123-456", _fixed("0120", [(3, 0), (3, 0)])),
    _shape("navidial_0570", REASON, "0570-123-456", _fixed("0570", [(3, 0), (3, 0)])),
    _shape("freedial_0800", REASON, "0800-123-4567", _fixed("0800", [(3, 0), (4, 0)])),
    _shape("mobile_0x0_0", REASON, "090-0123-4567", _mobile_0x0_0),
    _shape("letters", REASON, "090-abcd-5678", _letters),
    _shape(
        "circled_digit", REASON, "①090-1234-5678", _r(lambda s, **_: _join("①", _hyphenated(s)))
    ),
    _shape("scientific", REASON, "9.01235E+09", _mobile_render(_scientific)),
    _shape(
        "too_short",
        REASON,
        "090-1234-567",
        _r(lambda a, b, c, **_: _join(a, "-", b, "-", _slice(c, 0, 3))),
    ),
    _shape(
        "too_long",
        REASON,
        "090-1234-56789",
        lambda rng, s: _join(_hyphenated(s), _digits(rng, len(s), 1)),
    ),
)
SHAPE_NAMES = tuple(shape.name for shape in SHAPES)
_CATEGORY = np.array([shape.category for shape in SHAPES])

# Values of the fields beside the one in use (home / vacation phone, the other of
# 電話番号1/2): codes for _companion().
_EMPTY, _LANDLINE, _IP, _BAD, _MOBILE = range(5)


def _stratified(
    rng: np.random.Generator, m: int, weights: Sequence[float] | np.ndarray
) -> np.ndarray:
    """``m`` category codes in exactly the proportions of ``weights`` (rounded), shuffled.

    Exact counts keep small samples honest: a share of 0.5% or more (1.5 rows in 300,
    rounded up) puts every messy shape in a 300-row sample at least twice.
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    counts = np.floor(w * m + 0.5).astype(np.int64)
    while counts.sum() > m:
        counts[np.argmax(counts)] -= 1
    counts[np.argmax(w)] += m - counts.sum()
    return rng.permutation(np.repeat(np.arange(len(w)), counts))


def _unique_mobiles(rng: np.random.Generator, m: int) -> np.ndarray:
    """``m`` distinct mobile numbers as integers without the leading 0 (9012345678)."""

    def draw(k: int) -> np.ndarray:
        prefix = _MOBILE_PREFIXES[rng.choice(len(_MOBILE_PREFIXES), size=k, p=_MOBILE_PREFIX_P)]
        fourth = rng.integers(1, 10, size=k, dtype=np.int64)
        return prefix * 10**8 + fourth * 10**7 + rng.integers(0, 10**7, size=k, dtype=np.int64)

    values = draw(m)
    while m > 1:
        order = np.argsort(values)
        ordered = values[order]
        again = order[1:][ordered[1:] == ordered[:-1]]  # all but one of each repeated value
        if len(again) == 0:
            break
        values[again] = draw(len(again))
    return values


def _mobile_strings(values: np.ndarray) -> pa.Array:
    return _join("0", pc.cast(pa.array(values), pa.string()))


def _assemble(codes: np.ndarray, build: Callable[[int, np.ndarray], pa.Array]) -> pa.Array:
    """One value per row: rows of code ``k`` come from ``build(k, their row indices)``."""
    n = len(codes)
    if n == 0:
        return pa.array([], pa.string())
    order = np.argsort(codes.astype(np.int16), kind="stable")  # a radix sort
    counts = np.bincount(codes)
    chunks, start = [], 0
    for code, count in enumerate(counts):
        if count:
            rows = order[start : start + count]
            chunks.append(build(code, rows).cast(pa.string()))
            start += count
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n, dtype=np.int64)
    return pa.concat_arrays(chunks).take(pa.array(inverse))


def _companion(rng: np.random.Generator, codes: np.ndarray, second_mobile: pa.Array) -> pa.Array:
    """Render companion codes (_EMPTY, _LANDLINE, ...) using each row's second mobile."""
    landlines = [
        SHAPES[SHAPE_NAMES.index(name)].render
        for name in ("landline_03", "landline_06", "landline_area")
    ]
    ip = SHAPES[SHAPE_NAMES.index("ip_phone")].render

    def build(code: int, rows: np.ndarray) -> pa.Array:
        mobile = second_mobile.take(pa.array(rows))
        if code == _EMPTY:
            return _repeat("", len(rows))
        if code == _LANDLINE:
            return _pick(rng, [render(rng, mobile) for render in landlines])
        if code == _IP:
            return ip(rng, mobile)
        if code == _BAD:
            return _mobile_0x0_0(rng, mobile)
        return _either(rng, 0.5, mobile, _hyphenated(mobile))

    return _assemble(codes, build)


def _assign(
    rng: np.random.Generator,
    out: np.ndarray,
    mask: np.ndarray,
    table: Sequence[tuple[int, float]],
) -> None:
    """Give the rows of ``mask`` companion codes in the proportions of ``table``."""
    rows = np.flatnonzero(mask)
    codes = np.array([code for code, _ in table])
    out[rows] = codes[_stratified(rng, len(rows), [w for _, w in table])]


# --------------------------------------------------------------------------- generator


def generate_roster(
    n: int,
    *,
    seed: int = 0,
    messy: bool = True,
    headers: str = "ja",
    new_grad_share: float = 0.6,
) -> pa.Table:
    """Build a synthetic candidate roster of ``n`` rows, every column ``pa.string()``.

    ``headers`` is ``"ja"`` (:data:`JA_HEADERS`, kinds 新卒/中途, flags 済/未) or ``"en"``
    (:data:`EN_HEADERS`, new_grad/mid_career, yes/no). ``new_grad_share`` is the share of
    新卒 rows (the rest are 中途); shares are exact up to rounding. With ``messy=False``
    every row holds one clean, distinct mobile number in the field its kind uses (R4) and
    the other phone fields are empty. Deterministic for a given ``seed``.
    """
    if n < 0:
        raise ValueError(f"n must be zero or more, not {n}")
    if headers not in ("ja", "en"):
        raise ValueError(f"headers must be 'ja' or 'en', not {headers!r}")
    if not 0.0 <= new_grad_share <= 1.0:
        raise ValueError(f"new_grad_share must be between 0 and 1, not {new_grad_share}")
    rng = np.random.default_rng(seed)

    new_grad = _stratified(rng, n, [new_grad_share, 1.0 - new_grad_share]) == 0
    if messy:
        shape = _stratified(rng, n, [s.weight for s in SHAPES])
    else:
        shape = np.where(rng.random(n) < 0.6, 0, 1)  # clean_plain / clean_hyphen
    category = _CATEGORY[shape]
    reason = category == REASON

    pool = _unique_mobiles(rng, 2 * n)
    primary, second = pool[:n], pool[n:]

    family = rng.choice(len(FAMILY_NAMES), size=n, p=_rank_weights(len(FAMILY_NAMES)))
    variant = np.flatnonzero(_stratified(rng, n, [1 - _VARIANT_SHARE, _VARIANT_SHARE]) == 1)
    family[variant] = len(FAMILY_NAMES) + _stratified(
        rng, len(variant), np.ones(len(VARIANT_FAMILY_NAMES))
    )
    given = rng.choice(len(GIVEN_NAMES), size=n, p=_rank_weights(len(GIVEN_NAMES)))
    separator = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])  # full-width space, space, none

    if messy:
        _add_duplicates(rng, np.flatnonzero(category == CLEAN), primary, (family, given, separator))

    mobile = _mobile_strings(primary)
    values = _assemble(shape, lambda k, rows: SHAPES[k].render(rng, mobile.take(pa.array(rows))))

    shift = np.zeros(n, dtype=bool)
    companion = np.full(n, _EMPTY)
    vacation = np.full(n, _EMPTY)
    if messy:
        mid_rows = np.flatnonzero(~new_grad)
        shift[mid_rows] = (
            _stratified(rng, len(mid_rows), [1 - _MID_CAREER_SHIFT_SHARE, _MID_CAREER_SHIFT_SHARE])
            == 1
        )
        mid, grad = ~new_grad & ~shift, new_grad
        # 中途 with the mobile in 電話番号2: 電話番号1 empty or not a mobile (R4 fallback).
        _assign(
            rng,
            companion,
            ~new_grad & shift,
            [(_EMPTY, 0.4), (_LANDLINE, 0.4), (_IP, 0.1), (_BAD, 0.1)],
        )
        # 中途 otherwise: 電話番号2 is a mobile only when 電話番号1 is not eligible.
        _assign(rng, companion, mid & ~reason, [(_EMPTY, 0.75), (_LANDLINE, 0.2), (_IP, 0.05)])
        _assign(rng, companion, mid & reason, [(_EMPTY, 0.55), (_LANDLINE, 0.15), (_MOBILE, 0.3)])
        # 新卒: home and vacation phones, never used (R4), sometimes holding the mobile.
        _assign(rng, companion, grad & ~reason, [(_EMPTY, 0.45), (_LANDLINE, 0.45), (_MOBILE, 0.1)])
        _assign(rng, companion, grad & reason, [(_EMPTY, 0.4), (_LANDLINE, 0.25), (_MOBILE, 0.35)])
        _assign(rng, vacation, grad & ~reason, [(_EMPTY, 0.85), (_MOBILE, 0.1), (_LANDLINE, 0.05)])
        _assign(rng, vacation, grad & reason, [(_EMPTY, 0.7), (_MOBILE, 0.25), (_LANDLINE, 0.05)])
    second_mobile = _mobile_strings(second)
    other = _companion(rng, companion, second_mobile)
    holiday = _companion(rng, vacation, second_mobile)

    grad_arr, shift_arr, empty = pa.array(new_grad), pa.array(shift), _s("")
    phones = [
        pc.if_else(grad_arr, values, empty),
        pc.if_else(grad_arr, other, empty),
        pc.if_else(grad_arr, holiday, empty),
        pc.if_else(grad_arr, empty, pc.if_else(shift_arr, other, values)),
        pc.if_else(grad_arr, empty, pc.if_else(shift_arr, values, other)),
    ]

    ids = _join("C", pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), 7, "0"))
    names = _join(
        pa.array(FAMILY_NAMES + VARIANT_FAMILY_NAMES).take(pa.array(family)),
        pa.array(["\u3000", " ", ""]).take(pa.array(separator)),
        pa.array(GIVEN_NAMES).take(pa.array(given)),
    )
    if messy:
        no_name = _stratified(rng, n, [1 - _EMPTY_NAME_SHARE, _EMPTY_NAME_SHARE]) == 1
        names = pc.if_else(pa.array(no_name), empty, names)

    english = headers == "en"
    kinds = pa.array(["new_grad", "mid_career"] if english else ["新卒", "中途"])
    yes, no = ("yes", "no") if english else ("済", "未")
    year = pa.array(["2026", "2027", "2028"]).take(
        pa.array(rng.choice(3, size=n, p=[0.2, 0.5, 0.3]))
    )
    line = pc.if_else(pa.array(rng.random(n) < 0.55), _s(yes), _s(no))
    booked = pc.if_else(pa.array(rng.random(n) < 0.3), _s(yes), _s(no))
    url = _join(
        EVENT_URL_BASE, pc.if_else(grad_arr, year, _s("career")), "/", ids, "?utm_source=sms"
    )

    columns = [
        ids,
        names,
        kinds.take(pa.array((~new_grad).astype(np.int8))),
        *phones,
        pc.if_else(grad_arr, year, empty),
        line,
        booked,
        url,
    ]
    names_out = EN_HEADERS if english else JA_HEADERS
    return pa.table([c.cast(pa.string()) for c in columns], names=names_out)


def _rank_weights(count: int) -> np.ndarray:
    """Zipf-like weights: the first names of a list are the most common."""
    w = 1.0 / (np.arange(count) + 8.0)
    return w / w.sum()


def _add_duplicates(
    rng: np.random.Generator,
    clean_rows: np.ndarray,
    primary: np.ndarray,
    name_parts: tuple[np.ndarray, ...],
) -> None:
    """Make about 2% of the rows reuse the mobile number of an earlier clean row (R3).

    Half of them are the same person again (a second application): the name is copied too.
    """
    n = len(primary)
    count = min(int(_DUPLICATE_SHARE * n + 0.5), max(len(clean_rows) - 1, 0))
    if count == 0:
        return
    positions = np.sort(rng.choice(np.arange(1, len(clean_rows)), size=count, replace=False))
    rows = clean_rows[positions]
    keep = np.ones(len(clean_rows), dtype=bool)
    keep[positions] = False
    sources = clean_rows[keep]  # never a duplicate itself, so chains cannot form
    earlier = np.searchsorted(sources, rows)  # sources before each row: at least 1
    source = sources[(rng.random(count) * earlier).astype(np.int64)]
    primary[rows] = primary[source]
    same_person = rng.random(count) < 0.5
    for part in name_parts:
        part[rows[same_person]] = part[source[same_person]]


# --------------------------------------------------------------------------- writers


def _cp932_safe(table: pa.Table) -> pa.Table:
    """Replace the characters CP932 cannot hold by the ones an Excel user would type."""
    columns = []
    for column in table.columns:
        for char, replacement in CP932_SUBSTITUTES.items():
            if pc.any(pc.match_substring(column, char)).as_py():
                column = pc.replace_substring(column, char, replacement)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _large_join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """:func:`_join` for ``large_string`` arrays (a CSV body may pass 2 GiB)."""
    scalars = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*scalars, pa.scalar(sep, pa.large_string()))


def _csv_field(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Quote a text column the way Excel does: only values holding , " or a line break."""
    column = pc.fill_null(column.cast(pa.large_string()), "")
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    needs = pc.match_substring(column, '"')
    for special in (",", "\n", "\r"):
        needs = pc.or_(needs, pc.match_substring(column, special))
    if not pc.any(needs).as_py():
        return column
    quoted = _large_join('"', pc.replace_substring(column, '"', '""'), '"')
    return pc.if_else(needs, quoted, column)


def _encode_cp932(column: pa.Array) -> pa.Array:
    """A ``large_string`` column as ``large_binary`` CP932 bytes.

    ASCII is the same in both; only the distinct non-ASCII values go through Python's
    codec, so a million rows of mostly ASCII phone numbers take well under a second.
    """
    if pc.all(pc.string_is_ascii(column)).as_py() is not False:
        return column.cast(pa.large_binary())
    encoded = pc.dictionary_encode(column)
    words = encoded.dictionary
    foreign = pc.invert(pc.string_is_ascii(words))
    replacements = []
    for word in words.filter(foreign).to_pylist():
        try:
            replacements.append(word.encode("cp932"))
        except UnicodeEncodeError as err:
            bad = err.object[err.start : err.end]
            raise ValueError(f"{bad!r} (in {word!r}) cannot be written in cp932") from err
    dictionary = pc.replace_with_mask(
        words.cast(pa.large_binary()), foreign, pa.array(replacements, pa.large_binary())
    )
    return dictionary.take(encoded.indices)


def _concatenated(lines: pa.Array) -> bytes:
    """The bytes of every value of a large text or binary array, one after another."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = lines.buffers()[2]
    if data is None:
        return b""
    return data.to_pybytes()[offsets[0] : offsets[-1]]


def write_roster_csv(
    table: pa.Table,
    path: str | Path,
    *,
    encoding: str = "utf-8-sig",
    line_terminator: str = "\r\n",
) -> None:
    """Write ``table`` as CSV in ``encoding``: ``utf-8-sig`` (BOM), ``utf-8`` or ``cp932``.

    Fields are quoted only where CSV needs it and lines end in CRLF, as Excel writes
    them. For CP932, characters it cannot hold are replaced first (𠮷 → 吉, see
    :data:`CP932_SUBSTITUTES`); any other unencodable character raises ``ValueError``.
    """
    encoding = encoding.lower()
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    if encoding == "cp932":
        table = _cp932_safe(table)
    header = ",".join(_csv_field(pa.array(table.column_names)).to_pylist()) + line_terminator
    try:
        head = header.encode(encoding)  # with the BOM for utf-8-sig
    except UnicodeEncodeError as err:
        bad = err.object[err.start : err.end]
        raise ValueError(f"{bad!r} cannot be written in {encoding}") from err
    fields = [_csv_field(column) for column in table.columns] if table.num_rows else []
    kind = pa.large_string()
    if encoding == "cp932":
        fields = [_encode_cp932(field) for field in fields]
        kind = pa.large_binary()
    terminator = pa.scalar(line_terminator.encode("ascii"), pa.large_binary()).cast(kind)
    comma, empty = pa.scalar(b",", pa.large_binary()).cast(kind), pa.scalar(b"", kind)
    body = b""
    if fields:
        lines = pc.binary_join_element_wise(
            pc.binary_join_element_wise(*fields, comma), terminator, empty
        )
        body = _concatenated(lines)
    data = head + body
    Path(path).write_bytes(data)


def write_roster_xlsx(table: pa.Table, path: str | Path, *, sheet: str = "応募者一覧") -> None:
    """Write ``table`` as an .xlsx workbook with every cell stored as text.

    Cells use the text number format ``@`` and the string type, so leading zeros survive
    and ``="0901..."`` stays a string rather than becoming a formula. Empty values are
    left as empty cells.
    """
    from openpyxl import Workbook
    from openpyxl.cell import Cell, WriteOnlyCell

    if table.num_rows + 1 > 1_048_576:
        raise ValueError(f"{table.num_rows} rows do not fit in one Excel sheet")
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)

    def text_cell(value: str | None) -> Cell | None:
        if value is None or value == "":
            return None
        cell = WriteOnlyCell(worksheet, value=value)
        cell.data_type = "s"
        cell.number_format = "@"
        return cell

    worksheet.append([text_cell(name) for name in table.column_names])
    columns = [pc.fill_null(c.cast(pa.string()), "").to_pylist() for c in table.columns]
    for row in zip(*columns, strict=True):
        worksheet.append([text_cell(value) for value in row])
    workbook.save(path)


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Write a synthetic roster: ``python -m sms_core.demo.samples OUT.csv --rows N``."""
    parser = argparse.ArgumentParser(
        prog="python -m sms_core.demo.samples",
        description="Write a synthetic candidate roster (CSV, or .xlsx by the file name).",
    )
    parser.add_argument("out", type=Path, help="the file to write (.csv or .xlsx)")
    parser.add_argument("--rows", type=int, default=1000, help="number of candidates")
    parser.add_argument("--encoding", choices=ENCODINGS, default="utf-8-sig")
    parser.add_argument("--headers", choices=("ja", "en"), default="ja")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clean", action="store_true", help="only clean mobile numbers")
    parser.add_argument("--new-grad-share", type=float, default=0.6)
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be zero or more")

    started = time.perf_counter()
    table = generate_roster(
        args.rows,
        seed=args.seed,
        messy=not args.clean,
        headers=args.headers,
        new_grad_share=args.new_grad_share,
    )
    generated = time.perf_counter() - started
    if args.out.suffix.lower() == ".xlsx":
        write_roster_xlsx(table, args.out)
    else:
        write_roster_csv(table, args.out, encoding=args.encoding)
    total = time.perf_counter() - started
    print(
        f"wrote {table.num_rows:,} rows to {args.out} "
        f"(generated in {generated:.2f} s, {total:.2f} s in all)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Normalise and judge the phone numbers of a candidate roster (rules R1, R2, R3).

Each value gets exactly one reason code (R3) from :data:`REASON_CODES`:

``ok``
    a Japanese mobile number, 11 digits ``0[6789]0`` + a fourth digit 1-9 (R1);
``missing``
    no number at all (null, empty, only whitespace, an empty Excel wrapper);
``ip_phone``
    ``050`` + 8 digits;
``landline``
    any other well-formed domestic number: 10 digits ``0[1-9][1-9]…`` (geographic numbers
    and services such as 0120/0570/0180/0990), ``020`` + 8 digits (machine-to-machine) or
    ``0800`` + 7 digits;
``invalid``
    everything else.

Before judging, a value is normalised as R2 asks, in this order:

1. whitespace is trimmed at both ends (ASCII whitespace and the ideographic space U+3000);
2. one Excel leftover is removed — the ``="…"`` wrapper, or else a leading apostrophe —
   and the rest trimmed again; nothing left means ``missing``;
3. every character must be on a whitelist: ASCII/full-width digits, ``+``/``＋``, and the
   separators (hyphens and dash-like marks, ASCII/ideographic space, brackets, dots). Any
   other character makes the value ``invalid`` — notably the ones NFKC would turn into
   digits (①, ¹, 𝟗 …), and ``E``/``,`` so that Excel's scientific notation
   (``9.01234E+09``, whose digits are lost) is never guessed back;
4. separators are dropped and full-width digits mapped to ASCII, leaving ``\\+?[0-9]+``;
5. international forms become national: ``+81…`` (other country codes are ``invalid``)
   and 12 digits beginning ``81``, each as ``0`` + the digits after 81 with one trunk
   ``0`` after 81 dropped;
6. 10 digits beginning ``60``/``70``/``80``/``90`` lost their leading zero to Excel: it
   is put back and the verdict flagged ``repaired``.

:func:`classify` is the scalar reference, here without numpy or pyarrow so that the store
and the command line can judge one number without loading them;
:func:`sms_core.rules.phones.classify_array` gives the same answers for a whole Arrow
column without a per-row Python loop (the preview of a large roster).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["REASON_CODES", "PhoneVerdict", "classify"]

REASON_CODES: tuple[str, ...] = ("ok", "missing", "ip_phone", "landline", "invalid")
_OK, _MISSING, _IP_PHONE, _LANDLINE, _INVALID = range(len(REASON_CODES))

# --- the character rules, shared by the scalar and the vectorised path (phones) ------

# Only these are trimmed: str.strip() would also eat NBSP and friends, which Arrow's
# utf8_trim_whitespace and the rule treat differently.
_TRIM_CHARS = " \t\n\r\x0b\x0c\u3000"
_FULLWIDTH_DIGITS = "".join(chr(0xFF10 + i) for i in range(10))  # ０-９
_PLUS_SIGNS = "+\uff0b"  # + ＋
_DASHES = (
    "-"  # ASCII hyphen-minus
    "\uff0d"  # － full-width hyphen-minus
    "\u30fc"  # ー katakana long mark, typed for a dash on Japanese keyboards
    "\uff70"  # ｰ half-width long mark
    "\u2010\u2011\u2012\u2013\u2014\u2015"  # ‐ ‑ ‒ – — ―
    "\u2212"  # − minus sign
)
_SEPARATORS = _DASHES + " \u3000()\uff08\uff09.\uff0e"  # spaces, （）, ．

# Character -> what it contributes to the digit string ("" for a separator). Anything
# absent is rejected. This is a whitelist on purpose: NFKC would turn ① or 𝟗 into digits.
_CHAR_MAP: dict[str, str] = {str(i): str(i) for i in range(10)}
_CHAR_MAP.update({fw: str(i) for i, fw in enumerate(_FULLWIDTH_DIGITS)})
_CHAR_MAP.update(dict.fromkeys(_PLUS_SIGNS, "+"))
_CHAR_MAP.update(dict.fromkeys(_SEPARATORS, ""))

# [0-9], never \d: Python's \d also matches full-width and other Unicode digits.
_DIGIT_STRING_RE = re.compile(r"\+?[0-9]+")
_MOBILE_RE = re.compile(r"0[6789]0[1-9][0-9]{7}")
_IP_PHONE_RE = re.compile(r"050[0-9]{8}")
_LANDLINE_RE = re.compile(r"0[1-9][1-9][0-9]{7}|020[0-9]{8}|0800[0-9]{7}")


@dataclass(frozen=True, slots=True)
class PhoneVerdict:
    """The judgement of one phone value.

    ``national`` holds the national digits (``"09012345678"``) when the number is
    well-formed (``ok``, ``ip_phone``, ``landline``) and ``""`` otherwise; ``repaired``
    is True when Excel's dropped leading zero was put back (never for ``invalid``).
    """

    reason: str
    national: str
    repaired: bool

    @property
    def e164(self) -> str:
        """The number in E.164 form (``"+819012345678"``), or ``""`` without a national form."""
        return "+81" + self.national[1:] if self.national else ""


_VERDICT_MISSING = PhoneVerdict("missing", "", False)
_VERDICT_INVALID = PhoneVerdict("invalid", "", False)


def _drop_trunk_zero(rest: str) -> str:
    return rest[1:] if rest.startswith("0") else rest


def classify(raw: str | None) -> PhoneVerdict:
    """Normalise one raw phone value and judge it (R1-R3); ``None`` counts as empty.

    This is the reference implementation; :func:`sms_core.rules.phones.classify_array`
    must agree with it.
    Raises ``TypeError`` for anything but ``str`` or ``None``.
    """
    if raw is None:
        return _VERDICT_MISSING
    if not isinstance(raw, str):
        raise TypeError(f"classify() takes a str or None, not {type(raw).__name__}")
    s = raw.strip(_TRIM_CHARS)
    if len(s) >= 3 and s.startswith('="') and s.endswith('"'):
        s = s[2:-1].strip(_TRIM_CHARS)
    elif s.startswith("'"):
        s = s[1:].strip(_TRIM_CHARS)
    if not s:
        return _VERDICT_MISSING

    parts = []
    for ch in s:
        mapped = _CHAR_MAP.get(ch)
        if mapped is None:
            return _VERDICT_INVALID
        parts.append(mapped)
    digits = "".join(parts)
    if not _DIGIT_STRING_RE.fullmatch(digits):
        return _VERDICT_INVALID

    repaired = False
    if digits.startswith("+"):
        if not digits.startswith("+81"):
            return _VERDICT_INVALID
        national = "0" + _drop_trunk_zero(digits[3:])
    elif len(digits) == 12 and digits.startswith("81"):
        national = "0" + _drop_trunk_zero(digits[2:])
    elif len(digits) == 10 and digits[0] in "6789" and digits[1] == "0":
        national = "0" + digits
        repaired = True
    else:
        national = digits

    if _MOBILE_RE.fullmatch(national):
        reason = "ok"
    elif _IP_PHONE_RE.fullmatch(national):
        reason = "ip_phone"
    elif _LANDLINE_RE.fullmatch(national):
        reason = "landline"
    else:
        return _VERDICT_INVALID
    return PhoneVerdict(reason, national, repaired)

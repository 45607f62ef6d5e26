"""Fuzzing rosters (R21, R22, issue 13): seeded byte mutations of valid CP932, UTF-8 and
.xlsx rosters. Every input either previews or raises the product's own error (an
InputError, never another exception), and nothing reaches stderr.

Bounded: a fixed seed and a fixed number of cases per kind (about 300 in all), each a
small file, so the whole test takes a few seconds and fails the same way every run.
"""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
import pytest

from sms_core.errors import InputError, RosterError
from sms_core.rules.preview import preview

CASES = 100
BODY = "{{氏名}}様 {{卒業年度}}年卒向け説明会: {{url:https://example.jp/e}}"
ROWS = [
    ["応募者ID", "氏名", "区分", "携帯電話番号", "電話番号1", "卒業年度"],
    ["C1", "山田 太郎", "新卒", "090-1234-5678", "", "2027"],
    ["C2", "髙橋 花子", "中途", "", "+81 80 2222 3333", "2026"],
    ["C3", "佐藤", "新卒", "０９０１１１１２２２２", "", "2027"],
    ["C4", '"引用" 次郎', "中途", "", "03-1234-5678", ""],
]
# Bytes that break text and CSV structure in interesting ways.
SPICE = [b"\x00", b"\xff", b"\x81", b"\xe3\x81", b'"', b",", b"\n", b"\r", b"\xef\xbb\xbf", b"\x1f"]


def _csv(encoding: str) -> bytes:
    lines = []
    for row in ROWS:
        cells = ['"' + c.replace('"', '""') + '"' if '"' in c else c for c in row]
        lines.append(",".join(cells))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    for row in ROWS:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        kind = rng.randrange(5)
        if kind == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert a troublesome byte sequence
            data[at:at] = rng.choice(SPICE)
        elif kind == 2 and data:  # delete a range
            del data[at : at + rng.randint(1, 8)]
        elif kind == 3 and data:  # duplicate a range
            data[at:at] = data[at : at + rng.randint(1, 16)]
        else:  # truncate
            del data[at:]
    return bytes(data)


def _mutate_sheet(data: bytes, rng: random.Random) -> bytes:
    """Mutate the sheet's XML inside a well-formed zip: reaches the workbook parser."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/") or (
                info.filename == "xl/sharedStrings.xml" and rng.random() < 0.3
            ):
                content = _mutate(content, rng)
            target.writestr(info, content)
    return out.getvalue()


def _check(data: bytes) -> str:
    """Preview ``data``; the outcome's kind. Anything but the product's error fails."""
    try:
        result = preview(data, BODY)
        result.frame()
    except RosterError as exc:
        assert str(exc) and "\\x" not in str(exc) and "b'" not in str(exc), str(exc)
        return "refused"
    except InputError:  # the body's or a value's problem: still the product's own error
        return "refused"
    return "previewed"


@pytest.mark.parametrize(
    ("kind", "make", "mutate"),
    [
        ("utf-8", lambda: _csv("utf-8"), _mutate),
        ("cp932", lambda: _csv("cp932"), _mutate),
        ("xlsx-bytes", _xlsx, _mutate),
        ("xlsx-sheet", _xlsx, _mutate_sheet),
    ],
)
def test_r22_mutated_rosters_preview_or_are_refused_by_the_product(kind, make, mutate, capfd):
    valid = make()
    assert _check(valid) == "previewed"
    rng = random.Random(f"issue-13-{kind}")  # seeded: the same cases every run
    outcomes = [_check(mutate(valid, rng)) for _ in range(CASES)]
    assert capfd.readouterr().err == "", "nothing but the product's error may reach the user"
    assert "refused" in outcomes  # the mutations do reach the error paths

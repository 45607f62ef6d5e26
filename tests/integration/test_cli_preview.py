"""`python -m sms_core preview` as a user runs it: a real subprocess, real files (issue 2)."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = [
    "row",
    "candidate_id",
    "name",
    "kind",
    "source_field",
    "phone",
    "e164",
    "eligible",
    "reason",
    "repaired",
    "message",
    "chars",
    "units",
    "parts",
    "segments",
]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return warm_cli.run(args, cwd=cwd, timeout=120)


def read_out(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


@pytest.mark.parametrize(
    "sample",
    [
        "roster_sample_cp932.csv",
        "roster_sample_utf8.csv",
        "roster_sample_en.csv",
        "roster_sample.xlsx",
    ],
)
def test_preview_writes_the_contract_csv_and_prints_a_summary(sample, tmp_path, data_dir):
    out = tmp_path / "preview.csv"
    done = run(
        "preview", str(data_dir / sample), "--body", "{{name}}様 明日10時です。", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "eligible recipients:" in done.stdout and "total units" in done.stdout
    rows = read_out(out)
    assert list(rows[0])[: len(CONTRACT)] == CONTRACT
    assert {r["eligible"] for r in rows} <= {"true", "false"}
    assert {r["repaired"] for r in rows} <= {"true", "false"}
    for r in rows:
        assert (r["reason"] == "ok") == (r["eligible"] == "true")
        assert r["message"].endswith("様 明日10時です。")
        if r["eligible"] == "true":
            assert r["phone"].startswith("0") and len(r["phone"]) == 11
            assert r["e164"] == "+81" + r["phone"][1:]
            assert int(r["units"]) >= 1


def test_json_summary_and_body_file(tmp_path, data_dir):
    body = tmp_path / "body.txt"
    body.write_text("{{氏名}}様\r\n" + "あ" * 100, encoding="utf-8")
    done = run(
        "preview", str(data_dir / "roster_mid_career.csv"), "--body-file", str(body), "--json"
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["rows"] == 100
    assert summary["total_units"] >= 2 * summary["eligible"]
    assert set(summary["reasons"]) == {
        "ok",
        "missing",
        "ip_phone",
        "landline",
        "invalid",
        "duplicate",
        "opted_out",
        "frequency_cap",  # issue 12: today's cap (none reached in a preview without a database)
    }


def test_map_argument_and_optout_file(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text(
        "ID,お名前,種別,携帯TEL\nx1,山田,新卒,090-1111-2222\nx2,佐藤,新卒,08011112222\n",
        encoding="cp932",
    )
    optout = tmp_path / "optout.txt"
    optout.write_text("+81 90 1111 2222\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    done = run(
        "preview",
        str(roster),
        "--body",
        "{{お名前}}様",
        "--map",
        "kind=種別",
        "--map",
        "mobile=携帯TEL",
        "--map",
        "candidate_id=ID",
        "--optout-file",
        str(optout),
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    rows = read_out(out)
    assert [(r["candidate_id"], r["reason"]) for r in rows] == [("x1", "opted_out"), ("x2", "ok")]


def test_formula_like_values_are_neutralised_in_the_export(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text(
        '区分,携帯電話番号,氏名\n新卒,09011112222,"=HYPERLINK(""x"")"\n', encoding="utf-8"
    )
    out = tmp_path / "o.csv"
    assert run("preview", str(roster), "--body", "hi", "--out", str(out)).returncode == 0
    assert read_out(out)[0]["name"] == '\'=HYPERLINK("x")'


@pytest.mark.parametrize(
    "args,message",
    [
        (["preview", "data/roster_sample_cp932.csv", "--body", "{{nope}}"], "unknown merge tag"),
        (["preview", "data/roster_sample_cp932.csv"], "--body"),
        (["preview", "missing.csv", "--body", "x"], "cannot open"),
        (
            ["preview", "data/roster_sample_cp932.csv", "--body", "x", "--map", "oops"],
            "FIELD=HEADER",
        ),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args, message):
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_roster_names_row_and_column_and_writes_nothing(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("区分,携帯電話番号\n新卒,09011112222\n学生,08011112222\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    done = run("preview", str(roster), "--body", "x", "--out", str(out))
    assert done.returncode == 2
    assert "row 3, column '区分'" in done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [roster]

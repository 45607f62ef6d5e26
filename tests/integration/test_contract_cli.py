"""`python -m sms_core contract|quota|templates|optout|db` as real subprocesses.

Each test points SMS_DATABASE_URL at a SQLite file that does not exist yet: every
command migrates the database first, so a fresh machine just works. One test runs the
same story against PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]


def _head() -> str:
    from alembic.script import ScriptDirectory

    from sms_core.store.db import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


HEAD = _head()


class Cli:
    """Runs ``python -m sms_core`` with SMS_DATABASE_URL set to one database."""

    def __init__(self, url: str):
        self.env = {**os.environ, "SMS_DATABASE_URL": url}

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return warm_cli.run(args, cwd=ROOT, env=self.env, timeout=120)

    def json(self, *args: str):
        done = self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def cli(tmp_path) -> Cli:
    """The CLI on a SQLite file that does not exist yet."""
    return Cli(f"sqlite:///{tmp_path / 'fresh' / 'sms.db'}")


def bad_input(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith(("error: ", "usage: "))
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in done.stderr


def test_db_upgrade_on_a_fresh_machine(cli, tmp_path):
    done = cli("db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"is at schema revision {HEAD}" in done.stdout
    assert (tmp_path / "fresh" / "sms.db").exists()
    assert cli.json("db", "upgrade")["revision"] == HEAD


def test_r16_contract_set_and_show(cli):
    assert cli.json("contract", "show") is None
    done = cli("contract", "show")
    assert done.returncode == 0 and "no SMS contract yet" in done.stdout

    info = cli.json("contract", "set", "--units", "500", "--start", "2026-12", "--months", "3")
    assert info["monthly_units"] == 500
    assert (info["start_month"], info["end_month"]) == ("2026-12", "2027-02")
    assert (info["sender_mode"], info["sender_number"]) == ("shared", "05055271265")

    done = cli(
        "contract", "set", "--units", "800", "--start", "2026-12", "--months", "6",
        "--sender", "dedicated", "--number", "050-1234-5678",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "800 units a month, 2026-12 to 2027-05 (6 months)" in done.stdout
    shown = cli.json("contract", "show")
    assert (shown["sender_mode"], shown["sender_number"]) == ("dedicated", "05012345678")


def test_r16_bad_contracts_exit_2_naming_the_problem(cli):
    base = ["contract", "set", "--units", "100", "--start", "2026-12"]
    bad_input(cli(*base, "--months", "2"), "at least 3 months")
    bad_input(cli(*base, "--months", "0"), "at least 3 months")
    bad_input(
        cli("contract", "set", "--units", "0", "--start", "2026-12", "--months", "3"),
        "monthly units",
    )
    bad_input(
        cli("contract", "set", "--units", "10", "--start", "2026-13", "--months", "3"),
        "YYYY-MM",
        "2026-13",
    )
    bad_input(cli(*base, "--months", "3", "--sender", "dedicated"), "needs its number")
    bad_input(cli(*base, "--months", "3", "--number", "09011112222"), "shared sender is always")
    bad_input(cli("contract", "set", "--units", "many", "--start", "2026-12", "--months", "3"))
    assert cli.json("contract", "show") is None  # nothing half-saved


def test_r20_quota_shows_cap_used_reserved_remaining(cli):
    assert cli.json("quota", "--month", "2026-12") == {
        "month": "2026-12",
        "cap": 0,
        "used": 0,
        "reserved": 0,
        "remaining": 0,
    }
    cli.json("contract", "set", "--units", "300", "--start", "2026-01", "--months", "60")
    assert cli.json("quota", "--month", "2026-12")["remaining"] == 300
    done = cli("quota", "--month", "2026-12")
    assert done.returncode == 0
    assert "2026-12: 300 of 300 units remain (0 used, 0 reserved)" in done.stdout
    history = cli.json("quota", "--history")["history"]
    assert len(history) == 12 and all(h["used"] == 0 for h in history)
    bad_input(cli("quota", "--month", "December"), "YYYY-MM")


def test_r12_templates_save_list_show_rename_delete(cli):
    assert cli.json("templates", "list") == []
    body = "{{氏名}}様\n明日の面接は10時からです。"
    saved = cli.json("templates", "save", "面接案内", "--body", body)
    assert saved["name"] == "面接案内"
    assert cli("templates", "show", "面接案内").stdout == body + "\n"
    cli.json("templates", "save", "面接案内", "--body", "変更後")  # same name: replaced
    assert [t["body"] for t in cli.json("templates", "list")] == ["変更後"]
    assert cli.json("templates", "rename", "面接案内", "interview")["name"] == "interview"
    bad_input(cli("templates", "show", "面接案内"), "no template named '面接案内'", "interview")
    bad_input(cli("templates", "save", "empty", "--body", "  "), "body is empty")
    bad_input(cli("templates", "save", "nobody"), "--body")
    assert cli.json("templates", "delete", "interview") == {"deleted": "interview"}
    bad_input(cli("templates", "delete", "interview"), "no template named")


def test_optout_add_remove_list_import(cli, tmp_path):
    added = cli.json("optout", "add", "+81 90-1234-5678", "--reason", "asked by phone")
    assert (added["phone"], added["added"], added["reason"]) == (
        "*******5678",  # kept as a keyed hash: lists show the last 4 digits
        True,
        "asked by phone",
    )
    assert added["added_by"].startswith("cli")
    assert cli.json("optout", "add", "０９０ー１２３４ー５６７８")["added"] is False

    listing = tmp_path / "optouts.csv"
    listing.write_bytes("氏名,電話番号\n山田,080-1111-2222\n佐藤,09012345678\n".encode("cp932"))
    assert cli.json("optout", "import", str(listing)) == {"added": 1, "already": 1}
    phones = [e["phone"] for e in cli.json("optout", "list")]
    assert sorted(phones) == ["*******2222", "*******5678"]

    broken = tmp_path / "broken.txt"
    broken.write_text("07011112222\n9.01234E+09\n", encoding="utf-8")
    bad_input(cli("optout", "import", str(broken)), "line 2", "9.01234E+09")
    assert len(cli.json("optout", "list")) == 2  # all or nothing

    bad_input(cli("optout", "add", "12345"), "'12345' is not a well-formed phone number")
    bad_input(cli("optout", "import", str(tmp_path / "missing.txt")), "cannot read")
    assert cli.json("optout", "remove", "090-1234-5678") == {
        "phone": "*******5678",
        "removed": True,
    }
    assert cli.json("optout", "remove", "090-1234-5678")["removed"] is False


def test_a_bad_database_url_exits_2(tmp_path):
    bad_input(Cli("mysql://localhost/x")("quota"), "SMS_DATABASE_URL")


def test_the_cli_on_postgresql(postgres_database_url):
    """The same commands against PostgreSQL."""
    cli = Cli(postgres_database_url)
    assert cli.json("db", "upgrade")["revision"] == HEAD
    cli.json("contract", "set", "--units", "120", "--start", "2026-11", "--months", "3")
    assert cli.json("quota", "--month", "2027-01")["cap"] == 120
    bad_input(
        cli("contract", "set", "--units", "120", "--start", "2026-11", "--months", "1"),
        "at least 3 months",
    )
    cli.json("templates", "save", "reminder", "--body", "{{name}} さん")
    assert cli("templates", "show", "reminder").stdout == "{{name}} さん\n"
    assert cli.json("optout", "add", "08033334444")["added"] is True
    assert [e["phone"] for e in cli.json("optout", "list")] == ["*******4444"]

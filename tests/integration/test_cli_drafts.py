"""R12 on the command line: `python -m sms_core drafts list|show|save|delete|promote`, as
real subprocesses on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]


def run(url: str, *args: str) -> subprocess.CompletedProcess:
    return warm_cli.run(args, cwd=ROOT, env={**os.environ, "SMS_DATABASE_URL": url}, timeout=120)


def ok(url: str, *args: str):
    done = run(url, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_r12_drafts_on_the_cli(database_url):
    assert ok(database_url, "drafts", "list") == []
    first = ok(database_url, "drafts", "save", "説明会案内", "--body", "最初の文面")
    # Saving with --id updates that draft instead of making a new one.
    draft_id = str(first["id"])
    again = ok(database_url, "drafts", "save", "説明会案内", "--id", draft_id, "--body", "直した")
    assert again["id"] == first["id"]
    listed = ok(database_url, "drafts", "list")
    assert [(d["id"], d["body"]) for d in listed] == [(first["id"], "直した")]
    assert run(database_url, "drafts", "show", str(first["id"])).stdout == "直した\n"

    # Promoting never overwrites a template of the same name unless asked.
    ok(database_url, "templates", "save", "説明会案内", "--body", "元のテンプレート")
    refused = run(database_url, "drafts", "promote", str(first["id"]))
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert [t["body"] for t in ok(database_url, "templates", "list")] == ["元のテンプレート"]
    assert len(ok(database_url, "drafts", "list")) == 1  # nothing half-done
    done = ok(database_url, "drafts", "promote", str(first["id"]), "--overwrite")
    assert done == {"promoted": first["id"], "template": "説明会案内"}
    assert [t["body"] for t in ok(database_url, "templates", "list")] == ["直した"]
    assert ok(database_url, "drafts", "list") == []

    other = ok(database_url, "drafts", "save", "別件", "--body", "x")
    assert ok(database_url, "drafts", "delete", str(other["id"])) == {"deleted": other["id"]}
    missing = run(database_url, "drafts", "show", str(other["id"]))
    assert missing.returncode == 2 and f"no draft number {other['id']}" in missing.stderr

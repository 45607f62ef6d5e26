"""Commands that need no roster, report or provider start light (issue 14): each CLI call
and each worker is a process of its own, and importing pandas, pyarrow, numpy, Alembic
or requests it does not use cost more than the command's own work.

One real subprocess runs the commands one after another against a migrated SQLite file
and says, after each, which of those packages it imported first: a failure names the
command that pulls one in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("pandas", "pyarrow", "numpy", "alembic", "streamlit", "plotly", "requests")

# Commands without a roster, a report frame or a real provider. `worker --once` sends
# through the sandbox (an empty queue); `--help` builds every command's parser. The ones
# about a campaign or a user find none and are refused, after importing what they use.
LIGHT_COMMANDS = [
    ["--help"],
    ["db", "upgrade"],
    ["drafts", "list"],
    ["templates", "list"],
    ["users", "list"],
    ["contract", "show"],
    ["quota"],
    ["optout", "add", "090-1234-5678"],
    ["optout", "list"],
    ["settings"],
    ["history"],
    ["lookup", "--phone", "090-1234-5678"],
    ["spend"],
    ["cancel", "1"],  # no such campaign: refused after its modules are imported
    ["pause", "1"],
    ["resend", "1", "--dry-run"],
    ["reschedule", "1", "--at", "2026-12-01 10:00"],
    ["user-phone", "nobody", "--clear"],
    ["retention"],
    ["erase", "--phone", "090-1234-5678"],
    ["notify"],
    ["worker", "--once"],
]

PROBE = f"""
import json, sys
from sms_core.cli.main import main

heavy = set({HEAVY!r})
before = set()
seen = []
for argv in json.loads(sys.argv[1]):
    try:
        main(argv)
    except SystemExit:  # --help
        pass
    loaded = {{m.split(".")[0] for m in sys.modules}} & heavy
    seen.append([" ".join(argv), sorted(loaded - before)])
    before |= loaded
print(json.dumps(seen), file=sys.stderr)
"""


def test_commands_without_a_roster_import_no_heavy_package(migrated_sqlite_url, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(LIGHT_COMMANDS)],
        cwd=ROOT,
        env={
            **os.environ,
            "SMS_DATABASE_URL": migrated_sqlite_url,
            "SMS_PROVIDER": "sandbox",
            "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
            "SMS_NOTIFY_WEBHOOK_URL": "",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert [command for command, _ in seen] == [" ".join(c) for c in LIGHT_COMMANDS]
    assert {command: loaded for command, loaded in seen if loaded} == {}

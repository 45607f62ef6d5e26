"""No sms_core module reads its configuration (``SMS_*``) when it is imported.

Configuration is read when it is used: a process that imported the product before its
environment was final (the warm CLI starts of the integration tests, tests/integration/
warm_cli.py, fork such a process) still follows the environment it runs with.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter: record every key read from os.environ while importing each module.
PROBE = """
import importlib, json, os, pkgutil, sys

read = []

class Recording(type(os.environ)):
    def __getitem__(self, key):
        read.append(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        read.append(key)
        return super().__contains__(key)

os.environ.__class__ = Recording
import sms_core

found = {}
for info in pkgutil.walk_packages(sms_core.__path__, "sms_core."):
    if info.name.endswith("__main__"):
        continue
    del read[:]
    importlib.import_module(info.name)
    mine = sorted({k for k in read if k.startswith("SMS_")})
    if mine:
        found[info.name] = mine
print(json.dumps({"modules": len(sys.modules), "found": found}))
"""


def test_importing_the_product_reads_no_sms_setting():
    env = {"PATH": "/usr/bin:/bin", "SMS_NOW": "2026-11-30T23:59:00+09:00", "SMS_LANG": "ja"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["modules"] > 100  # the product and what it uses were imported
    assert result["found"] == {}, f"read on import: {result['found']}"

"""The xdist groups of tests/conftest.py reach pytest-xdist: a group runs in one worker.

pytest 9.2 silently broke xdist's grouping (pytest-xdist issue 1386): every test of the
"serial" and browser groups ran beside the others of its kind, and nothing failed. Here a
real ``pytest -n 2 --dist loadgroup`` runs the four probes below (marked ``serial``) and
must run them all in one worker, each reported as a test of the group.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBES = 4


@pytest.mark.serial
@pytest.mark.parametrize("n", range(PROBES))
def test_probe(n):
    """A member of the "serial" group (the test below runs these in a pytest of its own)."""
    assert n < PROBES


def test_a_group_runs_in_one_worker():
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v"),
            *("-p", "no:cacheprovider"),
            f"{Path(__file__).relative_to(ROOT)}::test_probe",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ran = re.findall(r"\[(gw\d)\] .*PASSED \S+::test_probe\[\d\](@\S+)?", done.stdout)
    assert len(ran) == PROBES, done.stdout
    assert {group for _, group in ran} == {"@serial"}, done.stdout
    assert len({worker for worker, _ in ran}) == 1, done.stdout

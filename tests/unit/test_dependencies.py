"""The dependency habits: every third-party import is declared, and the lock files pin
exactly what requirements*.txt ask for (issue 14).

Run as part of `make test`, so a new import without its pin, or a pin changed without
`make lock`, fails here instead of on a fresh machine.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the product runs (requirements.txt) and what only tests and tools use (-dev).
RUNTIME_CODE = ["sms_core", "pages", "ui.py", "dashboard.py", "migrations"]
DEV_CODE = ["tests", "benchmarks", "data"]
# Our own top-level modules (tests import helpers by their file names).
LOCAL = {"sms_core", "pages", "ui", "dashboard", "app", "tests", "conftest"}
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements or lock file, by canonical name."""
    return {_canonical(n): v for n, v in PIN.findall(path.read_text(encoding="utf-8"))}


def _declared(*files: str) -> set[str]:
    names: set[str] = set()
    for name in files:
        names |= set(_pins(ROOT / name))
    return names


def _python_files(roots: list[str]) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = ROOT / root
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def _third_party_imports(roots: list[str]) -> dict[str, set[str]]:
    """Top-level imported module → the files importing it, stdlib and our own left out."""
    files = _python_files(roots)
    siblings = {f.stem for f in files}  # helpers imported by file name (dispatch_helpers)
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in LOCAL or top in siblings:
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(roots: list[str], declared: set[str]) -> list[str]:
    distributions = packages_distributions()
    missing = []
    for module, where in sorted(_third_party_imports(roots).items()):
        owners = {_canonical(d) for d in distributions.get(module, [module])}
        if not owners & declared:
            missing.append(f"{module} (imported by {', '.join(sorted(where))})")
    return missing


def test_every_import_of_the_product_is_a_runtime_requirement():
    missing = _undeclared(RUNTIME_CODE, _declared("requirements.txt"))
    assert not missing, f"pin these in requirements.txt: {missing}"


def test_every_import_of_tests_and_tools_is_declared():
    declared = _declared("requirements.txt", "requirements-dev.txt")
    missing = _undeclared(DEV_CODE, declared)
    assert not missing, f"pin these in requirements-dev.txt: {missing}"


@pytest.mark.parametrize(
    ("wanted", "lock"),
    [
        (["requirements.txt"], "requirements.lock"),
        (["requirements.txt", "requirements-dev.txt"], "requirements-dev.lock"),
    ],
)
def test_the_lock_pins_what_the_requirements_ask_for(wanted, lock):
    locked = _pins(ROOT / lock)
    stale = {}
    for name in wanted:
        for package, version in _pins(ROOT / name).items():
            if locked.get(package) != version:
                stale[package] = (version, locked.get(package))
    assert not stale, f"run `make lock`: {lock} differs (wanted, locked): {stale}"


def test_every_locked_package_has_hashes():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        # One entry per pinned package: its line and the indented lines under it.
        entries = re.split(r"\n(?=\S)", (ROOT / lock).read_text(encoding="utf-8"))
        pinned = [e for e in entries if PIN.match(e)]
        unhashed = [e.split()[0] for e in pinned if "--hash=sha256:" not in e]
        assert pinned and not unhashed, f"{lock}: no hashes for {unhashed} (make lock)"


def test_the_runtime_and_dev_locks_agree():
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    differ = {p: (v, dev.get(p)) for p, v in runtime.items() if dev.get(p) != v}
    assert not differ, f"the dev lock must pin runtime packages alike (make lock): {differ}"

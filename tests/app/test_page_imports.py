"""Issue 11: every read a page shows goes through the service, which checks the role.

Pages (pages/*.py, dashboard.py) and ui.py import nothing of the product but ``ui``, the
service, ``i18n``, ``roles`` and ``errors``: no report module, no rules module, no
SQLAlchemy, requests or pandas. Nor do they reach the Engine behind the service.
Parsed with ``ast``, so an import inside a function or a branch counts too.

pages/new_send.py belongs to the send-path branch; until it merges, its case fails here.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "__future__",
    "streamlit",
    "ui",
    "sms_core.service",
    "sms_core.i18n",
    "sms_core.roles",
    "sms_core.errors",
}
# Standard-library modules are fine (secrets, os), except those that would open a way to
# the database or the network on their own.
STDLIB_DENIED = {"sqlite3", "urllib", "http", "socket", "importlib"}
# Attributes that would hand a page the Engine behind the service.
PRIVATE = {"_engine", "_reader", "database_engine", "engine", "reader"}
FILES = sorted([*(ROOT / "pages").glob("*.py"), ROOT / "dashboard.py", ROOT / "ui.py"])


def imported(tree: ast.AST) -> list[str]:
    """Every module a file imports, ``from a import b`` as ``a.b`` when ``a.b`` is a module."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if module in ("sms_core", "."):  # `from sms_core import reports`
                names += [f"{module}.{alias.name}".lstrip(".") for alias in node.names]
            else:
                names.append(module)
    return names


def allowed(module: str) -> bool:
    if module in ALLOWED or module.startswith("streamlit."):
        return True
    top = module.split(".")[0]
    return top in sys.stdlib_module_names and top not in STDLIB_DENIED


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_pages_import_only_ui_and_the_service(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    wrong = [m for m in imported(tree) if not allowed(m)]
    assert wrong == [], f"{path.name} imports {wrong}: read through sms_core.service instead"
    reached = sorted(
        {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in PRIVATE}
    )
    assert reached == [], f"{path.name} reaches the Engine behind the service: {reached}"


def test_the_import_check_catches_a_report_import():
    """The check itself: the imports pages used to have are refused."""
    for source in (
        "from sms_core import reports",
        "from sms_core.rules.text import cost_of_body",
        "import pandas as pd",
        "from sqlalchemy import select",
        "def f():\n    import requests",
    ):
        assert not all(allowed(m) for m in imported(ast.parse(source))), source
    assert all(allowed(m) for m in imported(ast.parse("from sms_core.service import X")))

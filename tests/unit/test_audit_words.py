"""Issue 15: every audit event and every detail field sms_core records has words in the
catalogue, so the audit trail and its export never show an internal id."""

from __future__ import annotations

import ast
from pathlib import Path

from sms_core.i18n import _CATALOGUE, LANGUAGES

CORE = Path(__file__).resolve().parents[2] / "sms_core"


def recorded() -> tuple[set[str], set[str]]:
    """The actions and detail fields of every ``audit(session, actor, "action", …)`` call."""
    actions: set[str] = set()
    fields: set[str] = set()
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name != "audit" or len(node.args) < 3:
                continue
            if isinstance(node.args[2], ast.Constant):
                actions.add(node.args[2].value)
            fields.update(kw.arg for kw in node.keywords if kw.arg)
    return actions, fields


def test_every_recorded_action_and_field_has_words_in_every_language():
    actions, fields = recorded()
    assert len(actions) > 20 and len(fields) > 20  # the scan found the calls
    missing = [f"audit.action.{a}" for a in sorted(actions)] + [
        f"audit.field.{f}" for f in sorted(fields)
    ]
    missing = [key for key in missing if not all(_CATALOGUE.get(key, {}).get(x) for x in LANGUAGES)]
    assert not missing, f"add these to sms_core/i18n.py: {missing}"

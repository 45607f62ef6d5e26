"""Issue 11: every way of sending goes through the one send use case (R13–R15, R18).

A campaign is created in one place: :func:`sms_core.sending.campaigns.open_campaign`,
inside :func:`~sms_core.sending.campaigns.create_once` (the one transaction: idempotency
key, contract (R16), the quota's conditional reservation (R18, R19), campaign and parts).
Two paths lead there, as ``sms_core/sending/send_case.py``'s docstring explains: the send
use case's confirm step (New send, CLI ``send``, test sends) and the resend of the
unreached (issue 16), which sends stored texts rather than a roster. Editing a scheduled
send (reschedule) changes a campaign and creates none.

These tests read the source of ``sms_core`` (its syntax trees, no import) and fail when a
second way of creating a campaign appears: a ``Campaign(...)`` row or an INSERT outside
that function, a new caller of the creating functions, or a method of ``SmsService`` other
than the known ones that reaches them.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sms_core"
# Demo data is written as history (seeded campaigns, never confirmed by a person).
DEMO = ("sms_core.demo.",)
SERVICE_CLASSES = ("sms_core.service:SmsService", "sms_core.service_ops:OpsTools")
# SmsService methods that create a campaign, each through the paths above.
CREATING_METHODS = {"confirm_send", "test_send", "test_send_own", "resend"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class _Function:
    def __init__(self, qualname: str, node: ast.AST, cls: str | None) -> None:
        self.qualname = qualname
        self.node = node
        self.cls = cls  # "module:Class" of a method
        self.names: set[str] = set()  # called by plain name
        self.on_self: set[str] = set()  # called as self.attr(...)
        self.on_name: set[tuple[str, str]] = set()  # called as name.attr(...)
        self.attrs: set[str] = set()  # called as <anything else>.attr(...)
        self.builds_campaign = False


def _is_campaign(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "Campaign") or (
        isinstance(node, ast.Attribute)
        and node.attr == "__table__"
        and isinstance(node.value, ast.Name)
        and node.value.id == "Campaign"
    )


def _scan(node: ast.AST, fn: _Function) -> None:
    for child in ast.walk(node):
        if not isinstance(child, ast.Call):
            continue
        target = child.func
        if isinstance(target, ast.Name):
            fn.names.add(target.id)
            if target.id == "Campaign":  # a Campaign row
                fn.builds_campaign = True
            if target.id == "insert" and child.args and _is_campaign(child.args[0]):
                fn.builds_campaign = True
        elif isinstance(target, ast.Attribute):
            if target.attr == "insert" and _is_campaign(target.value):  # Campaign.__table__
                fn.builds_campaign = True
            if isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
                fn.on_self.add(target.attr)
            elif isinstance(target.value, ast.Name):
                fn.on_name.add((target.value.id, target.attr))
                fn.attrs.add(target.attr)
            else:
                fn.attrs.add(target.attr)


class _Program:
    """Every function and method of sms_core, each module's imported names, and the
    classes' bases (by name)."""

    def __init__(self) -> None:
        self.functions: dict[str, _Function] = {}
        self.imports: dict[str, dict[str, str]] = defaultdict(dict)
        self.bases: dict[str, set[str]] = {}
        for path in sorted(PACKAGE.rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    for alias in node.names:
                        self.imports[module][alias.asname or alias.name] = (
                            f"{node.module}:{alias.name}"
                        )
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        self.imports[module][alias.asname or alias.name] = alias.name
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._add(f"{module}:{node.name}", node, None)
                elif isinstance(node, ast.ClassDef):
                    cls = f"{module}:{node.name}"
                    self.bases[cls] = {b.id for b in node.bases if isinstance(b, ast.Name)}
                    for item in node.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self._add(f"{cls}.{item.name}", item, cls)

    def _add(self, qualname: str, node: ast.AST, cls: str | None) -> None:
        fn = self.functions[qualname] = _Function(qualname, node, cls)
        _scan(node, fn)

    def family(self, cls: str) -> set[str]:
        """``cls`` with the classes it derives from and those derived from it (a mixin's
        ``self`` is the whole object)."""
        name = cls.split(":")[1]
        family = {cls}
        for other, bases in self.bases.items():
            if other.split(":")[1] in self.bases[cls] or name in bases:
                family.add(other)
        return family

    def callees(self, fn: _Function) -> set[str]:
        """What ``fn`` may call. Unknown receivers resolve to every method of that name
        (conservative: a false edge can only add a path, never hide one)."""
        module = fn.qualname.split(":")[0]
        imported = self.imports[module]
        out: set[str] = set()
        for name in fn.names:
            local = f"{module}:{name}"
            if local in self.functions:
                out.add(local)
            elif imported.get(name) in self.functions:
                out.add(imported[name])
        for attr in fn.on_self:
            for cls in self.family(fn.cls) if fn.cls else ():
                if f"{cls}.{attr}" in self.functions:
                    out.add(f"{cls}.{attr}")
        methods = defaultdict(set)
        for q, f in self.functions.items():
            if f.cls:
                methods[q.rsplit(".", 1)[1]].add(q)
        for receiver, attr in fn.on_name:
            target = imported.get(receiver, "")
            # ``from sms_core.sending import quota`` or ``import sms_core.x as x``
            as_module = target.replace(":", ".")
            if f"{as_module}:{attr}" in self.functions:
                out.add(f"{as_module}:{attr}")
        for attr in fn.attrs:
            out.update(methods.get(attr, ()))
        return out


@pytest.fixture(scope="module")
def program():
    code = _Program()
    functions = code.functions
    calls = {q: code.callees(fn) for q, fn in functions.items()}
    callers: dict[str, set[str]] = defaultdict(set)
    for caller, callees in calls.items():
        for callee in callees:
            callers[callee].add(caller)
    return functions, calls, callers


def _creators(functions, calls) -> set[str]:
    """Every function from which a campaign row can be created (a fixed point); the demo
    data's own rows left out."""
    found = {q for q, fn in functions.items() if fn.builds_campaign and not q.startswith(DEMO)}
    while True:
        more = {q for q, callees in calls.items() if callees & found} - found
        if not more:
            return found
        found |= more


def test_a_campaign_row_is_built_in_one_function_only_r13(program):
    """R13: outside the demo data, only campaigns.open_campaign builds a Campaign row."""
    functions, _, _ = program
    builders = {q for q, fn in functions.items() if fn.builds_campaign and not q.startswith(DEMO)}
    assert builders == {"sms_core.sending.campaigns:open_campaign"}


def test_no_campaign_is_inserted_by_hand_written_sql_r13():
    pattern = re.compile(r"insert\s+into\s+\"?campaign\b", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_creating_functions_have_only_their_known_callers_r13(program):
    """confirm_campaign is the send use case's confirm step; create_once (the one
    transaction) and open_campaign serve it and the resend, and nothing else."""
    _, _, callers = program
    campaigns = "sms_core.sending.campaigns"
    resend = "sms_core.sending.resend"
    assert callers[f"{campaigns}:confirm_campaign"] == {"sms_core.sending.send_case:confirm_send"}
    assert callers[f"{campaigns}:create_once"] == {
        f"{campaigns}:confirm_campaign",
        f"{resend}:resend_campaign",
    }
    assert callers[f"{campaigns}:open_campaign"] == {f"{campaigns}:_write", f"{resend}:_write"}
    assert callers[f"{campaigns}:_write"] == {f"{campaigns}:confirm_campaign"}
    assert callers[f"{resend}:_write"] == {f"{resend}:resend_campaign"}


def test_every_creating_path_runs_inside_the_one_transaction_r13(program):
    """No creator reaches open_campaign except through create_once."""
    functions, calls, _ = program
    creators = _creators(functions, calls)
    assert "sms_core.sending.send_case:confirm_send" in creators  # the analysis sees paths
    inside = {
        "sms_core.sending.campaigns:open_campaign",
        "sms_core.sending.campaigns:_write",
        "sms_core.sending.resend:_write",
        "sms_core.sending.campaigns:create_once",
    }
    for q in creators - inside:
        assert "sms_core.sending.campaigns:create_once" in _creators_upto(q, calls, inside), q


def _creators_upto(start: str, calls, inside: set[str]) -> set[str]:
    """The functions of ``inside`` that ``start`` reaches."""
    seen, todo = set(), [start]
    while todo:
        q = todo.pop()
        for callee in calls.get(q, ()):
            if callee not in seen:
                seen.add(callee)
                todo.append(callee)
    return seen & inside


def test_the_service_creates_campaigns_only_through_its_known_methods_r13(program):
    """SmsService (with OpsTools) creates campaigns through confirm_send, test_send,
    test_send_own and resend; reschedule edits one; no other method creates any."""
    functions, calls, _ = program
    creators = _creators(functions, calls)
    methods = {
        q.rsplit(".", 1)[1]
        for q in functions
        if q.rsplit(".", 1)[0] in SERVICE_CLASSES and q in creators
    }
    assert methods == CREATING_METHODS
    assert "reschedule" not in methods

"""Issue 11: a package that shows its layers — no import circles anywhere in sms_core,
pure rules that import nothing from the store, sending or providers, providers that know
nothing of the store, and a core that never imports streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "sms_core"


def _modules() -> dict[str, Path]:
    found = {}
    for path in CORE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The sms_core modules ``name`` imports, anywhere in it (also inside functions)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{module}.{alias.name}"
                out.add(target if target in MODULES else module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return (
        ".".join(parts[:2]) if len(parts) > 2 or MODULES[module].name == "__init__.py" else module
    )


def test_no_module_imports_itself_round_a_circle():
    assert _cycles(GRAPH) == []


def test_no_layer_imports_itself_round_a_circle():
    layers: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        for target in targets:
            if _package(module) != _package(target):
                layers.setdefault(_package(module), set()).add(_package(target))
    assert _cycles(layers) == []


def test_rules_are_pure_and_providers_know_nothing_of_the_store():
    for module, targets in GRAPH.items():
        if module.startswith("sms_core.rules"):
            assert not {
                t
                for t in targets
                if t.startswith(("sms_core.store", "sms_core.sending", "sms_core.providers"))
            }, module
        if module.startswith("sms_core.providers"):
            assert not {t for t in targets if t.startswith(("sms_core.store", "sms_core.sending"))}


def test_the_core_never_imports_streamlit():
    for path in MODULES.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_the_cycle_finder_finds_a_circle():
    """Guard for the guard: a made-up circle is found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]

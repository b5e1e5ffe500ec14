"""The package's import graph: layers import downwards, and no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import spasm_advisor

PACKAGE = Path(spasm_advisor.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["spasm_advisor", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module and the package modules it imports anywhere: at the top, in a function, for type checking."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("spasm_advisor"):
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in modules else str(node.module))
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("spasm_advisor")}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read():
    """The graph holds every layer and its known edges (so the checks below have something to check)."""
    graph = import_graph()
    assert "spasm_advisor.inference._experta.shim" in graph["spasm_advisor.inference._experta.engine"]
    assert "spasm_advisor.inference.session" in graph["spasm_advisor.inference.advisor"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_session_and_advisor_are_not_a_cycle():
    """The session takes the compiled knowledge base, so it does not import the advisor that creates it."""
    assert "spasm_advisor.inference.advisor" not in import_graph()["spasm_advisor.inference.session"]


def test_no_import_cycles():
    """No module imports, directly or through others, a module that imports it."""
    assert cycles(import_graph()) == []


def test_only_the_shim_imports_experta():
    """experta is imported in one module only, spasm_advisor.inference._experta.shim."""
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n == "experta" or n.startswith("experta.") for n in names):
                importers.add(_module_name(path))
    assert importers == {"spasm_advisor.inference._experta.shim"}


def test_the_knowledge_base_layer_imports_nothing_above_it():
    """kb (reading, model, condition language, loading) imports only kb, errors and the private helpers."""
    allowed = ("spasm_advisor.kb.", "spasm_advisor.errors", "spasm_advisor._suggest", "spasm_advisor._regular_file")
    above = {
        (module, other)
        for module, imported in import_graph().items()
        if module.startswith("spasm_advisor.kb.")
        for other in imported
        if not other.startswith(allowed)
    }
    assert above == set()


def test_nothing_imports_the_command_line():
    """The command line is the top: no module of the package imports it."""
    assert [m for m, imported in import_graph().items() if "spasm_advisor.cli" in imported] == []

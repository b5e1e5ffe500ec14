"""The package's shape: one module owns what conditions mean, and the import graph has no cycles.

Both read the source with ``ast`` (nothing is imported or timed): every
``import`` counts, inside functions and ``TYPE_CHECKING`` blocks too, since a
cycle there is still two modules that each need the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
PACKAGE = "spasm_advisor"
CORE = f"{PACKAGE}.kb.conditions"
OPERATOR_SYMBOLS = {"==", "!=", "<", "<=", ">", ">="}
OPERATOR_FUNCTIONS = {"eq", "ne", "lt", "le", "gt", "ge"}


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(ENGINE.rglob("*.py")):
        parts = path.relative_to(ENGINE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((PACKAGE, *parts))] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The package modules that module ``name`` imports."""
    package = name if (ENGINE / Path(*name.split(".")[1:]) / "__init__.py").exists() else name.rsplit(".", 1)[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets.add(module)
            targets.update(f"{module}.{alias.name}" for alias in node.names)  # "from pkg import submodule"
    return {target for target in targets if target in known and target != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_import_graph_has_no_cycles():
    """No two modules of the package import each other, directly or through others."""
    modules = _modules()
    graph = {name: _imports(name, tree, set(modules)) for name, tree in modules.items()}
    assert len(modules) >= 40, sorted(modules)  # the walk really saw the package
    assert sum(len(edges) for edges in graph.values()) >= 100
    assert f"{PACKAGE}.kb.loader" in graph[f"{PACKAGE}.inference.advisor"]  # edges are read
    assert _cycles(graph) == []


def test_cycle_detection_finds_a_cycle():
    """The cycle check is not vacuous: a two-module loop and a longer one are reported."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert _cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def _interpretations(tree: ast.Module) -> list[tuple[int, str]]:
    """Places that give an operator symbol a meaning (compare with it, tabulate it, apply it)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for side in sides:
                values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                if any(isinstance(v, ast.Constant) and v.value in OPERATOR_SYMBOLS for v in values):
                    found.append((node.lineno, "compares with an operator symbol"))
        elif isinstance(node, ast.Dict):
            keys = [k for k in node.keys if isinstance(k, ast.Constant) and k.value in OPERATOR_SYMBOLS]
            if len(keys) >= 2:
                found.append((node.lineno, "a table keyed by operator symbols"))
        elif isinstance(node, ast.Set | ast.Tuple | ast.List):
            symbols = [e for e in node.elts if isinstance(e, ast.Constant) and e.value in OPERATOR_SYMBOLS]
            if len(symbols) >= 2:
                found.append((node.lineno, "a collection of operator symbols"))
        elif isinstance(node, ast.Attribute):
            if node.attr == "op" and isinstance(node.ctx, ast.Load):
                found.append((node.lineno, "reads a comparison's operator"))
            if isinstance(node.value, ast.Name) and node.value.id == "operator" and node.attr in OPERATOR_FUNCTIONS:
                found.append((node.lineno, f"operator.{node.attr}"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module == "operator"
            and {alias.name for alias in node.names} & OPERATOR_FUNCTIONS
        ):
            found.append((node.lineno, "imports comparison functions"))
    return found


def test_operator_semantics_live_in_one_module():
    """Only the condition language module interprets ==, !=, <, <=, >, >=; the others ask it."""
    modules = _modules()
    elsewhere = {name: places for name, tree in modules.items() if name != CORE and (places := _interpretations(tree))}
    assert elsewhere == {}
    assert len(_interpretations(modules[CORE])) >= 6  # the check recognises the real table


def test_interpretation_check_flags_a_second_table():
    """The check is not vacuous: a module with its own operator table, or testing an operator, is flagged."""
    source = (
        "import operator\nTABLE = {'==': operator.eq, '<': operator.lt}\ndef holds(lit):\n    return lit.op == '<'\n"
    )
    reasons = {reason for _, reason in _interpretations(ast.parse(source))}
    assert reasons == {
        "a table keyed by operator symbols",
        "operator.eq",
        "operator.lt",
        "reads a comparison's operator",
        "compares with an operator symbol",
    }

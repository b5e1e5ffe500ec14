"""One module owns what conditions mean: no other module of the package interprets an operator.

The check reads the source with ``ast`` (nothing is imported or timed). The
import graph has its own test (``tests/unit/test_import_graph.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[3] / "engine"
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

"""The condition language of ``when:``: parsing, normal forms and evaluation.

A condition is a string atom (``numbness``, ``age >= 50``, ``posture == poor``,
``fever is unknown``) or a mapping with one key, ``all``, ``any`` or ``not``.
Parsing uses a whitelist of operators; nothing is ever evaluated as Python.

Facts have three values: a value, or unknown. A comparison on an unknown fact
is neither true nor false (Kleene logic), so ``not numbness`` holds only when
numbness was answered no. Findings are two-valued: derived or not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from spasm_advisor.errors import ConditionSyntaxError

__all__ = [
    "All",
    "Any_",
    "Comparison",
    "Condition",
    "FindingRef",
    "Known",
    "Literal_",
    "Not",
    "Value",
    "evaluate",
    "negation_normal_form",
    "parse_condition",
    "render",
    "render_value",
    "to_dnf",
]

Value: TypeAlias = bool | int | str
Operator = Literal["==", "!=", "<", "<=", ">", ">="]

_COMPLEMENT: dict[str, str] = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_ATOM = re.compile(
    r"^\s*(?P<name>[a-z][a-z0-9_]*)\s*"
    r"(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>[A-Za-z0-9_+-]+)|is\s+(?P<known>known|unknown))?\s*$"
)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``name op value`` on an input fact; false and not-false both fail when unknown."""

    name: str
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class Known:
    """``name is known`` (``known=True``) or ``name is unknown``: always two-valued."""

    name: str
    known: bool


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A derived finding; ``negated`` means no rule derived it."""

    name: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Name:
    """A bare name before resolution: a boolean fact (``== true``) or a finding."""

    name: str


@dataclass(frozen=True, slots=True)
class All:
    """Every item holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    """At least one item holds."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item is definitely false (for facts: answered, and not matching)."""

    item: Condition


Condition: TypeAlias = Comparison | Known | FindingRef | Name | All | Any_ | Not
Literal_: TypeAlias = Comparison | Known | FindingRef


def _parse_value(text: str) -> Value:
    if text == "true":
        return True
    if text == "false":
        return False
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if re.fullmatch(r"[a-z][a-z0-9_]*", text):
        return text
    raise ConditionSyntaxError(f"'{text}' is not a value (expected true, false, an integer or a name)")


def parse_condition(raw: object) -> Condition:
    """Parse a ``when:`` value into a syntax tree (names not yet resolved)."""
    if isinstance(raw, str):
        match = _ATOM.match(raw)
        if match is None:
            raise ConditionSyntaxError(
                f"cannot read condition '{raw}' (expected NAME, NAME OP VALUE with OP one of "
                "== != < <= > >=, or NAME is known/unknown)"
            )
        name = match["name"]
        if match["known"]:
            return Known(name, match["known"] == "known")
        if match["op"]:
            return Comparison(name, match["op"], _parse_value(match["value"]))  # type: ignore[arg-type]
        return Name(name)
    if isinstance(raw, Mapping):
        if len(raw) != 1:
            keys = ", ".join(sorted(map(str, raw))) or "nothing"
            raise ConditionSyntaxError(f"a condition mapping has exactly one key of all/any/not, got {keys}")
        ((key, value),) = raw.items()
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise ConditionSyntaxError(f"'{key}' takes a non-empty list of conditions")
            items = tuple(parse_condition(item) for item in value)
            return All(items) if key == "all" else Any_(items)
        if key == "not":
            return Not(parse_condition(value))
        raise ConditionSyntaxError(f"unknown condition operator '{key}' (expected all, any or not)")
    raise ConditionSyntaxError(f"a condition is a string or a mapping, not {type(raw).__name__} ({raw!r})")


def negation_normal_form(cond: Condition, negate: bool = False) -> Condition:
    """Push ``not`` down to literals, keeping three-valued meaning.

    ``not (age < 16)`` becomes ``age >= 16``: both need age to be known, which
    is exactly Kleene negation on a comparison. Bare names must be resolved
    (to :class:`Comparison` or :class:`FindingRef`) first.
    """
    if isinstance(cond, Not):
        return negation_normal_form(cond.item, not negate)
    if isinstance(cond, All | Any_):
        items = tuple(negation_normal_form(item, negate) for item in cond.items)
        flip = isinstance(cond, All) == negate
        return Any_(items) if flip else All(items)
    if not negate:
        return cond
    if isinstance(cond, Comparison):
        return Comparison(cond.name, _COMPLEMENT[cond.op], cond.value)  # type: ignore[arg-type]
    if isinstance(cond, Known):
        return Known(cond.name, not cond.known)
    if isinstance(cond, FindingRef):
        return FindingRef(cond.name, not cond.negated)
    raise TypeError(f"unresolved name in condition: {cond!r}")


def to_dnf(cond: Condition) -> tuple[tuple[Literal_, ...], ...]:
    """Disjunctive normal form of an NNF condition: a tuple of conjunctions."""
    if isinstance(cond, Any_):
        return tuple(conj for item in cond.items for conj in to_dnf(item))
    if isinstance(cond, All):
        result: list[tuple[Literal_, ...]] = [()]
        for item in cond.items:
            result = [left + right for left in result for right in to_dnf(item)]
        return tuple(result)
    if isinstance(cond, Comparison | Known | FindingRef):
        return ((cond,),)
    raise TypeError(f"condition not in negation normal form: {cond!r}")


def compare(op: str, actual: Value, expected: Value) -> bool:
    """``actual op expected`` for a known value, with the whitelisted operators."""
    if op == "==":
        return actual == expected
    if op == "!=":
        return actual != expected
    # Ordering only ever applies to integers (the loader checks the fact's type).
    a, e = int(actual), int(expected)
    if op == "<":
        return a < e
    if op == "<=":
        return a <= e
    if op == ">":
        return a > e
    return a >= e


def literal_holds(lit: Literal_, facts: Mapping[str, Value | None], findings: frozenset[str] | set[str]) -> bool:
    """Whether one literal is true for these facts (``None`` = unknown) and findings."""
    if isinstance(lit, Comparison):
        actual = facts.get(lit.name)
        return actual is not None and compare(lit.op, actual, lit.value)
    if isinstance(lit, Known):
        return (facts.get(lit.name) is not None) == lit.known
    return (lit.name in findings) != lit.negated


def evaluate(cond: Condition, facts: Mapping[str, Value | None], findings: frozenset[str] | set[str]) -> bool:
    """Whether an NNF condition is true (not merely not-false)."""
    if isinstance(cond, All):
        return all(evaluate(item, facts, findings) for item in cond.items)
    if isinstance(cond, Any_):
        return any(evaluate(item, facts, findings) for item in cond.items)
    if isinstance(cond, Comparison | Known | FindingRef):
        return literal_holds(cond, facts, findings)
    raise TypeError(f"condition not in negation normal form: {cond!r}")


def render_value(value: object) -> str:
    """A fact value in words: yes/no for booleans, "unknown" for None, else the value."""
    if value is None:
        return "unknown"
    return _render_value(value)  # type: ignore[arg-type]


def _render_value(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(cond: Condition) -> str:
    """A readable one-line form of a condition, for reports and explanations."""
    if isinstance(cond, Comparison):
        if cond.value is True and cond.op == "==":
            return cond.name
        if cond.value is False and cond.op == "==":
            return f"{cond.name} = no"
        if isinstance(cond.value, bool) and cond.op == "!=":
            return f"{cond.name} = {_render_value(not cond.value)}"
        return f"{cond.name} {cond.op} {_render_value(cond.value)}"
    if isinstance(cond, Known):
        return f"{cond.name} is {'known' if cond.known else 'unknown'}"
    if isinstance(cond, FindingRef):
        return f"no {cond.name}" if cond.negated else cond.name
    if isinstance(cond, Name):
        return cond.name
    if isinstance(cond, Not):
        return f"not ({render(cond.item)})"
    joiner = " and " if isinstance(cond, All) else " or "
    return "(" + joiner.join(render(item) for item in cond.items) + ")"

"""Compiling a knowledge base into an experta engine class.

Each rule becomes one experta rule per branch of its condition's disjunctive
normal form. Every branch matches the single ``CaseFact`` (all input facts in
one fact, unknown ones as ``None``) plus ``Finding`` facts. Only ``derive``
asserts facts; triage, recommend, withhold and caution are recorded when a
rule fires and applied when the assessment is assembled, so no rule needs a
``NOT`` over a conclusion. Rules fire stratum by stratum (salience), so a
finding is complete before any rule reads its absence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._experta import NOT, CompiledEngineBase, Fact, P, Rule
from .conditions import Comparison, FindingRef, Known, Literal_, Value, compare
from .model import KnowledgeBase, RuleSpec

__all__ = ["Branch", "CaseFact", "CompiledKnowledgeBase", "Finding", "compile_branches", "compile_knowledge_base"]


class CaseFact(Fact):  # type: ignore[misc]
    """All input facts of one case; ``None`` stands for unknown."""


class Finding(Fact):  # type: ignore[misc]
    """A finding derived by a rule: ``Finding(name=...)``."""


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch (DNF conjunction) of one rule, as compiled."""

    rule: RuleSpec
    number: int
    literals: tuple[Literal_, ...]


def _field_test(literals: list[Comparison | Known]) -> Any:
    """An experta field constraint that holds when every literal holds."""
    if len(literals) == 1 and isinstance(literals[0], Comparison) and literals[0].op == "==":
        return literals[0].value  # a plain literal lets experta's Rete share the test

    def test(value: Value | None, _lits: tuple[Comparison | Known, ...] = tuple(literals)) -> bool:
        for lit in _lits:
            if isinstance(lit, Known):
                if (value is not None) != lit.known:
                    return False
            elif value is None or not compare(lit.op, value, lit.value):
                return False
        return True

    return P(test)


def _patterns(literals: tuple[Literal_, ...]) -> list[Any]:
    by_fact: dict[str, list[Comparison | Known]] = {}
    findings: list[Any] = []
    for lit in literals:
        if isinstance(lit, FindingRef):
            pattern = Finding(name=lit.name)
            findings.append(NOT(pattern) if lit.negated else pattern)
        else:
            by_fact.setdefault(lit.name, []).append(lit)
    case_pattern = CaseFact(**{name: _field_test(lits) for name, lits in sorted(by_fact.items())})
    return [case_pattern, *findings]


def _fire(index: int) -> Callable[..., None]:
    def fire(engine: Any, **_: Any) -> None:
        engine.on_fire(index)

    fire.__name__ = f"branch_{index}"
    # Ties within a salience fire in knowledge-base order (see RankedStrategy).
    fire.spasm_rank = index  # type: ignore[attr-defined]
    return fire


class _SpasmEngine(CompiledEngineBase):
    """The experta engine all compiled knowledge bases derive from."""

    branch_derives: tuple[tuple[str, ...], ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[int] = []

    def on_fire(self, index: int) -> None:
        """Record a firing and assert the findings the branch derives."""
        self.trace.append(index)
        for name in self.branch_derives[index]:
            self.declare(Finding(name=name))

    def run_case(self, values: dict[str, Value | None]) -> tuple[list[int], set[str]]:
        """Reset, assert one case, run to quiescence; return the trace and findings."""
        self.reset()
        self.trace = []
        self.declare(CaseFact(**values))
        self.run()
        findings = {fact["name"] for fact in self.facts.values() if isinstance(fact, Finding)}
        return self.trace, findings


@dataclass(frozen=True, slots=True)
class CompiledKnowledgeBase:
    """A knowledge base with its experta engine class, built once and reused."""

    kb: KnowledgeBase
    engine_class: type[_SpasmEngine]
    branches: tuple[Branch, ...]
    fact_names: tuple[str, ...]

    def new_engine(self) -> _SpasmEngine:
        """A fresh engine (builds the Rete network: reuse it with ``run_case``)."""
        return self.engine_class()


def compile_branches(kb: KnowledgeBase) -> tuple[Branch, ...]:
    """Every branch of every rule, in firing priority: stratum, then rule id, then branch."""
    return tuple(
        Branch(rule, number, literals) for rule in kb.rules for number, literals in enumerate(rule.dnf)
    )


def compile_knowledge_base(kb: KnowledgeBase) -> CompiledKnowledgeBase:
    """Build the experta engine class for ``kb``."""
    branches = compile_branches(kb)
    experta_rules: list[Any] = []
    for index, branch in enumerate(branches):
        experta_rules.append(Rule(*_patterns(branch.literals), salience=-branch.rule.stratum)(_fire(index)))
    engine_class = type(
        "CompiledSpasmEngine",
        (_SpasmEngine,),
        {
            "compiled_rules": tuple(experta_rules),
            "branch_derives": tuple(b.rule.derives for b in branches),
        },
    )
    return CompiledKnowledgeBase(kb, engine_class, branches, tuple(kb.facts))

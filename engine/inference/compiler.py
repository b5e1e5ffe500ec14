"""Compiling a knowledge base into an experta engine class.

Each rule becomes one experta rule per branch of its condition's disjunctive
normal form. Every branch matches the single ``CaseFact`` (all input facts in
one fact, unknown ones as ``None``) plus ``Finding`` facts. Only ``derive``
asserts facts; triage, recommend, withhold and caution are recorded when a
rule fires and applied when the assessment is assembled, so no rule needs a
``NOT`` over a conclusion. Rules fire stratum by stratum (salience), so a
finding is complete before any rule reads its absence.

Each branch's tests on one fact become one field constraint: a constant when
exactly one value of the fact's domain passes (``numbness``, ``fever is
unknown``), else one predicate, shared by every branch with the same tests.
Constants let experta share alpha nodes and let the matcher index them. Which
values pass is decided by the condition language itself
(:func:`~spasm_advisor.kb.conditions.fact_test`); this module only packages
the answer for experta. A negated finding becomes experta's ``NOT`` over the
finding fact: findings are two-valued and complete before their absence is
read (strata).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spasm_advisor.inference._experta import NOT, CompiledEngineBase, Fact, P, Rule, new_fact
from spasm_advisor.kb.conditions import Comparison, FindingRef, Known, Literal_, Value, fact_test, finite_domain
from spasm_advisor.kb.model import FactSpec, KnowledgeBase, RuleSpec

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


class _FieldTests:
    """Field constraints for one compilation, shared between branches with the same tests."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.cache: dict[tuple[str, tuple[Comparison | Known, ...]], Any] = {}

    def constraint(self, name: str, literals: list[Comparison | Known]) -> Any:
        """An experta field constraint that holds exactly when every literal holds."""
        key = (name, tuple(literals))
        if key not in self.cache:
            self.cache[key] = self._build(self.kb.facts[name], key[1])
        return self.cache[key]

    @staticmethod
    def _build(spec: FactSpec, literals: tuple[Comparison | Known, ...]) -> Any:
        test = fact_test(literals)
        domain = finite_domain(spec)
        if domain is not None:
            passing = tuple(v for v in domain if test(v))
            if len(passing) == 1:
                return passing[0]  # a constant: experta shares the node, the matcher indexes it
            allowed = frozenset(passing)
            return P(lambda value, _allowed=allowed: value in _allowed)
        return P(test)


def _patterns(literals: tuple[Literal_, ...], tests: _FieldTests) -> list[Any]:
    by_fact: dict[str, list[Comparison | Known]] = {}
    findings: list[Any] = []
    for lit in literals:
        if isinstance(lit, FindingRef):
            pattern = Finding(name=lit.name)
            findings.append(NOT(pattern) if lit.negated else pattern)
        else:
            by_fact.setdefault(lit.name, []).append(lit)
    case_pattern = CaseFact(**{name: tests.constraint(name, lits) for name, lits in sorted(by_fact.items())})
    return [case_pattern, *findings]


def _fire_signature(engine: Any, **_: Any) -> None:
    """The signature every right-hand side shares."""


#: experta reads a rule function's signature each time it copies the rule
#: while building an engine (over a thousand times for the bundled knowledge
#: base); a function that carries its signature answers at once.
_FIRE_SIGNATURE = inspect.signature(_fire_signature)


def _fire(index: int) -> Callable[..., None]:
    def fire(engine: Any, **_: Any) -> None:
        engine.on_fire(index)

    fire.__name__ = f"branch_{index}"
    fire.__signature__ = _FIRE_SIGNATURE  # type: ignore[attr-defined]
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
            self.declare_new(Finding, {"name": name})

    def run_case(self, values: dict[str, Value | None]) -> tuple[list[int], set[str]]:
        """Reset, assert one case, run to quiescence; return the trace and findings."""
        self.reset()
        self.trace = []
        self.declare(new_fact(CaseFact, values))
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
    return tuple(Branch(rule, number, literals) for rule in kb.rules for number, literals in enumerate(rule.dnf))


def compile_knowledge_base(kb: KnowledgeBase) -> CompiledKnowledgeBase:
    """Build the experta engine class for ``kb``."""
    branches = compile_branches(kb)
    tests = _FieldTests(kb)
    experta_rules: list[Any] = []
    for index, branch in enumerate(branches):
        rule = Rule(*_patterns(branch.literals, tests), salience=-branch.rule.stratum)
        experta_rules.append(rule(_fire(index)))
    engine_class = type(
        "CompiledSpasmEngine",
        (_SpasmEngine,),
        {
            "compiled_rules": tuple(experta_rules),
            "branch_derives": tuple(b.rule.derives for b in branches),
        },
    )
    return CompiledKnowledgeBase(kb, engine_class, branches, tuple(kb.facts))

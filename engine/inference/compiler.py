"""Compiling a knowledge base into an experta engine class.

Each rule becomes one experta rule per branch of its condition's disjunctive
normal form. A branch matches a ``CaseFact`` (all input facts in one fact,
unknown ones as ``None``) plus ``Finding`` facts. Only ``derive`` asserts
facts; triage, recommend, withhold and caution are recorded when a rule fires
and applied when the assessment is assembled, so no rule needs a ``NOT`` over
a conclusion. Rules fire stratum by stratum (salience), so a finding is
complete before any rule reads its absence.

The case is declared once per stratum, each copy marked with its stratum
(``_stratum``, a name no fact can have), and each stratum runs to quiescence
before the next copy is declared; a branch matches only its own stratum's
copy. So a branch that reads the absence of a finding is matched only once
every finding of the strata below is in, instead of being put on the agenda
and taken off again when the finding arrives. The agenda holds the same
branches when each stratum starts as with a single case fact, so the same
branches fire in the same order. A branch of the first stratum that tests
no input fact has no case-fact pattern at all.

Each branch's tests on one fact become one field constraint: a constant when
exactly one value of the fact's domain passes (``numbness``, ``fever is
unknown``), else one predicate, shared by every branch with the same tests.
Constants let experta share alpha nodes and let the matcher index them. Which
values pass is decided by the condition language itself
(:func:`~spasm_advisor.kb.conditions.fact_test`); this module only packages
the answer for experta. A negated finding becomes experta's ``NOT`` over the
finding fact: findings are two-valued and complete before their absence is
read (strata).

A finding that every rule deriving it derives from one input fact alone (an
age band, a duration class) is matched on that fact instead: a branch that
reads it tests the fact's value for the derivers' condition (or its negation)
and needs no join. This is done only where every branch deriving the finding
comes before the reader in firing priority, so the finding is still derived,
by its own rule, before the reader fires: the branches that fire, their order
and their explanations are the same; only the matching is cheaper.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spasm_advisor.inference._experta import NOT, CompiledEngineBase, Fact, P, Rule, new_fact
from spasm_advisor.kb.conditions import (
    Comparison,
    FindingRef,
    Known,
    Literal_,
    Value,
    any_fact_test,
    fact_test,
    finite_domain,
)
from spasm_advisor.kb.model import FactSpec, KnowledgeBase, RuleSpec

__all__ = [
    "Branch",
    "CaseFact",
    "CompiledKnowledgeBase",
    "Finding",
    "OneFactFinding",
    "compile_branches",
    "compile_knowledge_base",
    "single_fact_findings",
]


class CaseFact(Fact):  # type: ignore[misc]
    """All input facts of one case; ``None`` stands for unknown. ``_stratum``: which stratum it is for."""


#: The field of a ``CaseFact`` naming the stratum whose branches it is for.
STRATUM = "_stratum"


class Finding(Fact):  # type: ignore[misc]
    """A finding derived by a rule: ``Finding(name=...)``."""


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch (DNF conjunction) of one rule, as compiled."""

    rule: RuleSpec
    number: int
    literals: tuple[Literal_, ...]


#: One input fact's literals in a branch: its own tests, and findings matched on it.
_OnFact = Comparison | Known | FindingRef


@dataclass(frozen=True, slots=True)
class OneFactFinding:
    """A finding derived from one input fact alone (an age band, a duration class)."""

    fact: str
    #: Every branch of every rule deriving it: the finding holds when one of them does.
    branches: tuple[tuple[Comparison | Known, ...], ...]
    #: The firing priority (index in :func:`compile_branches`) of the last of those branches.
    last_deriver: int


def single_fact_findings(branches: tuple[Branch, ...]) -> dict[str, OneFactFinding]:
    """The findings that every rule deriving them derives from the same single input fact and no finding."""
    derivers: dict[str, list[tuple[int, Branch]]] = {}
    for index, branch in enumerate(branches):
        for name in branch.rule.derives:
            derivers.setdefault(name, []).append((index, branch))
    found: dict[str, OneFactFinding] = {}
    for finding, deriving in derivers.items():
        literals = [lit for _, branch in deriving for lit in branch.literals]
        facts = {lit.name for lit in literals}
        if len(facts) == 1 and not any(isinstance(lit, FindingRef) for lit in literals):
            found[finding] = OneFactFinding(
                facts.pop(),
                tuple(branch.literals for _, branch in deriving),  # type: ignore[misc]
                max(index for index, _ in deriving),
            )
    return found


class _FieldTests:
    """Field constraints for one compilation, shared between branches with the same tests."""

    def __init__(self, kb: KnowledgeBase, branches: tuple[Branch, ...]) -> None:
        self.kb = kb
        self.on_one_fact = single_fact_findings(branches)
        self.first_stratum = min((branch.rule.stratum for branch in branches), default=0)
        self.cache: dict[tuple[str, tuple[_OnFact, ...]], Any] = {}

    def constraint(self, name: str, literals: list[_OnFact]) -> Any:
        """An experta field constraint that holds exactly when every literal holds."""
        key = (name, tuple(literals))
        if key not in self.cache:
            self.cache[key] = self._build(self.kb.facts[name], key[1])
        return self.cache[key]

    def _test(self, literals: tuple[_OnFact, ...]) -> Callable[[Value | None], bool]:
        own = fact_test([lit for lit in literals if not isinstance(lit, FindingRef)])
        refs = [lit for lit in literals if isinstance(lit, FindingRef)]
        if not refs:
            return own
        # A finding read here holds exactly when its derivers' condition does.
        derived = tuple((any_fact_test(self.on_one_fact[ref.name].branches), ref.negated) for ref in refs)
        return lambda value: own(value) and all(test(value) != negated for test, negated in derived)

    def _build(self, spec: FactSpec, literals: tuple[_OnFact, ...]) -> Any:
        test = self._test(literals)
        domain = finite_domain(spec)
        if domain is not None:
            passing = tuple(v for v in domain if test(v))
            if len(passing) == 1:
                return passing[0]  # a constant: experta shares the node, the matcher indexes it
            allowed = frozenset(passing)
            return P(lambda value, _allowed=allowed: value in _allowed)
        return P(test)


def _patterns(index: int, branch: Branch, tests: _FieldTests) -> list[Any]:
    by_fact: dict[str, list[_OnFact]] = {}
    findings: list[Any] = []
    for lit in branch.literals:
        one_fact = tests.on_one_fact.get(lit.name) if isinstance(lit, FindingRef) else None
        # Matched on its fact only when every deriver has priority over this branch: until
        # the finding is derived, a deriver whose test passed is ahead of this branch on the
        # agenda, so the branch still fires after the finding, in the same order as before.
        if one_fact is not None and one_fact.last_deriver < index:
            by_fact.setdefault(one_fact.fact, []).append(lit)
        elif isinstance(lit, FindingRef):
            pattern = Finding(name=lit.name)
            findings.append(NOT(pattern) if lit.negated else pattern)
        else:
            by_fact.setdefault(lit.name, []).append(lit)
    stratum = branch.rule.stratum
    if stratum == tests.first_stratum and not by_fact and any(not isinstance(f, NOT) for f in findings):
        # Nothing runs before the first stratum, so a branch there that tests
        # no input fact needs no case fact: it does not wait in a join for its
        # findings, and a branch on one finding needs no join at all. A
        # positive finding goes first: experta puts its initial fact before a leading NOT.
        return sorted(findings, key=lambda pattern: isinstance(pattern, NOT))
    constraints = {name: tests.constraint(name, lits) for name, lits in sorted(by_fact.items())}
    return [CaseFact(**{STRATUM: stratum}, **constraints), *findings]


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
    #: The strata that have branches, lowest first.
    strata: tuple[int, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[int] = []

    def on_fire(self, index: int) -> None:
        """Record a firing and assert the findings the branch derives."""
        self.trace.append(index)
        for name in self.branch_derives[index]:
            self.declare_new(Finding, {"name": name})

    def assert_case(self, values: dict[str, Value | None]) -> list[Any]:
        """Declare the case stratum by stratum, running each to quiescence; return the case facts declared."""
        declared = []
        for stratum in self.strata:
            declared.append(self.declare(new_fact(CaseFact, {**values, STRATUM: stratum})))
            self.run()
        return declared

    def run_case(self, values: dict[str, Value | None]) -> tuple[list[int], set[str]]:
        """Reset, assert one case, run to quiescence; return the trace and findings."""
        self.reset()
        self.trace = []
        self.assert_case(values)
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
    tests = _FieldTests(kb, branches)
    experta_rules: list[Any] = []
    for index, branch in enumerate(branches):
        rule = Rule(*_patterns(index, branch, tests), salience=-branch.rule.stratum)
        experta_rules.append(rule(_fire(index)))
    engine_class = type(
        "CompiledSpasmEngine",
        (_SpasmEngine,),
        {
            "compiled_rules": tuple(experta_rules),
            "branch_derives": tuple(b.rule.derives for b in branches),
            "strata": tuple(sorted({b.rule.stratum for b in branches})),
        },
    )
    return CompiledKnowledgeBase(kb, engine_class, branches, tuple(kb.facts))

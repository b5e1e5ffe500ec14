"""The knowledge base as logic over the whole input space, for proofs (z3).

Every input fact ``x`` becomes two solver variables: ``known(x)`` and
``value(x)`` (a Bool, an Int within the fact's range, or an Int indexing an
enum's values). A case is any assignment, so "for every case" means "for every
model", unknowns included. Literals mean exactly what the reference
interpreter evaluates: a comparison holds only when the fact is known.

Findings are defined by completion: a finding holds iff some branch of a rule
deriving it holds. With stratified negation and no circular derivations this
is exactly the reference semantics (the fixpoint of firing every rule whose
condition holds); circular derivations are refused here and reported by
``rules verify``. Outcomes follow the assembly rules: the triage is the
highest level any fired rule sets (``self_care`` when none does); a
recommendation is given when some fired rule recommends it and no fired rule
withholds it.

Needs the ``z3-solver`` package (the ``audit`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import z3

from spasm_advisor.errors import CircularDerivationError
from spasm_advisor.kb.conditions import All, Any_, Comparison, Condition, FindingRef, Known, Literal_, Value
from spasm_advisor.kb.model import TRIAGE_LEVELS, FactSpec, KnowledgeBase, RuleSpec

__all__ = ["CircularDerivationError", "SymbolicKnowledgeBase", "fact_space_size", "threshold_classes"]


def _op(op: str, left: Any, right: Any) -> Any:
    return {
        "==": lambda: left == right,
        "!=": lambda: left != right,
        "<": lambda: left < right,
        "<=": lambda: left <= right,
        ">": lambda: left > right,
        ">=": lambda: left >= right,
    }[op]()


class FactVariables:
    """The solver variables of one fact vocabulary, under a name prefix."""

    def __init__(self, facts: Mapping[str, FactSpec], prefix: str = "") -> None:
        self.facts = facts
        self.known: dict[str, Any] = {}
        self.value: dict[str, Any] = {}
        self.domain: list[Any] = []
        for name, spec in facts.items():
            self.known[name] = z3.Bool(f"{prefix}known_{name}")
            if spec.type == "boolean":
                self.value[name] = z3.Bool(f"{prefix}{name}")
                continue
            var = z3.Int(f"{prefix}{name}")
            self.value[name] = var
            if spec.type == "enum":
                self.domain += [var >= 0, var < len(spec.values)]
            else:
                if spec.minimum is not None:
                    self.domain.append(var >= spec.minimum)
                if spec.maximum is not None:
                    self.domain.append(var <= spec.maximum)

    def encode_value(self, name: str, value: Value) -> Any:
        """The solver constant for a fact value."""
        spec = self.facts[name]
        if spec.type == "enum":
            return spec.values.index(str(value)) if value in spec.values else -1
        return value

    def literal(self, lit: Comparison | Known) -> Any:
        """A fact literal as a formula (comparisons require the fact to be known)."""
        if isinstance(lit, Known):
            return self.known[lit.name] if lit.known else z3.Not(self.known[lit.name])
        spec = self.facts[lit.name]
        if spec.type == "enum" and lit.value not in spec.values:
            return z3.BoolVal(lit.op == "!=") if lit.op in ("==", "!=") else z3.BoolVal(False)
        return z3.And(self.known[lit.name], _op(lit.op, self.value[lit.name], self.encode_value(lit.name, lit.value)))

    def decode(self, model: Any) -> dict[str, Value]:
        """The case (answered facts only) that a model describes."""
        case: dict[str, Value] = {}
        for name, spec in self.facts.items():
            if not z3.is_true(model.evaluate(self.known[name], model_completion=True)):
                continue
            raw = model.evaluate(self.value[name], model_completion=True)
            if spec.type == "boolean":
                case[name] = z3.is_true(raw)
            elif spec.type == "enum":
                case[name] = spec.values[raw.as_long()]
            else:
                case[name] = raw.as_long()
        return case

    def matches(self, case: Mapping[str, Value]) -> Any:
        """A formula that holds exactly for this case (every fact pinned)."""
        parts = []
        for name in self.facts:
            if case.get(name) is None:
                parts.append(z3.Not(self.known[name]))
            else:
                parts.append(self.known[name])
                parts.append(self.value[name] == self.encode_value(name, case[name]))
        return z3.And(parts)


class SymbolicKnowledgeBase:
    """Formulas for every finding, rule and outcome of a knowledge base.

    Args:
        kb: the knowledge base.
        variables: the fact variables to build on (share them to compare two
            knowledge bases over the same cases); by default, fresh ones.
        prefix: a name prefix for this base's own symbols.
    """

    def __init__(self, kb: KnowledgeBase, variables: FactVariables | None = None, prefix: str = "") -> None:
        self.kb = kb
        self.vars = variables or FactVariables(kb.facts, prefix)
        self._derivers: dict[str, list[RuleSpec]] = {}
        for rule in kb.rules:
            for name in rule.derives:
                self._derivers.setdefault(name, []).append(rule)
        self._finding: dict[str, Any] = {}
        self._in_progress: set[str] = set()
        self.branch: dict[tuple[str, int], Any] = {}
        self.fires: dict[str, Any] = {}
        for rule in kb.rules:
            self.fires[rule.id] = z3.Or(
                [self.branch_formula(rule, i) for i in range(len(rule.dnf))] or [z3.BoolVal(False)]
            )

    # -- building blocks ------------------------------------------------------

    def finding(self, name: str) -> Any:
        """A formula true exactly when the finding is derived."""
        if name in self._finding:
            return self._finding[name]
        if name in self._in_progress:
            raise CircularDerivationError(f"finding '{name}' is derived in a circle")
        self._in_progress.add(name)
        branches = [self.branch_formula(rule, i) for rule in self._derivers.get(name, ()) for i in range(len(rule.dnf))]
        self._in_progress.discard(name)
        self._finding[name] = z3.Or(branches) if branches else z3.BoolVal(False)
        return self._finding[name]

    def literal(self, lit: Literal_) -> Any:
        """One literal of a branch."""
        if isinstance(lit, FindingRef):
            held = self.finding(lit.name)
            return z3.Not(held) if lit.negated else held
        return self.vars.literal(lit)

    def branch_formula(self, rule: RuleSpec, number: int) -> Any:
        """Branch ``number`` of ``rule`` holds."""
        key = (rule.id, number)
        if key not in self.branch:
            self.branch[key] = z3.And([self.literal(lit) for lit in rule.dnf[number]])
        return self.branch[key]

    def condition(self, cond: Condition) -> Any:
        """Any NNF condition over facts and findings."""
        if isinstance(cond, All):
            return z3.And([self.condition(c) for c in cond.items])
        if isinstance(cond, Any_):
            return z3.Or([self.condition(c) for c in cond.items])
        return self.literal(cond)  # type: ignore[arg-type]

    # -- outcomes -------------------------------------------------------------

    def _rules_with(self, kind: str, target: str | None = None) -> Iterable[RuleSpec]:
        return (
            r
            for r in self.kb.rules
            if any(a.kind == kind and (target is None or a.target == target) for a in r.actions)
        )

    def triage_at_least(self, level: str) -> Any:
        """The triage is ``level`` or higher."""
        rank = TRIAGE_LEVELS.index(level)
        if rank == 0:
            return z3.BoolVal(True)
        setters = [
            self.fires[r.id]
            for r in self.kb.rules
            if any(a.kind == "triage" and TRIAGE_LEVELS.index(a.target) >= rank for a in r.actions)
        ]
        return z3.Or(setters) if setters else z3.BoolVal(False)

    def triage_is(self, level: str) -> Any:
        """The triage is exactly ``level``."""
        rank = TRIAGE_LEVELS.index(level)
        above = TRIAGE_LEVELS[rank + 1] if rank + 1 < len(TRIAGE_LEVELS) else None
        return z3.And(self.triage_at_least(level), z3.Not(self.triage_at_least(above)) if above else z3.BoolVal(True))

    def recommended_by_rules(self, rec_id: str) -> Any:
        """Some fired rule recommends ``rec_id`` (before withholding)."""
        return z3.Or([self.fires[r.id] for r in self._rules_with("recommend", rec_id)] or [z3.BoolVal(False)])

    def withheld(self, rec_id: str) -> Any:
        """Some fired rule withholds ``rec_id``."""
        return z3.Or([self.fires[r.id] for r in self._rules_with("withhold", rec_id)] or [z3.BoolVal(False)])

    def given(self, rec_id: str) -> Any:
        """``rec_id`` is among the recommendations of the assessment."""
        return z3.And(self.recommended_by_rules(rec_id), z3.Not(self.withheld(rec_id)))

    def warned(self, rec_id: str) -> Any:
        """``rec_id`` is given with at least one warning from a caution rule."""
        cautions = [self.fires[r.id] for r in self._rules_with("caution", rec_id)]
        return z3.And(self.given(rec_id), z3.Or(cautions)) if cautions else z3.BoolVal(False)

    def solver(self) -> Any:
        """A solver holding the domain constraints of every fact."""
        solver = z3.Solver()
        solver.add(*self.vars.domain)
        return solver


def threshold_classes(kb: KnowledgeBase) -> dict[str, int]:
    """How many behaviourally distinct values each fact has (unknown included).

    Integer facts split at the constants the rules compare them with; values
    between two thresholds behave the same in every rule.
    """
    cuts: dict[str, set[int]] = {}
    for rule in kb.rules:
        for conj in rule.dnf:
            for lit in conj:
                if isinstance(lit, Comparison) and kb.facts[lit.name].type == "integer":
                    value = int(lit.value)
                    # x < v / x >= v split before v; x <= v / x > v split after v; == / != isolate v.
                    points = {"<": [value], ">=": [value], "<=": [value + 1], ">": [value + 1]}.get(
                        lit.op, [value, value + 1]
                    )
                    cuts.setdefault(lit.name, set()).update(points)
    classes = {}
    for name, spec in kb.facts.items():
        if spec.type == "boolean":
            classes[name] = 3
        elif spec.type == "enum":
            classes[name] = len(spec.values) + 1
        else:
            low = spec.minimum if spec.minimum is not None else -(10**9)
            high = spec.maximum if spec.maximum is not None else 10**9
            inside = {c for c in cuts.get(name, ()) if low < c <= high}
            classes[name] = len(inside) + 2
    return classes


def fact_space_size(kb: KnowledgeBase) -> tuple[int | None, int]:
    """(number of distinct cases, or None if some range is unbounded; number of threshold classes)."""
    cases: int | None = 1
    for spec in kb.facts.values():
        if spec.type == "boolean":
            size: int | None = 3
        elif spec.type == "enum":
            size = len(spec.values) + 1
        elif spec.minimum is not None and spec.maximum is not None:
            size = spec.maximum - spec.minimum + 2
        else:
            size = None
        cases = None if cases is None or size is None else cases * size
    classes = 1
    for count in threshold_classes(kb).values():
        classes *= count
    return cases, classes

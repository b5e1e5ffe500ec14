"""The knowledge base as logic over the whole input space, for proofs (z3).

Every input fact ``x`` becomes two solver variables: ``known(x)`` and
``value(x)`` (a Bool, an Int within the fact's range, or an Int indexing an
enum's values). A case is any assignment, so "for every case" means "for every
model", unknowns included. Conditions and outcomes are not encoded here: the
condition language (:mod:`spasm_advisor.kb.conditions`) defines them over any
Boolean algebra, and this module supplies z3's (:data:`Z3`) and the variables.
A comparison is true only when the fact is known, and a value outside a fact's
domain matches no answer (``posture != slouched`` is true for every answered
posture, never for an unanswered one).

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

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import z3

from spasm_advisor.errors import CircularDerivationError
from spasm_advisor.kb.conditions import (
    Comparison,
    Conclusions,
    Condition,
    FactTerm,
    Literal_,
    Logic,
    TriageAtom,
    Value,
    cut_points,
    encode,
)
from spasm_advisor.kb.model import FactSpec, KnowledgeBase, RuleSpec

__all__ = [
    "Z3",
    "CircularDerivationError",
    "FactVariables",
    "SymbolicKnowledgeBase",
    "fact_space_size",
    "threshold_classes",
]


class _Z3Logic:
    """z3 formulas as the Boolean algebra the condition language is interpreted in."""

    def const(self, value: bool) -> Any:
        return z3.BoolVal(value)

    def conj(self, items: Iterable[Any]) -> Any:
        terms = list(items)
        return z3.And(terms) if terms else z3.BoolVal(True)

    def disj(self, items: Iterable[Any]) -> Any:
        terms = list(items)
        return z3.Or(terms) if terms else z3.BoolVal(False)

    def neg(self, item: Any) -> Any:
        return z3.Not(item)

    def guard(self, condition: Any, then: Callable[[], Any]) -> Any:
        return z3.And(condition, then())

    def choose(self, condition: Any, then: Any, otherwise: Any) -> Any:
        return z3.If(condition, then, otherwise)


#: The z3 Boolean algebra.
Z3: Logic[Any] = _Z3Logic()


def _common_spec(name: str, specs: Sequence[FactSpec]) -> tuple[FactSpec, tuple[str, ...], bool]:
    """The domain every vocabulary accepts for one fact: (spec, enum value order, answerable)."""
    last = specs[-1]
    if any(spec.type != last.type for spec in specs):
        return last, last.values, False  # only "unknown" is a value every vocabulary accepts
    if last.type == "enum":
        order = tuple(dict.fromkeys(v for spec in specs for v in spec.values))
        common = tuple(v for v in order if all(v in spec.values for spec in specs))
        return dataclasses.replace(last, values=common), order, bool(common)
    if last.type == "integer":
        lows = [spec.minimum for spec in specs if spec.minimum is not None]
        highs = [spec.maximum for spec in specs if spec.maximum is not None]
        low, high = (max(lows) if lows else None), (min(highs) if highs else None)
        answerable = low is None or high is None or low <= high
        return dataclasses.replace(last, minimum=low, maximum=high), (), answerable
    return last, (), True


class FactVariables:
    """The solver variables of one fact vocabulary (or of several, over the cases all of them accept).

    Every fact ``x`` has ``known(x)`` and ``value(x)``: a Bool, an Int within
    the fact's range, or an Int indexing an enum's values. With several
    vocabularies (``also``, for comparing two versions of a knowledge base), a
    fact both have takes only the values both accept (a value one of them
    dropped is outside the common domain, and a fact whose type changed can
    only be unknown); a fact only one has is free, and the other ignores it.

    Args:
        facts: the vocabulary.
        prefix: a name prefix for the variables.
        also: further vocabularies over the same variables.
    """

    def __init__(
        self, facts: Mapping[str, FactSpec], prefix: str = "", also: Sequence[Mapping[str, FactSpec]] = ()
    ) -> None:
        vocabularies = [*also, facts]
        names = dict.fromkeys(name for vocabulary in vocabularies for name in vocabulary)
        self.facts: dict[str, FactSpec] = {}
        self.known: dict[str, Any] = {}
        self.value: dict[str, Any] = {}
        self.domain: list[Any] = []
        self._order: dict[str, tuple[str, ...]] = {}
        self._prefix = prefix
        self._other_values: dict[tuple[str, str], Any] = {}
        for name in names:
            specs = [vocabulary[name] for vocabulary in vocabularies if name in vocabulary]
            spec, order, answerable = _common_spec(name, specs)
            self.facts[name] = spec
            self.known[name] = z3.Bool(f"{prefix}known_{name}")
            if not answerable:
                self.domain.append(z3.Not(self.known[name]))
            if spec.type == "boolean":
                self.value[name] = z3.Bool(f"{prefix}{name}")
                continue
            var = z3.Int(f"{prefix}{name}")
            self.value[name] = var
            if spec.type == "enum":
                self._order[name] = order
                positions = [order.index(v) for v in spec.values]
                if positions == list(range(len(positions))):
                    self.domain += [var >= 0, var < max(len(positions), 1)]
                else:
                    self.domain.append(z3.Or([var == p for p in positions]))
            else:
                if spec.minimum is not None:
                    self.domain.append(var >= spec.minimum)
                if spec.maximum is not None:
                    self.domain.append(var <= spec.maximum)

    def encode_value(self, name: str, value: Value) -> Any:
        """The solver constant for a fact value (an enum value outside the domain matches no case)."""
        if self.facts[name].type == "enum":
            order = self._order[name]
            return order.index(str(value)) if value in order else -1
        return value

    def term(self, name: str, spec: FactSpec | None = None) -> FactTerm[Any]:
        """The fact as the condition language sees it, for a vocabulary whose own spec is ``spec``."""
        own = self.facts[name]
        if spec is not None and spec.type != own.type:
            # The fact's type changed between vocabularies: it is never answered here, but each
            # vocabulary's comparisons still need a variable of their own type.
            key = (name, spec.type)
            if key not in self._other_values:
                make = z3.Bool if spec.type == "boolean" else z3.Int
                self._other_values[key] = make(f"{self._prefix}{name}__{spec.type}")
            enum = spec.type == "enum"
            return FactTerm(self.known[name], self._other_values[key], lambda value: -1 if enum else value)
        return FactTerm(self.known[name], self.value[name], lambda value: self.encode_value(name, value))

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
                case[name] = self._order[name][raw.as_long()]
            else:
                case[name] = raw.as_long()
        return case

    def condition(self, cond: Condition) -> Any:
        """A condition on facts alone (no findings or outcomes), true exactly for the cases where it is true."""
        return encode(cond, _FactsWorld(self))[0]

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


class _FactsWorld:
    """Every case at once, for conditions on facts alone."""

    def __init__(self, variables: FactVariables) -> None:
        self.variables = variables

    @property
    def logic(self) -> Logic[Any]:
        return Z3

    def fact(self, name: str) -> FactTerm[Any]:
        return self.variables.term(name)

    def finding(self, name: str) -> Any:
        raise TypeError(f"a condition on facts alone cannot read finding '{name}'")

    def given(self, rec: str) -> Any:
        raise TypeError("a condition on facts alone has no outcome atoms")

    withheld = given

    def triage_rank(self) -> Any:
        raise TypeError("a condition on facts alone has no outcome atoms")


class _SymbolicWorld:
    """Every case at once: the condition language's names as solver formulas of one knowledge base."""

    def __init__(self, sym: SymbolicKnowledgeBase) -> None:
        self.sym = sym

    @property
    def logic(self) -> Logic[Any]:
        return Z3

    def fact(self, name: str) -> FactTerm[Any]:
        return self.sym.vars.term(name, self.sym.kb.facts.get(name))

    def finding(self, name: str) -> Any:
        return self.sym.finding(name)

    def given(self, rec: str) -> Any:
        return self.sym.given(rec)

    def withheld(self, rec: str) -> Any:
        return self.sym.withheld(rec)

    def triage_rank(self) -> Any:
        return self.sym.triage_rank()


class SymbolicKnowledgeBase:
    """Formulas for every finding, rule and outcome of a knowledge base.

    Literals, findings and outcomes mean what :mod:`spasm_advisor.kb.conditions`
    defines (:func:`~spasm_advisor.kb.conditions.encode` and
    :class:`~spasm_advisor.kb.conditions.Conclusions`, over z3 formulas).

    Args:
        kb: the knowledge base.
        variables: the fact variables to build on (share them to compare two
            knowledge bases over the same cases); by default, fresh ones.
        prefix: a name prefix for this base's own symbols.
    """

    def __init__(self, kb: KnowledgeBase, variables: FactVariables | None = None, prefix: str = "") -> None:
        self.kb = kb
        self.vars = variables or FactVariables(kb.facts, prefix)
        self.conclusions = Conclusions(kb.rules)
        self.world = _SymbolicWorld(self)
        self._finding: dict[str, Any] = {}
        self._in_progress: set[str] = set()
        self._outcomes: dict[tuple[str, str], Any] = {}
        self.branch: dict[tuple[str, int], Any] = {}
        self.fires: dict[str, Any] = {}
        for rule in kb.rules:
            self.fires[rule.id] = z3.Or(
                [self.branch_formula(rule, i) for i in range(len(rule.dnf))] or [z3.BoolVal(False)]
            )

    # -- building blocks ------------------------------------------------------

    def _fires(self, rule_id: str) -> Any:
        found = self.fires.get(rule_id)
        if found is not None:
            return found
        rule = self.kb.rule_index[rule_id]
        return z3.Or([self.branch_formula(rule, i) for i in range(len(rule.dnf))] or [z3.BoolVal(False)])

    def finding(self, name: str) -> Any:
        """A formula true exactly when the finding is derived (completion: some deriving rule fires)."""
        if name in self._finding:
            return self._finding[name]
        if name in self._in_progress:
            raise CircularDerivationError(f"finding '{name}' is derived in a circle")
        self._in_progress.add(name)
        formula = self.conclusions.derived(name, self._fires, Z3)
        self._in_progress.discard(name)
        self._finding[name] = formula
        return formula

    def literal(self, lit: Literal_) -> Any:
        """One literal of a branch: true exactly for the cases where it is true."""
        return encode(lit, self.world)[0]

    def branch_formula(self, rule: RuleSpec, number: int) -> Any:
        """Branch ``number`` of ``rule`` holds."""
        key = (rule.id, number)
        if key not in self.branch:
            self.branch[key] = z3.And([self.literal(lit) for lit in rule.dnf[number]])
        return self.branch[key]

    def condition(self, cond: Condition) -> Any:
        """Any resolved condition (outcome atoms included) is true."""
        return encode(cond, self.world)[0]

    def definitely(self, cond: Condition) -> tuple[Any, Any]:
        """(true, false) formulas of a resolved condition: neither holds where it is unknown."""
        return encode(cond, self.world)

    # -- outcomes -------------------------------------------------------------

    def _outcome(self, kind: str, target: str, build: Callable[[], Any]) -> Any:
        key = (kind, target)
        if key not in self._outcomes:
            self._outcomes[key] = build()
        return self._outcomes[key]

    def triage_at_least(self, level: str) -> Any:
        """The triage is ``level`` or higher."""
        return self._outcome(
            "at_least", level, lambda: self.conclusions.triage_at_least(level, self.fires.__getitem__, Z3)
        )

    def triage_rank(self) -> Any:
        """The triage level's rank as an integer term (0 self_care to 3 emergency)."""
        return self._outcome("rank", "", lambda: self.conclusions.triage(self.fires.__getitem__, Z3))

    def triage_is(self, level: str) -> Any:
        """The triage is exactly ``level``."""
        return self.condition(TriageAtom("==", level))

    def recommended_by_rules(self, rec_id: str) -> Any:
        """Some fired rule recommends ``rec_id`` (before withholding)."""
        return self._outcome(
            "recommended", rec_id, lambda: self.conclusions.recommended(rec_id, self.fires.__getitem__, Z3)
        )

    def withheld(self, rec_id: str) -> Any:
        """Some fired rule withholds ``rec_id``."""
        return self._outcome("withheld", rec_id, lambda: self.conclusions.withheld(rec_id, self.fires.__getitem__, Z3))

    def given(self, rec_id: str) -> Any:
        """``rec_id`` is among the recommendations of the assessment."""
        return self._outcome("given", rec_id, lambda: self.conclusions.given(rec_id, self.fires.__getitem__, Z3))

    def warned(self, rec_id: str) -> Any:
        """``rec_id`` is given with at least one warning from a caution rule."""
        return self._outcome("warned", rec_id, lambda: self.conclusions.warned(rec_id, self.fires.__getitem__, Z3))

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
                    cuts.setdefault(lit.name, set()).update(cut_points(lit))
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

"""``rules verify``: anomaly checks and proofs of the safety invariants.

Anomalies follow the definitions of Preece and Shinghal, CHECK and EVA
(unusable rules, redundancy, conflict, circularity, deficiency). Each is
decided on the declarative meaning of the rules (see :mod:`spasm_advisor.analysis.symbolic`),
over every possible case, unknowns included:

==========================  ========  =============================================
check                       severity  meaning
==========================  ========  =============================================
``never_fires``             error     no case makes any branch of the rule hold
``dead_branch``             warning   one branch of a rule can never hold
``circular_derivation``     error     findings derive each other in a circle
``self_conflict``           error     one rule recommends and withholds the same id
``duplicate_rule``          warning   same condition and same conclusions as another
``subsumed_rule``           warning   whenever it fires, a rule with the same or more
                                      conclusions fires too
``always_withheld``         warning   a recommend rule whose recommendation is
                                      withheld in every case where it fires
``caution_never_shown``     warning   a caution rule that fires only when its
                                      recommendation is not given
``unused_fact``             warning   an input fact no rule reads
``unused_recommendation``   warning   a catalogue entry no rule recommends
``unused_finding``          warning   a derived finding no rule or invariant reads
``gap``                     warning   some case gets no recommendation at all
``unverified_production``   warning   a production rule citing only unverified sources
``hazard_*``                either    the hazard log: broken links are errors, open
                                      hazards warnings (:mod:`~spasm_advisor.analysis.safety_case`)
==========================  ========  =============================================

Recommend and withhold of the same id under overlapping conditions are not a
conflict here: the language declares that a withhold always wins, and the
result says so. Invariants are proved (no counterexample exists) or violated,
with a concrete counterexample case that the experta engine is then run on to
confirm (the proof and the engine must never disagree).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from spasm_advisor.analysis.invariants import holds
from spasm_advisor.analysis.safety_case import build_safety_case
from spasm_advisor.analysis.symbolic import (
    CircularDerivationError,
    FactVariables,
    SymbolicKnowledgeBase,
    fact_space_size,
)
from spasm_advisor.inference.assessment import Assessor
from spasm_advisor.kb.conditions import (
    PYTHON,
    All,
    Any_,
    Conclusions,
    Condition,
    FactTerm,
    FindingRef,
    Not,
    Value,
    literal_truth,
)
from spasm_advisor.kb.model import Invariant, KnowledgeBase, RuleSpec

__all__ = ["Anomaly", "InvariantResult", "VerificationReport", "invariant_formula", "verify"]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomaly, located."""

    check: str
    severity: str
    message: str
    rules: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    example: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "rules": list(self.rules),
            "locations": list(self.locations),
            "example": self.example,
        }


@dataclass(frozen=True, slots=True)
class InvariantResult:
    """The proof status of one invariant."""

    id: str
    title: str
    statement: str
    status: str  # proved | violated
    counterexample: dict[str, Any] | None = None
    engine_confirms: bool | None = None
    location: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "statement": self.statement,
            "status": self.status,
            "counterexample": self.counterexample,
            "engine_confirms": self.engine_confirms,
            "location": self.location,
        }


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Everything ``rules verify`` found."""

    anomalies: tuple[Anomaly, ...]
    invariants: tuple[InvariantResult, ...]
    cases_covered: int | None
    classes_covered: int
    seconds: float
    kb_version: str
    kb_digest: str
    rules_checked: int = 0
    notes: tuple[str, ...] = field(default=())
    timings: tuple[tuple[str, float], ...] = ()  # seconds per phase, in the order they ran

    @property
    def errors(self) -> tuple[Anomaly, ...]:
        """Anomalies of error severity."""
        return tuple(a for a in self.anomalies if a.severity == "error")

    @property
    def warnings(self) -> tuple[Anomaly, ...]:
        """Anomalies of warning severity."""
        return tuple(a for a in self.anomalies if a.severity == "warning")

    @property
    def ok(self) -> bool:
        """No invariant violated and no error anomaly."""
        return not self.errors and all(r.status == "proved" for r in self.invariants)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ok": self.ok,
            "knowledge_base": {"version": self.kb_version, "digest": self.kb_digest},
            "coverage": {
                "cases": self.cases_covered,
                "threshold_classes": self.classes_covered,
                "method": "SMT (z3) over every case",
            },
            "invariants": [r.to_dict() for r in self.invariants],
            "errors": [a.to_dict() for a in self.errors],
            "warnings": [a.to_dict() for a in self.warnings],
            "seconds": round(self.seconds, 3),
            "timings": {phase: round(seconds, 3) for phase, seconds in self.timings},
        }


def _where(rule: RuleSpec) -> str:
    return f"{rule.path}:{rule.line}"


def invariant_formula(sym: SymbolicKnowledgeBase, cond: Condition | None, truth: bool = True) -> Any:
    """A formula for "cond is definitely true" (``truth``) or "definitely false" (None: every case)."""
    if cond is None:
        return z3.BoolVal(truth)
    yes, no = sym.definitely(cond)
    return yes if truth else no


def _smallest_model(sym: SymbolicKnowledgeBase, constraints: list[Any]) -> dict[str, Any] | None:
    """A satisfying case with as few answered facts as possible, or None if none exists."""
    if not _satisfiable(sym, *constraints):
        return None  # a plain solver says so much sooner than the optimiser
    opt = z3.Optimize()
    opt.add(*sym.vars.domain, *constraints)
    for known in sym.vars.known.values():
        opt.add_soft(z3.Not(known))
    if opt.check() != z3.sat:
        return None
    return sym.vars.decode(opt.model())


def _satisfiable(sym: SymbolicKnowledgeBase, *constraints: Any) -> bool:
    solver = sym.solver()
    solver.add(*constraints)
    return bool(solver.check() == z3.sat)


def _finding_cycles(kb: KnowledgeBase) -> list[list[str]]:
    """Strongly connected components (size > 1, or self-loops) of the finding graph."""
    edges: dict[str, set[str]] = {}
    for rule in kb.rules:
        for name in rule.derives:
            edges.setdefault(name, set()).update(f for f in rule.findings_read())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in edges.get(node, ()):
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
            if len(component) > 1 or node in edges.get(node, ()):
                result.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return result


def _structural_anomalies(kb: KnowledgeBase, invariants: list[Invariant]) -> list[Anomaly]:
    found: list[Anomaly] = []
    read_facts = {name for rule in kb.rules for name in rule.facts_read()}
    for name, spec in kb.facts.items():
        if name not in read_facts:
            found.append(
                Anomaly(
                    "unused_fact",
                    "warning",
                    f"fact '{name}' is read by no rule",
                    locations=(f"{spec.path}:{spec.line}",),
                )
            )
    recommended = {a.target for rule in kb.rules for a in rule.actions if a.kind == "recommend"}
    for rec_id, entry in kb.recommendations.items():
        if rec_id not in recommended:
            found.append(
                Anomaly(
                    "unused_recommendation",
                    "warning",
                    f"catalogue entry '{rec_id}' is recommended by no rule",
                    locations=(f"{entry.path}:{entry.line}",),
                )
            )
    read_findings = {name for rule in kb.rules for name in rule.findings_read()}
    read_findings |= {
        c.name for inv in invariants for c in _atoms(inv.given) + _atoms(inv.require) if isinstance(c, FindingRef)
    }
    for rule in kb.rules:
        for name in rule.derives:
            if name not in read_findings:
                found.append(
                    Anomaly(
                        "unused_finding",
                        "warning",
                        f"finding '{name}' is derived but read by no rule or invariant",
                        (rule.id,),
                        (_where(rule),),
                    )
                )
        targets_recommended = {a.target for a in rule.actions if a.kind == "recommend"}
        for action in rule.actions:
            if action.kind == "withhold" and action.target in targets_recommended:
                found.append(
                    Anomaly(
                        "self_conflict",
                        "error",
                        f"rule recommends and withholds '{action.target}'",
                        (rule.id,),
                        (_where(rule),),
                    )
                )
        if rule.provenance.status == "production" and all(not c.verified for c in rule.sources):
            found.append(
                Anomaly(
                    "unverified_production",
                    "warning",
                    "production rule rests only on unverified sources",
                    (rule.id,),
                    (_where(rule),),
                )
            )
    for cycle in _finding_cycles(kb):
        rules = tuple(r.id for r in kb.rules if set(r.derives) & set(cycle))
        found.append(
            Anomaly(
                "circular_derivation",
                "error",
                "findings derive each other in a circle: " + " -> ".join(cycle),
                rules,
                tuple(_where(kb.rule_index[r]) for r in rules),
            )
        )
    return found


def _atoms(cond: Condition | None) -> list[Condition]:
    if isinstance(cond, All | Any_):
        return [a for c in cond.items for a in _atoms(c)]
    if isinstance(cond, Not):
        return _atoms(cond.item)
    return [] if cond is None else [cond]


class _Witness:
    """A case a solver model describes, read from the model only when first needed."""

    def __init__(self, kb: KnowledgeBase, conclusions: Conclusions, sym: SymbolicKnowledgeBase, model: Any) -> None:
        self._args = (kb, conclusions, sym, model)
        self._case: _OneCase | None = None

    @property
    def case(self) -> _OneCase:
        if self._case is None:
            kb, conclusions, sym, model = self._args
            self._case = _OneCase(kb, conclusions, sym.vars.decode(model))
        return self._case


class _OneCase:
    """One concrete case as a world of the condition language, findings by completion, computed lazily.

    Used to refute a candidate anomaly on a witness case before asking the
    solver: a redundancy, a hidden caution or a masked recommendation that a
    single case contradicts needs no proof.
    """

    logic = PYTHON

    def __init__(self, kb: KnowledgeBase, conclusions: Conclusions, case: Mapping[str, Value]) -> None:
        self.kb = kb
        self.conclusions = conclusions
        self.case = case
        self._findings: dict[str, bool] = {}
        self._fires: dict[str, bool] = {}

    def fact(self, name: str) -> FactTerm[bool]:
        value = self.case.get(name)
        return FactTerm(value is not None, value)

    def finding(self, name: str) -> bool:
        if name not in self._findings:
            self._findings[name] = self.conclusions.derived(name, self.fires, PYTHON)
        return self._findings[name]

    def fires(self, rule_id: str) -> bool:
        if rule_id not in self._fires:
            dnf = self.kb.rule_index[rule_id].dnf
            self._fires[rule_id] = any(all(literal_truth(lit, self) for lit in conj) for conj in dnf)
        return self._fires[rule_id]

    def given(self, rec: str) -> bool:
        return self.conclusions.given(rec, self.fires, PYTHON)

    def withheld(self, rec: str) -> bool:
        return self.conclusions.withheld(rec, self.fires, PYTHON)

    def triage_rank(self) -> int:
        return int(self.conclusions.triage(self.fires, PYTHON))


#: Called as ``progress(phase, done, total)`` while ``rules verify`` works.
Progress = Callable[[str, int, int], None]


class _Phases:
    """Where the time goes: seconds per phase, and progress reports within each."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self._phase = ""
        self._start = 0.0

    def start(self, phase: str, total: int = 0) -> None:
        self.stop()
        self._phase, self._start = phase, time.perf_counter()
        self.tick(0, total)

    def tick(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(self._phase, done, total)

    def stop(self) -> None:
        if self._phase:
            self.seconds[self._phase] = self.seconds.get(self._phase, 0.0) + time.perf_counter() - self._start
            self._phase = ""


def _semantic_anomalies(kb: KnowledgeBase, sym: SymbolicKnowledgeBase, phases: _Phases) -> list[Anomaly]:
    found: list[Anomaly] = []
    solver = sym.solver()
    live: dict[str, bool] = {}
    witnesses: dict[str, list[_Witness]] = {}
    conclusions = Conclusions(kb.rules)
    phases.start("branches", len(kb.rules))
    for count, rule in enumerate(kb.rules, 1):
        dead = []
        for number in range(len(rule.dnf)):
            solver.push()
            solver.add(sym.branch_formula(rule, number))
            if solver.check() != z3.sat:
                dead.append(number)
            else:
                witnesses.setdefault(rule.id, []).append(_Witness(kb, conclusions, sym, solver.model()))
            solver.pop()
        live[rule.id] = len(dead) < len(rule.dnf)
        if not live[rule.id]:
            found.append(
                Anomaly("never_fires", "error", "no case can make this rule fire", (rule.id,), (_where(rule),))
            )
        else:
            for number in dead:
                found.append(
                    Anomaly(
                        "dead_branch",
                        "warning",
                        f"branch {number + 1} of the condition can never hold",
                        (rule.id,),
                        (_where(rule),),
                    )
                )
        if count % 100 == 0:
            phases.tick(count, len(kb.rules))

    rules = [r for r in kb.rules if live[r.id]]
    position = {rule.id: i for i, rule in enumerate(kb.rules)}
    concluding: dict[str, frozenset[tuple[str, str]]] = {
        r.id: frozenset((a.kind, a.target) for a in r.actions) for r in rules
    }
    having: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for conclusion in concluding[rule.id]:
            having.setdefault(conclusion, set()).add(rule.id)

    def implies(small: str, big: str) -> bool:
        """Whenever ``small`` fires, ``big`` fires: refuted on a witness if possible, else proved."""
        if any(not witness.case.fires(big) for witness in witnesses[small]):
            return False
        solver.push()
        solver.add(sym.fires[small], z3.Not(sym.fires[big]))
        result = bool(solver.check() != z3.sat)
        solver.pop()
        return result

    phases.start("redundancy", len(rules))
    for count, small in enumerate(rules, 1):
        mine = concluding[small.id]
        candidates = set.intersection(*(having[c] for c in mine)) - {small.id}
        for big_id in sorted(candidates, key=position.__getitem__):
            big = kb.rule_index[big_id]
            if not implies(small.id, big_id):
                continue
            if mine == concluding[big_id]:
                same = implies(big_id, small.id)
                if same and small.id > big_id:
                    continue  # report each duplicate pair once
                if same:
                    found.append(
                        Anomaly(
                            "duplicate_rule",
                            "warning",
                            f"same condition and conclusions as rule '{big_id}'",
                            (small.id, big_id),
                            (_where(small), _where(big)),
                        )
                    )
                    continue
            found.append(
                Anomaly(
                    "subsumed_rule",
                    "warning",
                    f"whenever it fires, rule '{big_id}' fires with the same conclusions",
                    (small.id, big_id),
                    (_where(small), _where(big)),
                )
            )
        if count % 100 == 0:
            phases.tick(count, len(rules))

    phases.start("cautions and withholds", len(rules))
    for count, small in enumerate(rules, 1):
        for action in small.actions:
            if action.kind != "caution":
                continue
            if any(witness.case.given(action.target) for witness in witnesses[small.id]):
                continue  # shown on a witness case
            solver.push()
            solver.add(sym.fires[small.id], sym.given(action.target))
            shown = solver.check() == z3.sat
            solver.pop()
            if not shown:
                found.append(
                    Anomaly(
                        "caution_never_shown",
                        "warning",
                        f"the warning on '{action.target}' can never be shown: "
                        f"whenever this rule fires, '{action.target}' is not given",
                        (small.id,),
                        (_where(small),),
                    )
                )
        own_withholds = {a.target for a in small.actions if a.kind == "withhold"}
        for action in small.actions:
            if action.kind != "recommend" or action.target in own_withholds:
                continue  # a rule withholding its own recommendation is reported as self_conflict
            if any(not witness.case.withheld(action.target) for witness in witnesses[small.id]):
                continue  # given on a witness case
            solver.push()
            solver.add(sym.fires[small.id], z3.Not(sym.withheld(action.target)))
            masked = solver.check() != z3.sat
            solver.pop()
            if masked:
                found.append(
                    Anomaly(
                        "always_withheld",
                        "warning",
                        f"'{action.target}' is withheld in every case where this rule recommends it",
                        (small.id,),
                        (_where(small),),
                    )
                )
        if count % 100 == 0:
            phases.tick(count, len(rules))

    phases.start("gap")
    anything = z3.Or([sym.given(rec_id) for rec_id in kb.recommendations])
    example = _smallest_model(sym, [z3.Not(anything)])
    if example is not None:
        found.append(Anomaly("gap", "warning", "some cases get no recommendation at all", example=example))
    return found


def verify(assessor: Assessor, *, progress: Progress | None = None) -> VerificationReport:
    """Check a knowledge base: anomalies, and every invariant over every case.

    ``assessor`` (an :class:`~spasm_advisor.Advisor`) holds the knowledge base
    and assesses each counterexample, to confirm that the engine violates the
    invariant there too. ``progress``, if given, is called as
    ``progress(phase, done, total)`` as the work goes (``total`` 0 when the
    phase is one step); the report gives the seconds spent in each phase.
    """
    start = time.perf_counter()
    phases = _Phases(progress)
    kb = assessor.knowledge_base
    invariants = list(kb.invariants)
    phases.start("structure")
    anomalies = _structural_anomalies(kb, invariants)
    results: list[InvariantResult] = []
    if not any(a.check == "circular_derivation" for a in anomalies):
        phases.start("encoding")
        try:
            sym = SymbolicKnowledgeBase(kb, FactVariables(kb.facts))
        except CircularDerivationError as exc:  # pragma: no cover - caught structurally above
            anomalies.append(Anomaly("circular_derivation", "error", str(exc)))
        else:
            anomalies += _semantic_anomalies(kb, sym, phases)
            phases.start("invariants", len(invariants))
            for count, inv in enumerate(invariants, 1):
                violation = [invariant_formula(sym, inv.given, True), z3.Not(invariant_formula(sym, inv.require, True))]
                example = _smallest_model(sym, violation)
                if example is None:
                    results.append(
                        InvariantResult(inv.id, inv.title, inv.describe(), "proved", location=f"{inv.path}:{inv.line}")
                    )
                else:
                    confirmed = not holds(inv, assessor.assess(example))
                    results.append(
                        InvariantResult(
                            inv.id, inv.title, inv.describe(), "violated", example, confirmed, f"{inv.path}:{inv.line}"
                        )
                    )
                phases.tick(count, len(invariants))
            # The hazard log: its controls against these proofs, its tests against the engine.
            phases.start("hazard log")
            safety = build_safety_case(assessor, {r.id: r.status for r in results})
            anomalies += [Anomaly(f.check, f.severity, f.message, f.rules, f.locations) for f in safety.findings]
    phases.stop()
    cases, classes = fact_space_size(kb)
    order = {"error": 0, "warning": 1}
    anomalies.sort(key=lambda a: (order[a.severity], a.check, a.rules))
    return VerificationReport(
        anomalies=tuple(anomalies),
        invariants=tuple(results),
        cases_covered=cases,
        classes_covered=classes,
        seconds=time.perf_counter() - start,
        kb_version=kb.version,
        kb_digest=kb.digest,
        rules_checked=len(kb.rules),
        timings=tuple(phases.seconds.items()),
    )


def _case_text(case: dict[str, Any] | None) -> str:
    if not case:
        return "{} (every fact unknown)"
    return "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in case.items()) + "}"


def render_verification(report: VerificationReport) -> str:
    """The report as text: invariants, errors, then warnings, then coverage."""
    lines = [f"Invariants ({len(report.invariants)}):"]
    for inv in report.invariants:
        mark = "PROVED  " if inv.status == "proved" else "VIOLATED"
        lines.append(f"  {mark} {inv.id}: {inv.title}")
        if inv.status == "violated":
            lines.append(f"           counterexample: {_case_text(inv.counterexample)}")
            confirm = "the engine gives the same violation" if inv.engine_confirms else "THE ENGINE DISAGREES"
            lines.append(f"           {confirm} ({inv.location})")
    for title, items in (("Errors", report.errors), ("Warnings", report.warnings)):
        lines += ["", f"{title} ({len(items)}):"]
        for anomaly in items:
            where = f" [{', '.join(anomaly.locations)}]" if anomaly.locations else ""
            rules = f" {', '.join(anomaly.rules)}:" if anomaly.rules else ""
            lines.append(f"  {anomaly.check}:{rules} {anomaly.message}{where}")
            if anomaly.example is not None:
                lines.append(f"      e.g. {_case_text(anomaly.example)}")
    cases = "an unbounded number of" if report.cases_covered is None else f"{report.cases_covered:.3g}"
    lines += [
        "",
        f"Covered every possible case ({cases} cases; {report.classes_covered:.3g} threshold classes), "
        f"unknowns included, by SMT proof over {report.rules_checked} rules in {report.seconds:.2f} s.",
    ]
    if report.timings:
        lines.append(
            "Time by phase: " + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in report.timings) + "."
        )
    lines.append("OK" if report.ok else "FAILED: an invariant is violated or an error anomaly exists")
    return "\n".join(lines) + "\n"

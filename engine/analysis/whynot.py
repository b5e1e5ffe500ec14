"""Why a case did not get a recommendation (``spasm-advisor why-not``).

For every rule that could recommend the id, each branch of its condition is
shown with the literals that held and those that failed, with the fact values
that made them fail ("unknown" where unanswered). If a rule withheld the id,
that rule and its reason are given. Where z3 is installed, the smallest set
of changes to the case that would produce the recommendation is computed over
every possible case, with ties broken canonically (see :func:`_smallest_changes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import EngineError
from spasm_advisor.inference.assessment import Assessor
from spasm_advisor.io.case import Case
from spasm_advisor.kb.conditions import FindingRef, Known, literal_holds, render, render_value
from spasm_advisor.kb.model import FactSpec, KnowledgeBase

__all__ = ["BranchCheck", "LiteralCheck", "WhyNot", "why_not"]


@dataclass(frozen=True, slots=True)
class LiteralCheck:
    """One literal of a branch and whether it held for the case."""

    condition: str
    holds: bool
    fact: str | None
    value: Any  # the case's value; None when unanswered or a finding
    unknown: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "condition": self.condition,
            "holds": self.holds,
            "fact": self.fact,
            "value": "unknown" if self.unknown else self.value,
        }


@dataclass(frozen=True, slots=True)
class BranchCheck:
    """One branch of a candidate rule."""

    rule: str
    title: str
    branch: int
    holds: bool
    literals: tuple[LiteralCheck, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rule": self.rule,
            "title": self.title,
            "branch": self.branch + 1,
            "holds": self.holds,
            "literals": [lit.to_dict() for lit in self.literals],
        }


@dataclass(frozen=True, slots=True)
class WhyNot:
    """The answer to "why not REC_ID?"."""

    rec_id: str
    status: str  # given | withheld | not_recommended
    withheld_by: tuple[tuple[str, str], ...]
    candidates: tuple[BranchCheck, ...]
    changes: tuple[tuple[str, Any, Any], ...] | None
    note: str | None = None
    #: Questions a withholding rule needs answered (it holds because they are
    #: unanswered), each as (fact, question text).
    questions: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.rec_id,
            "status": self.status,
            "withheld_by": [{"rule": r, "reason": reason} for r, reason in self.withheld_by],
            "questions": [{"fact": f, "question": q} for f, q in self.questions],
            "candidates": [c.to_dict() for c in self.candidates],
            "smallest_changes": None
            if self.changes is None
            else [
                {"fact": f, "from": "unknown" if old is None else old, "to": "unknown" if new is None else new}
                for f, old, new in self.changes
            ],
            "note": self.note,
        }


def _smallest_value(solver: Any, spec: FactSpec, var: Any) -> Any:
    """The smallest value ``var`` can take under ``solver`` (by the fact's own order of values)."""
    import z3

    if spec.type in ("boolean", "enum"):
        options = [False, True] if spec.type == "boolean" else list(range(len(spec.values)))
        for option in options:
            if solver.check(var == option) == z3.sat:
                return option
        raise AssertionError("no value although the constraints are satisfiable")  # pragma: no cover
    opt = z3.Optimize()
    opt.add(solver.assertions())
    # With no minimum there is no smallest integer: take the one nearest zero (0, -1, 1, -2, ...).
    opt.minimize(var if spec.minimum is not None else z3.If(var >= 0, 2 * var, -2 * var - 1))
    opt.check()
    return opt.model().evaluate(var, model_completion=True)


def _smallest_changes(
    kb: KnowledgeBase, case: dict[str, Any], rec_id: str
) -> tuple[tuple[tuple[str, Any, Any], ...] | None, str | None]:
    """The fewest changes to the case that give ``rec_id``, chosen canonically among equally few.

    Among the smallest sets of changes, the one whose changed facts come first
    in vocabulary order wins, then the smallest new values (no, then yes; an
    enum's values in their listed order; the smallest integer): the same case
    always gets the same answer, whatever the solver happened to do before.
    """
    try:
        import z3

        from spasm_advisor.analysis.symbolic import SymbolicKnowledgeBase
    except ImportError:
        return None, "install the 'audit' extra (z3-solver) to compute the smallest changes"
    sym = SymbolicKnowledgeBase(kb)
    solver = z3.Solver()
    solver.add(*sym.vars.domain, sym.given(rec_id))
    changed: dict[str, Any] = {}
    for name in kb.facts:
        known = sym.vars.known[name]
        if case.get(name) is None:
            changed[name] = known
        else:
            # An answer can change, but is never taken back to "unknown".
            solver.add(known)
            changed[name] = sym.vars.value[name] != sym.vars.encode_value(name, case[name])
    if solver.check() != z3.sat:
        return None, f"no case at all gets '{rec_id}'"
    flags = list(changed.values())
    fewest = next(k for k in range(len(flags) + 1) if solver.check(z3.AtMost(*flags, k)) == z3.sat)
    solver.add(z3.AtMost(*flags, fewest))
    chosen = []
    for name, flag in changed.items():  # earliest facts first: the lexicographically smallest set
        if solver.check(flag) == z3.sat:
            solver.add(flag)
            chosen.append(name)
        else:
            solver.add(z3.Not(flag))
    for name in chosen:
        var = sym.vars.value[name]
        solver.add(var == _smallest_value(solver, kb.facts[name], var))
    solver.check()
    new_case = sym.vars.decode(solver.model())
    changes = tuple(
        (name, case.get(name), new_case.get(name)) for name in kb.facts if case.get(name) != new_case.get(name)
    )
    return changes, None


def why_not(assessor: Assessor, facts: Any, rec_id: str, *, changes: bool = True) -> WhyNot:
    """Explain why ``rec_id`` was (or was not) recommended for a case.

    ``assessor`` (an :class:`~spasm_advisor.Advisor`) gives the knowledge base
    and assesses the case.
    """
    kb = assessor.knowledge_base
    if rec_id not in kb.recommendations:
        raise EngineError(f"unknown recommendation '{rec_id}'{did_you_mean(rec_id, kb.recommendations)}")
    case = facts if isinstance(facts, Case) else Case.from_mapping(facts, kb)
    result = assessor.assess(case)
    findings = set(result.findings)
    values = dict(case)
    withheld = tuple((w.rule, w.reason) for w in result.withheld if w.id == rec_id)
    status = "given" if rec_id in result.recommendation_ids() else ("withheld" if withheld else "not_recommended")
    # A withhold that holds because a question is unanswered names that question.
    unanswered: dict[str, str] = {}
    for rule_id in dict.fromkeys(rule for rule, _ in withheld):
        for literals in kb.rule_index[rule_id].dnf:
            if all(literal_holds(lit, values, findings) for lit in literals):
                for lit in literals:
                    if isinstance(lit, Known) and not lit.known:
                        unanswered.setdefault(lit.name, kb.facts[lit.name].question)
    candidates = []
    for rule in kb.rules:
        if not any(a.kind == "recommend" and a.target == rec_id for a in rule.actions):
            continue
        for number, literals in enumerate(rule.dnf):
            checks = []
            for lit in literals:
                held = literal_holds(lit, values, findings)
                if isinstance(lit, FindingRef):
                    checks.append(LiteralCheck(render(lit), held, None, None, False))
                else:
                    value = values.get(lit.name)
                    checks.append(LiteralCheck(render(lit), held, lit.name, value, value is None))
            candidates.append(BranchCheck(rule.id, rule.title, number, all(c.holds for c in checks), tuple(checks)))
    found_changes, note = (None, None)
    if changes and status != "given":
        found_changes, note = _smallest_changes(kb, values, rec_id)
    return WhyNot(rec_id, status, withheld, tuple(candidates), found_changes, note, tuple(unanswered.items()))


def render_why_not(answer: WhyNot) -> str:
    """The answer as text."""
    show = render_value
    lines = []
    if answer.status == "given":
        lines.append(f"'{answer.rec_id}' IS recommended for this case.")
    elif answer.status == "withheld":
        lines.append(f"'{answer.rec_id}' is withheld:")
        lines += [f"  - rule {rule}: {reason}" for rule, reason in answer.withheld_by]
        if answer.questions:
            lines += ["", "Not yet checked: answer these questions first:"]
            lines += [f"  - {question} ({fact})" for fact, question in answer.questions]
    else:
        lines.append(f"'{answer.rec_id}' is not recommended: no rule recommending it fired.")
    if answer.candidates:
        lines += ["", "Rules that could recommend it:"]
    for branch in answer.candidates:
        state = "holds" if branch.holds else "fails"
        lines.append(f"  rule {branch.rule} (branch {branch.branch + 1}) {state}: {branch.title}")
        for lit in branch.literals:
            mark = "ok  " if lit.holds else "FAIL"
            value = f" ({lit.fact} = {show(lit.value)})" if lit.fact and not lit.holds else ""
            lines.append(f"    [{mark}] {lit.condition}{value}")
    if answer.changes is not None:
        lines += ["", "Smallest change to the case that would give it:" if answer.changes else "No change needed."]
        lines += [f"  - {fact}: {show(old)} -> {show(new)}" for fact, old, new in answer.changes]
    if answer.note:
        lines += ["", answer.note]
    return "\n".join(lines) + "\n"

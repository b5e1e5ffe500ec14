"""``rules diff``: what changes between two versions of a knowledge base.

Two parts. The structural diff lists rules, catalogue entries and facts added,
removed and changed. The behavioural diff is computed over every possible
case (as ``rules verify`` is): for the triage, each recommendation, withheld
item, warning and derived finding (everything an assessment reports but the
explanations), it finds every region of cases where the old and new versions
answer differently, describes it as a condition (a conjunction of fact
literals, widened as far as the difference still holds for every case in it)
and gives one concrete example case per region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import z3

from spasm_advisor.analysis.symbolic import FactVariables, SymbolicKnowledgeBase
from spasm_advisor.kb.conditions import All, Any_, Comparison, Condition, Known, cut_points, render
from spasm_advisor.kb.model import TRIAGE_LEVELS, FactSpec, KnowledgeBase, RuleSpec

__all__ = ["BehaviourChange", "KnowledgeBaseDiff", "diff_knowledge_bases"]

MAX_REGIONS = 6


@dataclass(frozen=True, slots=True)
class BehaviourChange:
    """One region of cases whose outcome differs."""

    aspect: str  # "triage" or "recommends X" or "withholds X"
    old: str
    new: str
    condition: str
    example: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "aspect": self.aspect,
            "old": self.old,
            "new": self.new,
            "when": self.condition,
            "example": self.example,
        }


@dataclass(frozen=True, slots=True)
class KnowledgeBaseDiff:
    """Structural and behavioural differences between two knowledge bases."""

    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]
    rules_changed: tuple[tuple[str, tuple[str, ...]], ...]
    catalogue_added: tuple[str, ...]
    catalogue_removed: tuple[str, ...]
    catalogue_changed: tuple[str, ...]
    facts_added: tuple[str, ...]
    facts_removed: tuple[str, ...]
    behaviour: tuple[BehaviourChange, ...]
    truncated: tuple[str, ...] = ()
    facts_changed: tuple[str, ...] = ()  # facts whose values (type, choices or range) changed

    @property
    def behaviour_changed(self) -> bool:
        """Whether any case is assessed differently."""
        return bool(self.behaviour)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "behaviour_changed": self.behaviour_changed,
            "rules": {
                "added": list(self.rules_added),
                "removed": list(self.rules_removed),
                "changed": [{"id": i, "fields": list(f)} for i, f in self.rules_changed],
            },
            "catalogue": {
                "added": list(self.catalogue_added),
                "removed": list(self.catalogue_removed),
                "changed": list(self.catalogue_changed),
            },
            "facts": {
                "added": list(self.facts_added),
                "removed": list(self.facts_removed),
                "changed": list(self.facts_changed),
            },
            "behaviour": [b.to_dict() for b in self.behaviour],
            "regions_truncated_for": list(self.truncated),
        }


def _rule_fields(rule: RuleSpec) -> dict[str, Any]:
    return {
        "title": rule.title,
        "when": render(rule.condition),
        "then": rule.actions,
        "because": rule.because,
        "sources": rule.sources,
        "evidence": rule.evidence,
        "provenance": rule.provenance,
    }


class _Region:
    """Builds and widens the condition describing a region around an example case.

    Each fact contributes a set of allowed statuses (unknown, or values). The
    example pins every fact; widening then relaxes one fact at a time, to all
    statuses if the difference still holds on the whole region, else to two
    (e.g. "numbness is not yes": unknown or no), else keeps it pinned.
    """

    def __init__(self, variables: FactVariables, cuts: dict[str, list[int]]) -> None:
        self.vars = variables
        self.cuts = cuts

    def _options(self, name: str, value: Any) -> list[tuple[str | None, Any]]:
        """Candidate regions for one fact, widest first; the last one pins the example."""
        spec = self.vars.facts[name]
        unknown, known = Known(name, False), Known(name, True)
        options: list[tuple[str | None, Condition | None]] = [(None, None)]
        if spec.type == "boolean":
            yes, no = Comparison(name, "==", True), Comparison(name, "==", False)
            not_yes, not_no = Any_((unknown, no)), Any_((unknown, yes))
            if value is None:
                options += [(f"{name} is not yes", not_yes), (f"{name} is not no", not_no), (render(unknown), unknown)]
            elif value:
                options += [(f"{name} is not no", not_no), (render(known), known), (render(yes), yes)]
            else:
                options += [(f"{name} is not yes", not_yes), (render(known), known), (render(no), no)]
        elif value is None:
            options.append((render(unknown), unknown))
        elif spec.type == "enum":
            options += [(render(known), known), (f"{name} == {value}", Comparison(name, "==", value))]
        else:
            points = self.cuts.get(name, [])
            lower = max((p for p in points if p <= value), default=None)
            upper = min((p for p in points if p > value), default=None)
            bounds = [Comparison(name, ">=", lower)] if lower is not None else []
            bounds += [Comparison(name, "<", upper)] if upper is not None else []
            options.append((" and ".join(render(b) for b in bounds) or render(known), All((known, *bounds))))
        return [(text, z3.BoolVal(True) if cond is None else self.vars.condition(cond)) for text, cond in options]

    def widen(self, differ: Any, case: dict[str, Any]) -> tuple[str, Any]:
        """The widest region around ``case`` (greedily, fact by fact) inside ``differ``."""
        solver = z3.Solver()
        solver.add(*self.vars.domain, z3.Not(differ))
        per_fact = {name: self._options(name, case.get(name)) for name in self.vars.facts}
        chosen = {name: options[-1] for name, options in per_fact.items()}
        for name, options in per_fact.items():
            for option in options[:-1]:
                trial = {**chosen, name: option}
                # The region is inside `differ` when no case in it escapes.
                if solver.check(*[f for _, f in trial.values()]) == z3.unsat:
                    chosen[name] = option
                    break
        shown = [text for text, _ in chosen.values() if text]
        # Readability: "no red flag answered yes" instead of one line per red flag.
        flags = [f"{name} is not yes" for name, spec in self.vars.facts.items() if spec.role == "red_flag"]
        if flags and all(flag in shown for flag in flags):
            first = shown.index(flags[0])
            shown = [t for t in shown if t not in flags]
            shown.insert(first, "no red flag answered yes")
        formula = z3.And([f for _, f in chosen.values()])
        return (" and ".join(shown) or "every case"), formula


def _cuts(*kbs: KnowledgeBase) -> dict[str, list[int]]:
    found: dict[str, set[int]] = {}
    for kb in kbs:
        for rule in kb.rules:
            for conj in rule.dnf:
                for lit in conj:
                    if isinstance(lit, Comparison) and kb.facts[lit.name].type == "integer":
                        found.setdefault(lit.name, set()).update(cut_points(lit))
    return {k: sorted(v) for k, v in found.items()}


def _domain(spec: FactSpec) -> tuple[Any, ...]:
    return (spec.type, spec.values, spec.minimum, spec.maximum)


class _HasKnowledgeBase(Protocol):
    @property
    def knowledge_base(self) -> KnowledgeBase: ...


def diff_knowledge_bases(
    old: KnowledgeBase | _HasKnowledgeBase, new: KnowledgeBase | _HasKnowledgeBase
) -> KnowledgeBaseDiff:
    """Compare two knowledge bases (or advisors), structurally and over every case.

    The behaviour is compared over the cases both versions accept: a fact both
    have takes the values both allow (see :class:`~spasm_advisor.analysis.symbolic.FactVariables`);
    a fact only one has is free, and the other version ignores it.
    """
    old_kb = old if isinstance(old, KnowledgeBase) else old.knowledge_base
    new_kb = new if isinstance(new, KnowledgeBase) else new.knowledge_base
    old_rules, new_rules = old_kb.rule_index, new_kb.rule_index
    changed = []
    for rule_id in sorted(set(old_rules) & set(new_rules)):
        a, b = _rule_fields(old_rules[rule_id]), _rule_fields(new_rules[rule_id])
        fields = tuple(k for k in a if a[k] != b[k])
        if fields:
            changed.append((rule_id, fields))

    def strip(spec: Any) -> Any:
        return {k: getattr(spec, k) for k in spec.__slots__ if k not in ("path", "line")}

    variables = FactVariables(new_kb.facts, also=[old_kb.facts])
    old_sym = SymbolicKnowledgeBase(old_kb, variables)
    new_sym = SymbolicKnowledgeBase(new_kb, variables)
    region = _Region(variables, _cuts(old_kb, new_kb))

    aspects: list[tuple[str, str, str, Any]] = []
    for lo in TRIAGE_LEVELS:
        for hi in TRIAGE_LEVELS:
            if lo != hi:
                aspects.append(("triage", lo, hi, z3.And(old_sym.triage_is(lo), new_sym.triage_is(hi))))
    pairs: list[tuple[str, Any, Any]] = []
    for rec_id in sorted(set(old_kb.recommendations) | set(new_kb.recommendations)):
        in_old, in_new = rec_id in old_kb.recommendations, rec_id in new_kb.recommendations
        pairs.append(
            (
                f"recommends {rec_id}",
                old_sym.given(rec_id) if in_old else z3.BoolVal(False),
                new_sym.given(rec_id) if in_new else z3.BoolVal(False),
            )
        )
        pairs.append((f"withholds {rec_id}", old_sym.withheld(rec_id), new_sym.withheld(rec_id)))
        pairs.append((f"warns on {rec_id}", old_sym.warned(rec_id), new_sym.warned(rec_id)))
    for finding in sorted(old_kb.findings | new_kb.findings):
        pairs.append((f"finding {finding}", old_sym.finding(finding), new_sym.finding(finding)))
    for name, old_f, new_f in pairs:
        aspects.append((name, "yes", "no", z3.And(old_f, z3.Not(new_f))))
        aspects.append((name, "no", "yes", z3.And(z3.Not(old_f), new_f)))

    behaviour: list[BehaviourChange] = []
    truncated: list[str] = []
    for aspect, was, now, differ in aspects:
        solver = z3.Solver()
        solver.add(*variables.domain, differ)
        for count in range(MAX_REGIONS + 1):
            if solver.check() != z3.sat:
                break
            if count == MAX_REGIONS:
                truncated.append(aspect)
                break
            example = variables.decode(solver.model())
            text, formula = region.widen(differ, example)
            behaviour.append(BehaviourChange(aspect, was, now, text, _minimal_example(variables, differ, formula)))
            solver.add(z3.Not(formula))

    return KnowledgeBaseDiff(
        rules_added=tuple(sorted(set(new_rules) - set(old_rules))),
        rules_removed=tuple(sorted(set(old_rules) - set(new_rules))),
        rules_changed=tuple(changed),
        catalogue_added=tuple(sorted(set(new_kb.recommendations) - set(old_kb.recommendations))),
        catalogue_removed=tuple(sorted(set(old_kb.recommendations) - set(new_kb.recommendations))),
        catalogue_changed=tuple(
            sorted(
                r
                for r in set(old_kb.recommendations) & set(new_kb.recommendations)
                if strip(old_kb.recommendations[r]) != strip(new_kb.recommendations[r])
            )
        ),
        facts_added=tuple(sorted(set(new_kb.facts) - set(old_kb.facts))),
        facts_removed=tuple(sorted(set(old_kb.facts) - set(new_kb.facts))),
        facts_changed=tuple(
            sorted(
                name
                for name in set(old_kb.facts) & set(new_kb.facts)
                if _domain(old_kb.facts[name]) != _domain(new_kb.facts[name])
            )
        ),
        behaviour=tuple(behaviour),
        truncated=tuple(truncated),
    )


def _minimal_example(variables: FactVariables, differ: Any, region: Any) -> dict[str, Any]:
    """An example inside the region with as few answered facts as possible."""
    opt = z3.Optimize()
    opt.add(*variables.domain, differ, region)
    for known in variables.known.values():
        opt.add_soft(z3.Not(known))
    opt.check()
    return variables.decode(opt.model())


def render_diff(result: KnowledgeBaseDiff) -> str:
    """The diff as text."""
    lines = []
    for label, items in (
        ("Rules added", result.rules_added),
        ("Rules removed", result.rules_removed),
        ("Catalogue entries added", result.catalogue_added),
        ("Catalogue entries removed", result.catalogue_removed),
        ("Catalogue entries changed", result.catalogue_changed),
        ("Facts added", result.facts_added),
        ("Facts removed", result.facts_removed),
        ("Facts with changed values", result.facts_changed),
    ):
        if items:
            lines.append(f"{label}: {', '.join(items)}")
    for rule_id, fields in result.rules_changed:
        lines.append(f"Rule changed: {rule_id} ({', '.join(fields)})")
    if not lines:
        lines.append("No rule, catalogue or fact changes.")
    lines.append("")
    if result.facts_changed:
        lines.append(
            f"Behaviour is compared over the cases both versions accept ({', '.join(result.facts_changed)}: "
            "the values both allow)."
        )
    if not result.behaviour:
        lines.append("Behaviour: unchanged for every possible case.")
    else:
        lines.append(f"Behaviour: {len(result.behaviour)} region(s) of cases are assessed differently:")
        for change in result.behaviour:
            lines.append(f"  - {change.aspect}: {change.old} -> {change.new}")
            lines.append(f"      when {change.condition}")
            lines.append(f"      e.g. {change.example}")
        for aspect in result.truncated:
            lines.append(f"  (more regions for '{aspect}' not listed)")
    return "\n".join(lines) + "\n"

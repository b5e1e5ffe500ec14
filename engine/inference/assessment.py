"""The result of an assessment and how it is assembled from a firing trace.

An :class:`Assessment` is immutable. ``to_dict()`` gives the JSON contract:
``triage``, ``recommendations``, ``withheld``, ``unanswered_red_flags``,
``fired_rules`` and ``knowledge_base``, plus ``findings``,
``triage_explanation``, ``case`` and ``notice``. Each explanation is a chain
of :class:`Derivation` nodes from the concluding rule down to input facts.

An :class:`AssessmentSummary` is the same outcome without the explanations
(what a batch summary record holds); :meth:`Assembler.summarise` builds one
without building any explanation, and :meth:`Assessment.summary` gives the
same from a full assessment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from spasm_advisor.inference.compiler import Branch
from spasm_advisor.io.case import Case
from spasm_advisor.kb.conditions import Conclusions, FindingRef, Literal_, Value, holds_unanswered, render
from spasm_advisor.kb.model import CATEGORIES, TRIAGE_LEVELS, KnowledgeBase, Region, RuleSpec
from spasm_advisor.kb.person_text import fill, resolve_region

__all__ = [
    "NOTICE",
    "Assembler",
    "Assessment",
    "AssessmentSummary",
    "Assessor",
    "CitedSource",
    "Derivation",
    "Recommendation",
    "Warning_",
    "Withheld",
    "assemble",
]

NOTICE = (
    "Spasm Advisor gives general information, not medical advice or a diagnosis. "
    "If symptoms are severe, new or getting worse, contact a clinician; "
    "in an emergency call your local emergency number."
)


@dataclass(frozen=True, slots=True)
class CitedSource:
    """A source as cited by a rule."""

    id: str
    title: str
    ref: str | None
    verified: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "title": self.title, "ref": self.ref, "verified": self.verified}


@dataclass(frozen=True, slots=True)
class Derivation:
    """One rule in an explanation: what it matched and what it rests on.

    ``facts`` holds only answered input facts with their values; a condition
    on an unanswered fact (``x is unknown``) is listed in ``conditions`` and
    its fact in ``unanswered``, never with a value.
    """

    rule: str
    title: str
    because: str
    sources: tuple[CitedSource, ...]
    conditions: tuple[str, ...]
    facts: tuple[tuple[str, Value], ...]
    unanswered: tuple[str, ...]
    findings: tuple[str, ...]
    absent_findings: tuple[str, ...]
    derived_from: tuple[Derivation, ...]

    def rules(self) -> list[str]:
        """Every rule id in this chain, depth first."""
        out = [self.rule]
        for child in self.derived_from:
            out.extend(child.rules())
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rule": self.rule,
            "title": self.title,
            "because": self.because,
            "sources": [s.to_dict() for s in self.sources],
            "conditions": list(self.conditions),
            "facts": dict(self.facts),
            "unanswered": list(self.unanswered),
            "findings": list(self.findings),
            "absent_findings": list(self.absent_findings),
            "derived_from": [d.to_dict() for d in self.derived_from],
        }


@dataclass(frozen=True, slots=True)
class Warning_:
    """A caution attached to a recommendation by a rule."""

    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A recommendation given, with its evidence and why it was given."""

    id: str
    category: str
    title: str
    advice: str
    evidence: tuple[Mapping[str, Any], ...]
    sources: tuple[str, ...]
    cautions: tuple[str, ...]
    warnings: tuple[Warning_, ...]
    explanation: tuple[Derivation, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "category": self.category,
            "title": self.title,
            "advice": self.advice,
            "evidence": [dict(e) for e in self.evidence],
            "sources": list(self.sources),
            "cautions": list(self.cautions),
            "warnings": [w.to_dict() for w in self.warnings],
            "explanation": [d.to_dict() for d in self.explanation],
        }


@dataclass(frozen=True, slots=True)
class Withheld:
    """A recommendation a contraindication rule withholds, with the rule and reason."""

    id: str
    title: str
    reason: str
    rule: str
    recommended_by: tuple[str, ...]
    explanation: Derivation

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "reason": self.reason,
            "rule": self.rule,
            "recommended_by": list(self.recommended_by),
            "explanation": self.explanation.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class AssessmentSummary:
    """The outcome of an assessment without its explanations, evidence or case.

    Every field equals the corresponding part of the full :class:`Assessment`
    of the same case: ``recommendations`` are ``(id, category)`` in output
    order, ``withheld`` is ``(id, rule, reason)`` for each withholding rule.
    """

    triage: str
    recommendations: tuple[tuple[str, str], ...]
    withheld: tuple[tuple[str, str, str], ...]
    unanswered_red_flags: tuple[str, ...]
    findings: tuple[str, ...]
    fired_rules: tuple[str, ...]
    kb_version: str
    kb_digest: str

    def recommendation_ids(self) -> tuple[str, ...]:
        """Ids of the recommendations given, in output order."""
        return tuple(rec_id for rec_id, _ in self.recommendations)

    def withheld_ids(self) -> tuple[str, ...]:
        """Ids of withheld recommendations (each once)."""
        return tuple(dict.fromkeys(rec_id for rec_id, _, _ in self.withheld))


@dataclass(frozen=True, slots=True)
class Assessment:
    """The outcome of assessing one case: triage, recommendations and why.

    ``region`` is the region whose emergency number the person-facing texts
    carry (None when the knowledge base names no region); it is not part of
    the JSON contract.
    """

    triage: str
    recommendations: tuple[Recommendation, ...]
    withheld: tuple[Withheld, ...]
    unanswered_red_flags: tuple[str, ...]
    fired_rules: tuple[str, ...]
    findings: tuple[str, ...]
    triage_explanation: tuple[Derivation, ...]
    case: tuple[tuple[str, Value], ...]
    kb_version: str
    kb_digest: str
    region: str | None = None

    def recommendation_ids(self) -> tuple[str, ...]:
        """Ids of the recommendations given, in output order."""
        return tuple(r.id for r in self.recommendations)

    def withheld_ids(self) -> tuple[str, ...]:
        """Ids of withheld recommendations (each once)."""
        return tuple(dict.fromkeys(w.id for w in self.withheld))

    def by_category(self, category: str) -> tuple[Recommendation, ...]:
        """Recommendations of one category: relief, therapy or referral."""
        return tuple(r for r in self.recommendations if r.category == category)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract as plain data."""
        return {
            "triage": self.triage,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "withheld": [w.to_dict() for w in self.withheld],
            "unanswered_red_flags": list(self.unanswered_red_flags),
            "fired_rules": list(self.fired_rules),
            "findings": list(self.findings),
            "triage_explanation": [d.to_dict() for d in self.triage_explanation],
            "case": dict(self.case),
            "knowledge_base": {"version": self.kb_version, "digest": self.kb_digest},
            "notice": NOTICE,
        }

    def explain(self) -> dict[str, Any]:
        """The derivation trees of the triage, of each recommendation and of each withheld item.

        Each tree runs from the concluding rule through the rules that derived
        the findings it used, down to input facts.
        """
        return {
            "triage": {"level": self.triage, "derivations": [d.to_dict() for d in self.triage_explanation]},
            "recommendations": [
                {
                    "id": r.id,
                    "category": r.category,
                    "title": r.title,
                    "derivations": [d.to_dict() for d in r.explanation],
                }
                for r in self.recommendations
            ],
            "withheld": [
                {"id": w.id, "title": w.title, "reason": w.reason, "derivations": [w.explanation.to_dict()]}
                for w in self.withheld
            ],
            "unanswered_red_flags": list(self.unanswered_red_flags),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The JSON contract as text (stable: the same case gives the same bytes)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def summary(self) -> AssessmentSummary:
        """This assessment without its explanations, evidence or case."""
        return AssessmentSummary(
            triage=self.triage,
            recommendations=tuple((r.id, r.category) for r in self.recommendations),
            withheld=tuple((w.id, w.rule, w.reason) for w in self.withheld),
            unanswered_red_flags=self.unanswered_red_flags,
            findings=self.findings,
            fired_rules=self.fired_rules,
            kb_version=self.kb_version,
            kb_digest=self.kb_digest,
        )


class Assessor(Protocol):
    """Anything that assesses cases against one knowledge base (an Advisor, a ReferenceInterpreter).

    The analysis tools (why-not, verify, diff) take an assessor, so they
    depend on what an assessment is, not on the engine that makes it.
    """

    @property
    def knowledge_base(self) -> KnowledgeBase:
        """The knowledge base cases are assessed against."""
        ...

    def assess(self, facts: Mapping[str, object] | Case) -> Assessment:
        """Assess one case."""
        ...


@dataclass(frozen=True, slots=True)
class _BranchPlan:
    """What an explanation of one branch needs that does not depend on the case."""

    rule_id: str
    conditions: tuple[str, ...]
    facts: tuple[str, ...]
    unanswered: tuple[str, ...]
    findings: tuple[str, ...]
    absent_findings: tuple[str, ...]


class Assembler:
    """Turns firing traces into assessments for one knowledge base.

    Everything that depends only on the knowledge base (rendered conditions,
    cited sources, catalogue order, red flags) is prepared once, so assembling
    an assessment only looks up the case's values. Build one per knowledge
    base and reuse it; it holds no per-case state.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        """Prepare the per-rule and per-catalogue-entry parts of ``kb``."""
        self.kb = kb
        # Built up front, never changed after: an assembler can be shared between threads.
        self._plans = {
            (rule.id, number): self._make_plan(rule, literals)
            for rule in kb.rules
            for number, literals in enumerate(rule.dnf)
        }
        self._sources = {
            rule.id: tuple(CitedSource(c.source, kb.sources[c.source].title, c.ref, c.verified) for c in rule.sources)
            for rule in kb.rules
        }
        categories = ("referral", *[c for c in CATEGORIES if c != "referral"])
        self._rec_order = {
            rec_id: (categories.index(spec.category), i) for i, (rec_id, spec) in enumerate(kb.recommendations.items())
        }
        self._evidence = {
            rec_id: tuple(
                {
                    "source": e.source,
                    "source_title": kb.sources[e.source].title,
                    "level": e.level,
                    "ref": e.ref,
                    "summary": e.summary,
                    "verified": e.verified,
                }
                for e in spec.evidence
            )
            for rec_id, spec in kb.recommendations.items()
        }
        self._red_flags = kb.red_flags()
        self._default_region = resolve_region(kb, None)
        self._conclusions = Conclusions(kb.rules)

    def _plan(self, branch: Branch) -> _BranchPlan:
        return self._plans[branch.rule.id, branch.number]

    @staticmethod
    def _make_plan(rule: RuleSpec, literals: tuple[Literal_, ...]) -> _BranchPlan:
        facts: list[str] = []
        unanswered: list[str] = []
        findings: list[str] = []
        absent: list[str] = []
        for lit in literals:
            if isinstance(lit, FindingRef):
                (absent if lit.negated else findings).append(lit.name)
            elif holds_unanswered(lit):
                unanswered.append(lit.name)
            else:
                facts.append(lit.name)
        return _BranchPlan(
            rule_id=rule.id,
            conditions=tuple(render(lit) for lit in literals),
            facts=tuple(dict.fromkeys(facts)),
            unanswered=tuple(dict.fromkeys(unanswered)),
            findings=tuple(dict.fromkeys(findings)),
            absent_findings=tuple(dict.fromkeys(absent)),
        )

    def _where(self, region: str | None) -> Region | None:
        """The region whose emergency number fills the person-facing text (default: the knowledge base's)."""
        return self._default_region if region is None else resolve_region(self.kb, region)

    def _decide(self, fired_rules: Sequence[RuleSpec], where: Region | None) -> _Decision:
        """What the rules that fired (each once, in firing order) conclude, before explanations.

        ``where`` fills in the emergency number in withhold reasons and cautions.
        """
        decision = self._conclusions.decide(fired_rules)  # the assembly semantics of kb.conditions
        warnings = {
            rec_id: [Warning_(rule_id, fill(message, where)) for rule_id, message in found]
            for rec_id, found in decision.warnings.items()
        }
        return _Decision(
            TRIAGE_LEVELS[decision.triage],
            decision.triage_rules,
            sorted(decision.given_ids(), key=self._rec_order.__getitem__),
            decision.recommended,
            [(target, rule_id, fill(reason, where)) for target, rule_id, reason in decision.withheld],
            warnings,
        )

    def summarise(
        self, values: Mapping[str, Value], fired: Sequence[Branch], findings: set[str], *, region: str | None = None
    ) -> AssessmentSummary:
        """The :class:`AssessmentSummary` of the branches that fired, without building any explanation.

        Equal to ``assemble(values, fired, findings, region=region).summary()``, at a fraction of the cost.

        Raises:
            UnknownRegionError: ``region`` is not defined by the knowledge base.
        """
        kb = self.kb
        rules = {branch.rule.id: branch.rule for branch in fired}  # first firing order
        decision = self._decide(tuple(rules.values()), self._where(region))
        return AssessmentSummary(
            triage=decision.triage,
            recommendations=tuple((rec_id, kb.recommendations[rec_id].category) for rec_id in decision.given),
            withheld=tuple(decision.withheld),
            unanswered_red_flags=tuple(f for f in self._red_flags if values.get(f) is None),
            findings=tuple(sorted(findings)),
            fired_rules=tuple(rules),
            kb_version=kb.version,
            kb_digest=kb.digest,
        )

    def assemble(
        self, values: Mapping[str, Value], fired: Sequence[Branch], findings: set[str], *, region: str | None = None
    ) -> Assessment:
        """Turn the branches that fired (in firing order) into an :class:`Assessment`.

        ``region`` (default: the knowledge base's) fills in the emergency
        number in the person-facing text.

        Raises:
            UnknownRegionError: ``region`` is not defined by the knowledge base.
        """
        kb = self.kb
        where = self._where(region)
        explainer = _Explainer(self, values, fired)
        fired_rules = [branch.rule for branch in explainer.first_branch.values()]
        decision = self._decide(fired_rules, where)
        recommended, warnings = decision.recommended, decision.warnings
        recommendations = []
        for rec_id in decision.given:
            spec = kb.recommendations[rec_id]
            recommendations.append(
                Recommendation(
                    id=rec_id,
                    category=spec.category,
                    title=fill(spec.title, where),
                    advice=fill(spec.advice, where),
                    # Fresh dicts: an assessment's evidence is its own to change.
                    evidence=tuple(dict(e) for e in self._evidence[rec_id]),
                    sources=spec.sources,
                    cautions=tuple(fill(c, where) for c in spec.cautions),
                    warnings=tuple(warnings.get(rec_id, ())),
                    explanation=tuple(explainer.node(r) for r in dict.fromkeys(recommended[rec_id])),
                )
            )

        return Assessment(
            triage=decision.triage,
            recommendations=tuple(recommendations),
            withheld=tuple(
                Withheld(
                    id=target,
                    title=fill(kb.recommendations[target].title, where),
                    reason=reason,
                    rule=rule_id,
                    recommended_by=tuple(dict.fromkeys(recommended.get(target, ()))),
                    explanation=explainer.node(rule_id),
                )
                for target, rule_id, reason in decision.withheld
            ),
            unanswered_red_flags=tuple(f for f in self._red_flags if values.get(f) is None),
            fired_rules=tuple(r.id for r in fired_rules),
            findings=tuple(sorted(findings)),
            triage_explanation=tuple(explainer.node(r) for r in dict.fromkeys(decision.triage_rules)),
            case=tuple((name, values[name]) for name in kb.facts if values.get(name) is not None),
            kb_version=kb.version,
            kb_digest=kb.digest,
            region=where.id if where is not None else None,
        )


@dataclass(frozen=True, slots=True)
class _Decision:
    """What the fired rules conclude: triage and its rules, recommendations given, withheld, cautions."""

    triage: str
    triage_rules: Sequence[str]
    given: list[str]
    recommended: Mapping[str, Sequence[str]]
    withheld: list[tuple[str, str, str]]
    warnings: dict[str, list[Warning_]]


class _Explainer:
    """Builds the derivation chains of one assessment from its firing trace."""

    def __init__(self, assembler: Assembler, values: Mapping[str, Value], fired: Sequence[Branch]) -> None:
        self.assembler = assembler
        self.values = values
        self.first_branch: dict[str, Branch] = {}
        self.deriver: dict[str, str] = {}
        for branch in fired:
            rule = branch.rule
            if rule.id not in self.first_branch:
                self.first_branch[rule.id] = branch
            for action in rule.actions:
                if action.kind == "derive":
                    self.deriver.setdefault(action.target, rule.id)
        self.cache: dict[str, Derivation] = {}

    def node(self, rule_id: str) -> Derivation:
        """The derivation of ``rule_id`` (one node per rule, shared by every chain that uses it)."""
        result = self.cache.get(rule_id)
        if result is not None:
            return result
        branch = self.first_branch[rule_id]
        rule = branch.rule
        plan = self.assembler._plan(branch)
        values = self.values
        # Findings are derived in a lower stratum, so no cycles here. One node
        # per rule, so de-duplicating by rule id de-duplicates the nodes.
        children = dict.fromkeys(self.deriver[name] for name in plan.findings)
        result = self.cache[rule_id] = Derivation(
            rule=rule.id,
            title=rule.title,
            because=rule.because,
            sources=self.assembler._sources[rule.id],
            conditions=plan.conditions,
            facts=tuple((name, values[name]) for name in plan.facts),
            unanswered=plan.unanswered,
            findings=plan.findings,
            absent_findings=plan.absent_findings,
            derived_from=tuple(self.node(child) for child in children),
        )
        return result


def assemble(
    kb: KnowledgeBase,
    values: Mapping[str, Value],
    fired: Sequence[Branch],
    findings: set[str],
    *,
    region: str | None = None,
) -> Assessment:
    """Turn the branches that fired (in firing order) into an :class:`Assessment`.

    A one-off :class:`Assembler`; to assemble many assessments over one
    knowledge base, build an :class:`Assembler` once and reuse it.
    """
    return Assembler(kb).assemble(values, fired, findings, region=region)

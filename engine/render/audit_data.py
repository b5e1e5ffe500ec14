"""The audit of a knowledge base as plain data: what the clinician audit report shows.

:func:`build_audit` gathers everything a clinician needs to audit the rule
logic: every rule with its readable condition, conclusions, rationale,
sources, evidence, provenance and dependencies; which clinical test cases
exercise it; the catalogue with its evidence per source and where sources
disagree; the invariants with their proof status; the anomalies; the
dependency graph; the clinical safety case (the hazard log traced to its
controls, proofs and tests); and the knowledge-base version and digest. The renderings
are :mod:`spasm_advisor.render.audit_report`'s.

Proofs need the optional ``z3-solver`` package (the ``audit`` extra). Without
it the audit is still built, says that the proofs were not run, and lists
the invariants as "not checked".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spasm_advisor import __version__
from spasm_advisor.analysis.clinical_cases import ClinicalCase, check_case
from spasm_advisor.analysis.invariants import load_invariants
from spasm_advisor.analysis.safety_case import SafetyCase, build_safety_case
from spasm_advisor.errors import CaseError
from spasm_advisor.inference.advisor import Advisor
from spasm_advisor.inference.assessment import NOTICE
from spasm_advisor.kb.conditions import All, Any_, Condition, FindingRef, render
from spasm_advisor.kb.evidence import OPPOSING, SUPPORTING
from spasm_advisor.kb.model import TRIAGE_LEVELS, KnowledgeBase, Provenance, RuleSpec
from spasm_advisor.render.graph_svg import DependencyGraph, dependency_graph

__all__ = [
    "ActionAudit",
    "AnomalyAudit",
    "AuditData",
    "CaseAudit",
    "CatalogueAudit",
    "CitedSourceAudit",
    "DependencyAudit",
    "EvidenceAudit",
    "FactAudit",
    "FindingAudit",
    "InvariantAudit",
    "RuleAudit",
    "SourceAudit",
    "TriageAudit",
    "VerificationAudit",
    "build_audit",
    "count_text",
]

# Evidence levels that speak for or against a recommendation (one owner: kb.evidence).
_SUPPORTING = SUPPORTING
_OPPOSING = OPPOSING


@dataclass(frozen=True, slots=True)
class CitedSourceAudit:
    """A source as a rule cites it: the part cited, and whether that was verified."""

    source: str
    label: str
    ref: str | None
    verified: bool
    source_status: str  # current | withdrawn | superseded


@dataclass(frozen=True, slots=True)
class ActionAudit:
    """One conclusion of a rule; ``target_title`` is the catalogue title of a recommendation."""

    kind: str
    target: str
    text: str | None
    target_title: str | None = None

    def describe(self) -> str:
        """The conclusion in words (``recommend heat_therapy``, ``withhold X: reason``)."""
        verb = {
            "derive": "derive finding",
            "triage": "set triage to",
            "recommend": "recommend",
            "withhold": "withhold",
            "caution": "caution on",
        }[self.kind]
        return f"{verb} {self.target}" + (f": {self.text}" if self.text else "")


@dataclass(frozen=True, slots=True)
class DependencyAudit:
    """A finding a rule reads, whether it reads its absence, and the rules that derive it."""

    finding: str
    absence: bool
    derived_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleAudit:
    """One rule, as a clinician audits it."""

    id: str
    title: str
    path: str
    line: int
    stratum: int
    condition: Condition
    when: str
    actions: tuple[ActionAudit, ...]
    because: str
    sources: tuple[CitedSourceAudit, ...]
    evidence: str | None
    provenance: Provenance
    exercised_by: tuple[str, ...]
    depends_on: tuple[DependencyAudit, ...]
    depended_on_by: tuple[str, ...]

    @property
    def location(self) -> str:
        """``path:line`` of the rule."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class EvidenceAudit:
    """What one source says about one catalogue entry."""

    source: str
    label: str
    level: str
    ref: str | None
    summary: str | None
    verified: bool


@dataclass(frozen=True, slots=True)
class CatalogueAudit:
    """A catalogue entry with its evidence and the rules that give, withhold or caution it.

    ``supporting`` and ``opposing`` are the sources grading it recommended or
    weak, and not recommended; ``declared_conflict`` is true when a source
    grades it ``conflicting`` (the knowledge base says so itself).
    """

    id: str
    category: str
    title: str
    advice: str
    cautions: tuple[str, ...]
    evidence: tuple[EvidenceAudit, ...]
    sources: tuple[str, ...]
    recommended_by: tuple[str, ...]
    withheld_by: tuple[str, ...]
    cautioned_by: tuple[str, ...]
    supporting: tuple[str, ...]
    opposing: tuple[str, ...]
    declared_conflict: bool
    because: str | None = None

    @property
    def conflict(self) -> bool:
        """Whether sources disagree: one for and another against, or a declared conflict."""
        disagree = bool(self.supporting and self.opposing and set(self.supporting) != set(self.opposing))
        return disagree or self.declared_conflict


@dataclass(frozen=True, slots=True)
class SourceAudit:
    """A source with what cites it."""

    id: str
    title: str
    label: str
    publisher: str | None
    year: int | None
    url: str | None
    status: str
    notes: str | None
    cited_by: tuple[str, ...]
    grades: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FactAudit:
    """An input fact of the vocabulary and the rules that read it."""

    id: str
    type: str
    domain: str
    role: str
    question: str
    read_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FindingAudit:
    """A derived finding: the rules that derive it and the rules that read it."""

    id: str
    derived_by: tuple[str, ...]
    read_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TriageAudit:
    """A triage level and the rules that set it."""

    level: str
    set_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseAudit:
    """A clinical test case: whether it passes, and the rules it makes fire."""

    id: str
    title: str
    basis: str
    path: str
    problems: tuple[str, ...]
    fired_rules: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """The advisor does what the case expects."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class InvariantAudit:
    """An invariant and its proof status: ``proved``, ``violated`` or ``not checked``."""

    id: str
    title: str
    statement: str
    because: str | None
    status: str
    counterexample: Mapping[str, Any] | None
    engine_confirms: bool | None
    location: str


@dataclass(frozen=True, slots=True)
class AnomalyAudit:
    """An anomaly found by ``rules verify`` (see :mod:`spasm_advisor.analysis.verify`)."""

    check: str
    severity: str
    message: str
    rules: tuple[str, ...]
    locations: tuple[str, ...]
    example: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class VerificationAudit:
    """The outcome of ``rules verify``, or why it was not run (``available`` false)."""

    available: bool
    note: str
    invariants: tuple[InvariantAudit, ...]
    anomalies: tuple[AnomalyAudit, ...]
    cases_covered: int | None
    classes_covered: int | None

    @property
    def errors(self) -> tuple[AnomalyAudit, ...]:
        """Anomalies of error severity."""
        return tuple(a for a in self.anomalies if a.severity == "error")

    @property
    def warnings(self) -> tuple[AnomalyAudit, ...]:
        """Anomalies of warning severity."""
        return tuple(a for a in self.anomalies if a.severity == "warning")

    @property
    def ok(self) -> bool | None:
        """No error and every invariant proved; None when the proofs were not run."""
        if not self.available:
            return None
        return not self.errors and all(i.status == "proved" for i in self.invariants)

    def coverage_text(self) -> str:
        """What the proofs cover, in words."""
        if not self.available:
            return "not checked"
        classes = count_text(self.classes_covered)
        if self.cases_covered is None:
            return f"every possible case, unknowns included ({classes} classes of cases the rules tell apart)"
        return (
            f"every one of {count_text(self.cases_covered)} possible cases, unknowns included "
            f"({classes} classes the rules tell apart)"
        )


def count_text(count: int | None) -> str:
    """A count a reader can take in: exact up to a billion, then ``1.53 x 10^21``."""
    if count is None:
        return "?"
    if count < 10**9:
        return f"{count:,}"
    mantissa, exponent = f"{count:.2e}".split("e")
    return f"{mantissa} x 10^{int(exponent)}"


@dataclass(frozen=True, slots=True)
class AuditData:
    """Everything the audit report shows, as plain data (build it with :func:`build_audit`)."""

    kb_version: str
    kb_digest: str
    engine_version: str
    rules_location: str
    knowledge_location: str
    notice: str
    rules: tuple[RuleAudit, ...]
    facts: tuple[FactAudit, ...]
    findings: tuple[FindingAudit, ...]
    triage: tuple[TriageAudit, ...]
    catalogue: tuple[CatalogueAudit, ...]
    sources: tuple[SourceAudit, ...]
    cases: tuple[CaseAudit, ...]
    verification: VerificationAudit
    graph: DependencyGraph
    safety: SafetyCase | None = None

    @property
    def rule_files(self) -> dict[str, tuple[RuleAudit, ...]]:
        """Rules grouped by file, files in name order, rules in file order."""
        files: dict[str, list[RuleAudit]] = {}
        for rule in self.rules:
            files.setdefault(rule.path, []).append(rule)
        return {path: tuple(rules) for path, rules in sorted(files.items())}

    @property
    def unexercised(self) -> tuple[RuleAudit, ...]:
        """Rules no clinical case makes fire (covered only by the proofs, if at all)."""
        return tuple(r for r in self.rules if not r.exercised_by)

    @property
    def conflicts(self) -> tuple[CatalogueAudit, ...]:
        """Catalogue entries on which sources disagree."""
        return tuple(c for c in self.catalogue if c.conflict)


def _verification(advisor: Advisor) -> VerificationAudit:
    declared = {inv.id: inv for inv in load_invariants(advisor.knowledge_base)}
    try:
        # Imported here: z3-solver is an optional extra, and the rest of the
        # report is useful without the proofs.
        from spasm_advisor.analysis.verify import verify
    except ImportError:
        unchecked = tuple(
            InvariantAudit(
                inv.id,
                inv.title,
                inv.describe(),
                inv.because,
                "not checked",
                None,
                None,
                f"{inv.path}:{inv.line}",
            )
            for inv in declared.values()
        )
        note = "The proofs were not run: install z3-solver (pip install '.[audit]' in the Spasm Advisor checkout)."
        return VerificationAudit(False, note, unchecked, (), None, None)
    report = verify(advisor)
    invariants = tuple(
        InvariantAudit(
            r.id,
            r.title,
            r.statement,
            declared[r.id].because if r.id in declared else None,
            r.status,
            r.counterexample,
            r.engine_confirms,
            r.location,
        )
        for r in report.invariants
    )
    anomalies = tuple(
        AnomalyAudit(a.check, a.severity, a.message, a.rules, a.locations, a.example) for a in report.anomalies
    )
    note = "Checked by SMT (z3) over every possible case, unknown answers included."
    return VerificationAudit(True, note, invariants, anomalies, report.cases_covered, report.classes_covered)


def _case_audit(advisor: Advisor, case: ClinicalCase) -> CaseAudit:
    try:
        fired = advisor.assess(advisor.case(case.facts, source=case.path)).fired_rules
    except CaseError:
        fired = ()  # check_case reports why the case does not validate
    return CaseAudit(case.id, case.title, case.basis, case.path, tuple(check_case(advisor, case)), tuple(fired))


def _readable(cond: Condition) -> str:
    """The condition on one line, without the parentheses :func:`render` puts around the whole."""
    text = render(cond)
    return text[1:-1] if isinstance(cond, All | Any_) else text


def _rule_audit(
    kb: KnowledgeBase,
    rule: RuleSpec,
    derivers: Mapping[str, Sequence[str]],
    readers: Mapping[str, Sequence[str]],
    exercised_by: Sequence[str],
) -> RuleAudit:
    sources = tuple(
        CitedSourceAudit(c.source, kb.sources[c.source].short, c.ref, c.verified, kb.sources[c.source].status)
        for c in rule.sources
    )
    actions = tuple(
        ActionAudit(
            a.kind,
            a.target,
            a.text,
            kb.recommendations[a.target].title if a.target in kb.recommendations else None,
        )
        for a in rule.actions
    )
    reads = sorted({(lit.name, lit.negated) for conj in rule.dnf for lit in conj if isinstance(lit, FindingRef)})
    depends_on = tuple(DependencyAudit(name, negated, tuple(derivers.get(name, ()))) for name, negated in reads)
    depended_on_by = sorted({r for name in rule.derives for r in readers.get(name, ()) if r != rule.id})
    return RuleAudit(
        id=rule.id,
        title=rule.title,
        path=rule.path,
        line=rule.line,
        stratum=rule.stratum,
        condition=rule.condition,
        when=_readable(rule.condition),
        actions=actions,
        because=rule.because.strip(),
        sources=sources,
        evidence=rule.evidence,
        provenance=rule.provenance,
        exercised_by=tuple(exercised_by),
        depends_on=depends_on,
        depended_on_by=tuple(depended_on_by),
    )


def build_audit(advisor: Advisor, cases: Iterable[ClinicalCase]) -> AuditData:
    """Gather the audit of the advisor's knowledge base, with the clinical cases that exercise it.

    Runs every case through the advisor and, when z3-solver is installed,
    the verifier (a fraction of a second for the bundled knowledge base).
    """
    kb = advisor.knowledge_base
    case_audits = tuple(_case_audit(advisor, case) for case in cases)
    exercised: dict[str, list[str]] = {}
    for case in case_audits:
        for rule_id in dict.fromkeys(case.fired_rules):
            exercised.setdefault(rule_id, []).append(case.id)

    derivers: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    fact_readers: dict[str, list[str]] = {}
    triage_setters: dict[str, list[str]] = {}
    by_action: dict[tuple[str, str], list[str]] = {}
    for rule in sorted(kb.rules, key=lambda r: r.id):
        for name in rule.derives:
            derivers.setdefault(name, []).append(rule.id)
        for name in sorted(rule.findings_read()):
            readers.setdefault(name, []).append(rule.id)
        for name in sorted(rule.facts_read()):
            fact_readers.setdefault(name, []).append(rule.id)
        for action in rule.actions:
            if action.kind == "triage":
                triage_setters.setdefault(action.target, []).append(rule.id)
            by_action.setdefault((action.kind, action.target), []).append(rule.id)

    rules = tuple(
        _rule_audit(kb, rule, derivers, readers, exercised.get(rule.id, ()))
        for rule in sorted(kb.rules, key=lambda r: (r.path, r.line, r.id))
    )
    facts = tuple(
        FactAudit(f.id, f.type, f.domain_text(), f.role, f.question, tuple(fact_readers.get(f.id, ())))
        for f in kb.facts.values()
    )
    findings = tuple(
        FindingAudit(name, tuple(derivers.get(name, ())), tuple(readers.get(name, ()))) for name in sorted(kb.findings)
    )
    triage = tuple(TriageAudit(level, tuple(triage_setters.get(level, ()))) for level in reversed(TRIAGE_LEVELS))

    catalogue = []
    for rec in kb.recommendations.values():
        evidence = tuple(
            EvidenceAudit(e.source, kb.sources[e.source].short, e.level, e.ref, e.summary, e.verified)
            for e in rec.evidence
        )
        catalogue.append(
            CatalogueAudit(
                id=rec.id,
                category=rec.category,
                title=rec.title,
                advice=rec.advice.strip(),
                # The clinician's note on a caution follows the person's text.
                cautions=tuple(
                    text if note is None else f"{text} [{note}]"
                    for text, note in zip(rec.cautions, rec.caution_because or (None,) * len(rec.cautions), strict=True)
                ),
                evidence=evidence,
                sources=rec.sources,
                recommended_by=tuple(by_action.get(("recommend", rec.id), ())),
                withheld_by=tuple(by_action.get(("withhold", rec.id), ())),
                cautioned_by=tuple(by_action.get(("caution", rec.id), ())),
                supporting=tuple(dict.fromkeys(e.source for e in evidence if e.level in _SUPPORTING)),
                opposing=tuple(dict.fromkeys(e.source for e in evidence if e.level in _OPPOSING)),
                declared_conflict=any(e.level == "conflicting" for e in evidence),
                because=rec.because,
            )
        )

    cited: dict[str, list[str]] = {}
    for audited in rules:
        for citation in audited.sources:
            if audited.id not in cited.setdefault(citation.source, []):
                cited[citation.source].append(audited.id)
    graded: dict[str, list[str]] = {}
    for entry in catalogue:
        for e in entry.evidence:
            if entry.id not in graded.setdefault(e.source, []):
                graded[e.source].append(entry.id)
    sources = tuple(
        SourceAudit(
            s.id,
            s.title,
            s.short,
            s.publisher,
            s.year,
            s.url,
            s.status,
            s.notes,
            tuple(sorted(cited.get(s.id, ()))),
            tuple(graded.get(s.id, ())),
        )
        for s in kb.sources.values()
    )

    verification = _verification(advisor)
    return AuditData(
        kb_version=kb.version,
        kb_digest=kb.digest,
        engine_version=__version__,
        rules_location=kb.rules_location,
        knowledge_location=kb.knowledge_location,
        notice=NOTICE,
        rules=rules,
        facts=facts,
        findings=findings,
        triage=triage,
        catalogue=tuple(catalogue),
        sources=sources,
        cases=case_audits,
        verification=verification,
        graph=dependency_graph(kb),
        safety=_safety_case(advisor, verification),
    )


def _safety_case(advisor: Advisor, verification: VerificationAudit) -> SafetyCase:
    """The Clinical safety section: the hazard log against the proofs of this report."""
    proofs = {i.id: i.status for i in verification.invariants} if verification.available else None
    return build_safety_case(advisor, proofs)

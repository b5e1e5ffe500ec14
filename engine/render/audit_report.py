"""The clinician audit report of a knowledge base (``rules report``), as HTML or Markdown.

:func:`build_audit` gathers, as plain data, everything a clinician needs to
audit the rule logic: every rule with its readable condition, conclusions,
rationale, sources, evidence, provenance and dependencies; which clinical test
cases exercise it; the catalogue with its evidence per source and where
sources disagree; the invariants with their proof status; the anomalies; the
dependency graph; and the knowledge-base version and digest.

:func:`render_html` turns it into one self-contained HTML page (inline CSS
and SVG, a few lines of optional script, nothing fetched), readable offline
and printable; :func:`render_markdown` into Markdown with the graph as a
Mermaid flowchart. Both are deterministic: the same knowledge base and cases
give the same bytes, so two reports can be diffed. Nothing here prints or
writes files.

Proofs need the optional ``z3-solver`` package (the ``audit`` extra). Without
it the report is still built, says that the proofs were not run, and lists
the invariants as "not checked".
"""

from __future__ import annotations

import html
import re
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
from spasm_advisor.kb.conditions import All, Any_, Comparison, Condition, FindingRef, Known, Not, render, render_value
from spasm_advisor.kb.evidence import OPPOSING, SUPPORTING
from spasm_advisor.kb.model import CATEGORIES, TRIAGE_LEVELS, KnowledgeBase, Provenance, RuleSpec
from spasm_advisor.render.graph_svg import DependencyGraph, anchor, dependency_graph, render_mermaid, render_svg
from spasm_advisor.render.safety_case import safety_case_html, safety_case_markdown

__all__ = [
    "PAGE_CSP",
    "PAGE_CSS",
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
    "render_html",
    "render_markdown",
]

# Evidence levels that speak for or against a recommendation (one owner: kb.evidence).
_SUPPORTING = SUPPORTING
_OPPOSING = OPPOSING


# ==========================================================================
# The audit data
# ==========================================================================


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
        classes = _count_text(self.classes_covered)
        if self.cases_covered is None:
            return f"every possible case, unknowns included ({classes} classes of cases the rules tell apart)"
        return (
            f"every one of {_count_text(self.cases_covered)} possible cases, unknowns included "
            f"({classes} classes the rules tell apart)"
        )


def _count_text(count: int | None) -> str:
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


# ==========================================================================
# Shared wording
# ==========================================================================


def _case_text(example: Mapping[str, Any] | None) -> str:
    """A counterexample case in words; every fact not listed is unknown."""
    if not example:
        return "every fact unknown"
    return ", ".join(f"{k} = {render_value(v)}" for k, v in example.items()) + " (all else unknown)"


def _level_text(level: str) -> str:
    return level.replace("_", " ")


def _conflict_text(entry: CatalogueAudit) -> str:
    parts = []
    if entry.supporting and entry.opposing:
        parts.append(f"for: {', '.join(entry.supporting)}; against: {', '.join(entry.opposing)}")
    if entry.declared_conflict:
        parts.append("the knowledge base grades it 'conflicting'")
    return "; ".join(parts)


# ==========================================================================
# HTML
# ==========================================================================


def _e(text: object) -> str:
    """Escape any text for HTML content or a quoted attribute."""
    return html.escape(str(text), quote=True)


def _link(kind: str, name: str, text: str | None = None) -> str:
    return f'<a href="#{_e(anchor(kind, name))}">{_e(text if text is not None else name)}</a>'


def _rule_link(rule_id: str) -> str:
    return f'<a href="#rule-{_e(rule_id)}"><code>{_e(rule_id)}</code></a>'


def _rule_links(rule_ids: Iterable[str], none: str = "none") -> str:
    links = [_rule_link(r) for r in rule_ids]
    return ", ".join(links) if links else f'<span class="muted">{_e(none)}</span>'


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {_e(cls)}">{_e(text)}</span>'


def _condition_html(cond: Condition) -> str:
    """A condition as nested lists: "all of" / "any of", with each atom in plain words."""
    if isinstance(cond, All | Any_):
        head = "all of" if isinstance(cond, All) else "any of"
        if all(isinstance(item, Comparison | Known | FindingRef) for item in cond.items):
            # A flat list of atoms (e.g. fifteen red flags) reads best on one wrapping line.
            atoms = ", ".join(_condition_html(item) for item in cond.items)
            return f'<span class="op">{head}</span> {atoms}'
        items = "".join(f"<li>{_condition_html(item)}</li>" for item in cond.items)
        return f'<span class="op">{head}</span><ul class="cond">{items}</ul>'
    if isinstance(cond, Not):
        return f'<span class="op">not</span> {_condition_html(cond.item)}'
    if isinstance(cond, FindingRef):
        prefix = "no " if cond.negated else ""
        return f'<code class="finding">{prefix}{_link("finding", cond.name)}</code>'
    if isinstance(cond, Comparison | Known):
        return f"<code>{_e(render(cond))}</code>"
    return f"<code>{_e(render(cond))}</code>"


def _action_html(action: ActionAudit) -> str:
    if action.kind == "derive":
        return f"derive finding <code>{_link('finding', action.target)}</code>"
    if action.kind == "triage":
        return f"set triage to {_badge(action.target, 'triage-' + action.target)}"
    target = f"<code>{_link('recommendation', action.target)}</code>"
    title = f' <span class="muted">({_e(action.target_title)})</span>' if action.target_title else ""
    verb = {"recommend": "recommend", "withhold": "withhold", "caution": "caution on"}[action.kind]
    cls = {"recommend": "", "withhold": ' class="act-withhold"', "caution": ' class="act-caution"'}[action.kind]
    text = f": {_e(action.text)}" if action.text else ""
    return f"<span{cls}>{verb}</span> {target}{title}{text}"


def _citation_html(c: CitedSourceAudit) -> str:
    out = _link("source", c.source, c.label)
    if c.ref:
        out += f' <span class="ref">({_e(c.ref)})</span>'
    if not c.verified:
        out += " " + _badge("unverified", "unverified")
    if c.source_status != "current":
        out += " " + _badge(c.source_status, "withdrawn")
    return out


def _provenance_html(p: Provenance) -> str:
    reviewer = _e(p.reviewer) if p.reviewer else '<span class="warn-text">not yet reviewed</span>'
    return (
        f"{_badge(p.status, 'status-' + p.status)} author {_e(p.author or 'unknown')}; reviewer {reviewer}; "
        f"version {_e(p.version or '?')}; last reviewed {_e(p.last_reviewed or 'never')}"
    )


def _rule_html(rule: RuleAudit) -> str:
    search = " ".join([rule.id, rule.title, rule.when, rule.path, *(a.target for a in rule.actions)]).lower()
    if rule.exercised_by:
        cases = ", ".join(f'<a href="#case-{_e(c)}"><code>{_e(c)}</code></a>' for c in rule.exercised_by)
    else:
        cases = _badge("no clinical case exercises this rule", "warn")
    depends = []
    for dep in rule.depends_on:
        what = f"{'no ' if dep.absence else ''}<code>{_link('finding', dep.finding)}</code>"
        depends.append(f"{what} (derived by {_rule_links(dep.derived_by)})")
    rows = [
        ("When", _condition_html(rule.condition)),
        ("Then", "<ul>" + "".join(f"<li>{_action_html(a)}</li>" for a in rule.actions) + "</ul>"),
        ("Because", f"<p>{_e(rule.because)}</p>"),
        (
            "Sources",
            "<ul>" + "".join(f"<li>{_citation_html(c)}</li>" for c in rule.sources) + "</ul>"
            if rule.sources
            else _badge("no source", "warn"),
        ),
    ]
    if rule.evidence:
        rows.append(("Evidence", _e(rule.evidence)))
    rows += [
        ("Provenance", _provenance_html(rule.provenance)),
        ("Exercised by", cases),
        ("Depends on", "; ".join(depends) if depends else '<span class="muted">input facts only</span>'),
        ("Depended on by", _rule_links(rule.depended_on_by)),
    ]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<article class="rule" id="rule-{_e(rule.id)}" data-search="{_e(search)}">'
        f'<h4><a class="anchor" href="#rule-{_e(rule.id)}"><code>{_e(rule.id)}</code></a> '
        f"{_e(rule.title)}</h4>"
        f'<p class="meta">{_e(rule.location)} &middot; stratum {rule.stratum}</p>'
        f"<dl>{body}</dl></article>"
    )


def _evidence_table_html(entry: CatalogueAudit) -> str:
    rows = []
    for e in entry.evidence:
        verified = '<span class="muted">yes</span>' if e.verified else _badge("unverified", "unverified")
        rows.append(
            f"<tr><td>{_link('source', e.source, e.label)}</td>"
            f"<td>{_badge(_level_text(e.level), 'level-' + e.level)}</td>"
            f"<td>{_e(e.ref or '')}</td><td>{_e(e.summary or '')}</td><td>{verified}</td></tr>"
        )
    if not rows:
        return '<p class="muted">No source grades this entry.</p>'
    return (
        '<table class="evidence"><thead><tr><th>Source</th><th>Level</th><th>Ref</th><th>Summary</th>'
        f"<th>Verified</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _catalogue_html(entry: CatalogueAudit) -> str:
    cls = "rec has-conflict" if entry.conflict else "rec"
    conflict = ""
    if entry.conflict:
        conflict = f'<p class="conflict"><strong>Sources disagree</strong>: {_e(_conflict_text(entry))}.</p>'
    cautions = "".join(f"<li>{_e(c)}</li>" for c in entry.cautions)
    rules = (
        f"<p>Recommended by {_rule_links(entry.recommended_by, 'no rule')}; "
        f"withheld by {_rule_links(entry.withheld_by)}; cautioned by {_rule_links(entry.cautioned_by)}.</p>"
    )
    return (
        f'<article class="{cls}" id="{_e(anchor("recommendation", entry.id))}">'
        f"<h4>{_e(entry.title)} <code>{_e(entry.id)}</code> "
        f"{_badge(entry.category, 'cat-' + entry.category)}</h4>"
        f"{conflict}<p>{_e(entry.advice)}</p>"
        + (f'<p class="muted"><strong>Because</strong>: {_e(entry.because)}</p>' if entry.because else "")
        + _evidence_table_html(entry)
        + (f"<p><strong>Cautions</strong></p><ul>{cautions}</ul>" if cautions else "")
        + rules
        + "</article>"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{_e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _summary_html(audit: AuditData) -> str:
    v = audit.verification
    proved = sum(1 for i in v.invariants if i.status == "proved")
    passed = sum(1 for c in audit.cases if c.passed)
    exercised = len(audit.rules) - len(audit.unexercised)
    if v.ok is None:
        status = _badge("not checked", "warn")
    elif v.ok:
        status = _badge("no errors; every invariant proved", "ok")
    else:
        status = _badge("problems found", "bad")
    cards = [
        ("Knowledge base", f"version <strong>{_e(audit.kb_version)}</strong>"),
        ("Digest", f'<code class="digest">{_e(audit.kb_digest)}</code>'),
        ("Engine", f"Spasm Advisor {_e(audit.engine_version)}"),
        ("Rules", f"<strong>{len(audit.rules)}</strong> in {len(audit.rule_files)} files"),
        ("Vocabulary", f"{len(audit.facts)} facts, {len(audit.findings)} findings"),
        ("Catalogue", f"{len(audit.catalogue)} entries, {len(audit.conflicts)} with disagreeing sources"),
        ("Sources", f"{len(audit.sources)}"),
        ("Verification", status),
        ("Invariants", f"<strong>{proved}</strong> of {len(v.invariants)} proved"),
        ("Anomalies", f"{len(v.errors)} errors, {len(v.warnings)} warnings"),
        ("Proof coverage", _e(v.coverage_text())),
        ("Clinical cases", f"<strong>{passed}</strong> of {len(audit.cases)} pass"),
        (
            "Rules exercised by cases",
            f"<strong>{exercised}</strong> of {len(audit.rules)} "
            f'(<a href="#unexercised">{len(audit.unexercised)} not exercised</a>)',
        ),
    ]
    wide = {"Digest", "Proof coverage"}
    grid = "".join(
        f'<div class="card{" wide" if k in wide else ""}"><div class="k">{_e(k)}</div><div class="v">{val}</div></div>'
        for k, val in cards
    )
    return f'<div class="cards">{grid}</div><p class="muted">{_e(v.note)}</p>'


def _invariants_html(v: VerificationAudit) -> str:
    rows = []
    for inv in v.invariants:
        status_cls = {"proved": "ok", "violated": "bad"}.get(inv.status, "warn")
        detail = ""
        if inv.status == "violated":
            confirm = {True: "the engine confirms it", False: "the engine does NOT confirm it", None: ""}[
                inv.engine_confirms
            ]
            detail = f"Counterexample: <code>{_e(_case_text(inv.counterexample))}</code> {_e(confirm)}"
        rows.append(
            (
                f'<span id="inv-{_e(inv.id)}"><code>{_e(inv.id)}</code></span>',
                _e(inv.title) + (f'<div class="muted">{_e(inv.because)}</div>' if inv.because else ""),
                f"<code>{_e(inv.statement)}</code>",
                _badge(inv.status, status_cls) + (f"<div>{detail}</div>" if detail else ""),
                _e(inv.location),
            )
        )
    if not rows:
        return '<p class="muted">The knowledge base declares no invariants.</p>'
    return _table(["Invariant", "Title", "Statement", "Status", "Where"], rows, "invariants")


def _anomalies_html(v: VerificationAudit) -> str:
    if not v.available:
        return f'<p class="muted">{_e(v.note)}</p>'
    if not v.anomalies:
        return "<p>No anomalies.</p>"
    rows = [
        (
            _badge(a.severity, "bad" if a.severity == "error" else "warn"),
            f"<code>{_e(a.check)}</code>",
            _e(a.message) + (f'<div class="muted">for example: {_e(_case_text(a.example))}</div>' if a.example else ""),
            _rule_links(a.rules, "-"),
            "<br>".join(_e(loc) for loc in a.locations),
        )
        for a in v.anomalies
    ]
    return _table(["Severity", "Check", "Message", "Rules", "Where"], rows, "anomalies")


def _cases_html(audit: AuditData) -> str:
    rows = []
    for case in audit.cases:
        if case.passed:
            result = _badge("passes", "ok")
        else:
            result = _badge("fails", "bad") + "<ul>" + "".join(f"<li>{_e(p)}</li>" for p in case.problems) + "</ul>"
        fired = f"<details><summary>{len(case.fired_rules)} rules</summary>{_rule_links(case.fired_rules)}</details>"
        rows.append(
            (
                f'<span id="case-{_e(case.id)}"><code>{_e(case.id)}</code></span>',
                _e(case.title) + f'<div class="muted">{_e(case.path)}</div>',
                result,
                fired,
            )
        )
    if not rows:
        return '<p class="muted">No clinical cases were given.</p>'
    return _table(["Case", "Title", "Result", "Rules it exercises"], rows, "cases")


def _vocabulary_html(audit: AuditData) -> str:
    facts = _table(
        ["Fact", "Role", "Values", "Question", "Read by"],
        (
            (
                f'<span id="{_e(anchor("fact", f.id))}"><code>{_e(f.id)}</code></span>',
                _badge(f.role.replace("_", " "), "role-" + f.role),
                _e(f.domain),
                _e(f.question),
                _rule_links(f.read_by, "no rule"),
            )
            for f in audit.facts
        ),
        "facts",
    )
    findings = _table(
        ["Finding", "Derived by", "Read by"],
        (
            (
                f'<span id="{_e(anchor("finding", f.id))}"><code>{_e(f.id)}</code></span>',
                _rule_links(f.derived_by),
                _rule_links(f.read_by, "no rule"),
            )
            for f in audit.findings
        ),
        "findings",
    )
    triage = _table(
        ["Triage level", "Set by"],
        (
            (
                f'<span id="{_e(anchor("triage", t.level))}">{_badge(t.level, "triage-" + t.level)}</span>',
                _rule_links(t.set_by, "no rule"),
            )
            for t in audit.triage
        ),
        "triage",
    )
    return f"<h3>Triage levels</h3>{triage}<h3>Input facts</h3>{facts}<h3>Derived findings</h3>{findings}"


def _sources_html(audit: AuditData) -> str:
    rows = []
    for s in audit.sources:
        name = f'<span id="{_e(anchor("source", s.id))}"><code>{_e(s.id)}</code></span>'
        title = _e(s.title)
        if s.url:
            title += f'<div><a class="url" href="{_e(s.url)}">{_e(s.url)}</a></div>'
        if s.notes:
            title += f'<div class="muted">{_e(s.notes.strip())}</div>'
        status = _badge(s.status, "ok" if s.status == "current" else "withdrawn")
        publisher = _e(" ".join(str(p) for p in (s.publisher, s.year) if p))
        rows.append((name, title, publisher, status, f"{len(s.cited_by)} rules, {len(s.grades)} catalogue entries"))
    return _table(["Source", "Title", "Publisher", "Status", "Used by"], rows, "sources")


_CSS = """
:root { --fg:#1b2631; --muted:#5d6d7e; --line:#d5dbdb; --bg:#fff; --soft:#f4f6f7; --accent:#1f618d; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color:var(--fg); background:var(--bg); }
header.top { padding:18px 28px 10px; border-bottom:3px solid var(--accent); }
header.top h1 { margin:0 0 4px; font-size:24px; }
header.top .notice { color:var(--muted); margin:4px 0 0; font-size:13px; }
nav.toc { position:sticky; top:0; z-index:5; background:#fbfcfc; border-bottom:1px solid var(--line);
  padding:6px 28px; font-size:13px; }
nav.toc a { margin-right:14px; color:var(--accent); text-decoration:none; white-space:nowrap; }
main { padding:0 28px 40px; }
section { margin-top:26px; }
h2 { font-size:20px; border-bottom:1px solid var(--line); padding-bottom:4px; margin:0 0 10px; }
h3 { font-size:16px; margin:18px 0 8px; }
h4 { font-size:15px; margin:0 0 2px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:12.5px; }
a { color:var(--accent); }
.muted { color:var(--muted); }
.warn-text { color:#9a6700; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:8px; }
.card { border:1px solid var(--line); border-radius:6px; padding:7px 10px; background:var(--soft); }
.card .k { font-size:11px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.card .v { margin-top:2px; overflow-wrap:anywhere; }
.card.wide { grid-column:span 2; }
.card .badge { white-space:normal; }
.digest { font-size:11px; }
table { border-collapse:collapse; width:100%; margin:6px 0 12px; font-size:13px; }
th, td { border:1px solid var(--line); padding:4px 7px; text-align:left; vertical-align:top; }
th { background:var(--soft); }
.badge { display:inline-block; padding:0 7px; border-radius:9px; font-size:11.5px; font-weight:600;
  border:1px solid transparent; white-space:nowrap; background:#eaecee; color:#333; }
.badge.ok { background:#d5f5e3; color:#145a32; }
.badge.bad { background:#fadbd8; color:#922b21; border-color:#e6b0aa; }
.badge.warn, .badge.unverified { background:#fef5e7; color:#9a6700; border-color:#f8c471; }
.badge.withdrawn { background:#f2d7d5; color:#78281f; }
.badge.level-recommended { background:#d5f5e3; color:#145a32; }
.badge.level-weak { background:#e8f8f5; color:#117864; }
.badge.level-insufficient { background:#eaecee; color:#424949; }
.badge.level-not_recommended { background:#fadbd8; color:#922b21; }
.badge.level-conflicting { background:#fdebd0; color:#9c640c; border-color:#f5b041; }
.badge.triage-emergency { background:#c0392b; color:#fff; }
.badge.triage-urgent { background:#f5b7b1; color:#641e16; }
.badge.triage-routine { background:#e8daef; color:#4a235a; }
.badge.triage-self_care { background:#d5f5e3; color:#145a32; }
.badge.status-production { background:#d5f5e3; color:#145a32; }
.badge.status-testing { background:#d6eaf8; color:#1b4f72; }
.badge.status-research { background:#fef5e7; color:#9a6700; }
.badge.status-expired { background:#fadbd8; color:#922b21; }
.badge.role-red_flag { background:#fadbd8; color:#922b21; }
.badge.role-caution { background:#fef5e7; color:#9a6700; }
.graphbox { overflow:auto; max-height:1250px; border:1px solid var(--line); border-radius:6px;
  background:#fff; }
.graphbox svg { display:block; }
.filter { margin:4px 0 10px; }
.filter input { font:inherit; padding:4px 8px; width:340px; border:1px solid #aab7b8; border-radius:4px; }
article.rule, article.rec { border:1px solid var(--line); border-left:4px solid var(--accent);
  border-radius:5px;
  padding:8px 12px; margin:0 0 10px; background:#fff; }
article.rec.has-conflict { border-left-color:#d68910; }
article .meta { margin:0 0 6px; color:var(--muted); font-size:12px; }
article dl { display:grid; grid-template-columns:135px 1fr; gap:3px 12px; margin:0; }
article dt { font-weight:600; color:#34495e; }
article dd { margin:0; }
article dd p, article dd ul { margin:0; }
article dd ul { padding-left:18px; }
ul.cond { margin:1px 0 1px; padding-left:20px; }
.op { font-style:italic; color:#6c3483; }
.act-withhold { color:#b03a2e; font-weight:600; }
.act-caution { color:#9a6700; font-weight:600; }
.ref { color:var(--muted); }
.conflict { background:#fef5e7; border:1px solid #f5cba7; padding:5px 8px; border-radius:4px; }
.url { font-size:12px; overflow-wrap:anywhere; }
footer { padding:10px 28px 30px; color:var(--muted); font-size:12px; border-top:1px solid var(--line); }
@media print {
  nav.toc, .filter { display:none; }
  .graphbox { overflow:visible; max-height:none; border:none; }
  article.rule, article.rec { break-inside:avoid; }
}
"""

# Optional conveniences; the page is complete without them. Nothing here
# comes from the knowledge base, so no text from it ever reaches a script.
_SCRIPT = """
(function () {
  var box = document.getElementById('rule-filter');
  if (box) {
    box.addEventListener('input', function () {
      var q = box.value.trim().toLowerCase();
      document.querySelectorAll('article.rule').forEach(function (a) {
        a.style.display = !q || a.getAttribute('data-search').indexOf(q) >= 0 ? '' : 'none';
      });
    });
  }
  var svg = document.querySelector('svg.depgraph');
  if (!svg) { return; }
  function clear() {
    svg.classList.remove('focus');
    svg.querySelectorAll('.hot').forEach(function (el) { el.classList.remove('hot'); });
  }
  svg.querySelectorAll('.node[data-key]').forEach(function (node) {
    node.addEventListener('mouseenter', function () {
      var key = node.getAttribute('data-key');
      clear();
      svg.classList.add('focus');
      node.classList.add('hot');
      svg.querySelectorAll('.edge').forEach(function (edge) {
        var from = edge.getAttribute('data-from'), to = edge.getAttribute('data-to');
        if (from === key || to === key) {
          edge.classList.add('hot');
          var other = svg.querySelector('.node[data-key="' + (from === key ? to : from) + '"]');
          if (other) { other.classList.add('hot'); }
        }
      });
    });
    node.addEventListener('mouseleave', clear);
  });
})();
"""

# Nothing may be fetched: the page must open offline and leak nothing.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

#: The page styles and content security policy, shared with the other self-contained pages.
PAGE_CSS = _CSS
PAGE_CSP = _CSP

_SECTIONS = (
    ("summary", "Summary"),
    ("graph", "Dependency graph"),
    ("invariants", "Invariants"),
    ("anomalies", "Anomalies"),
    ("safety", "Clinical safety"),
    ("rules", "Rules"),
    ("unexercised", "Rules no case exercises"),
    ("cases", "Clinical cases"),
    ("catalogue", "Catalogue"),
    ("vocabulary", "Facts, findings, triage"),
    ("sources", "Sources"),
)


def _clinical_safety_html(audit: AuditData) -> str:
    """The Clinical safety section: the hazard log traced to controls, proofs and tests."""
    if audit.safety is None:
        return '<p class="muted">No safety case was built for this report.</p>'
    return safety_case_html(audit.safety)


def render_html(audit: AuditData) -> str:
    """The audit as one self-contained HTML page (UTF-8 text; the caller writes it)."""
    title = f"Spasm Advisor knowledge-base audit: version {audit.kb_version}"
    v = audit.verification
    rules_html = []
    for path, rules in audit.rule_files.items():
        rules_html.append(
            f'<h3 id="file-{_e(re.sub(r"[^a-z0-9]+", "-", path.lower()))}">{_e(path)} '
            f'<span class="muted">({len(rules)} rules)</span></h3>'
        )
        rules_html.extend(_rule_html(rule) for rule in rules)
    unexercised = (
        _table(
            ["Rule", "Title", "Where"],
            ((_rule_link(r.id), _e(r.title), _e(r.location)) for r in audit.unexercised),
            "unexercised",
        )
        if audit.unexercised
        else "<p>Every rule is exercised by at least one clinical case.</p>"
    )
    conflicts = (
        _table(
            ["Entry", "Category", "Disagreement"],
            ((_link("recommendation", c.id, c.title), _e(c.category), _e(_conflict_text(c))) for c in audit.conflicts),
            "conflicts",
        )
        if audit.conflicts
        else "<p>No entry has disagreeing sources.</p>"
    )
    catalogue = []
    for category in CATEGORIES:
        entries = [c for c in audit.catalogue if c.category == category]
        if entries:
            catalogue.append(f"<h3>{_e(category.capitalize())}</h3>")
            catalogue.extend(_catalogue_html(c) for c in entries)
    graph_note = (
        "Left to right: input facts, derived findings (a finding sits right of the findings it rests on), "
        "then triage levels and recommendations. An edge joins what a rule reads to what it concludes; its "
        "tooltip names the rules. Hover a node to highlight its edges; click it to jump to its description."
    )
    sections = {
        "summary": _summary_html(audit),
        "graph": f'<p class="muted">{_e(graph_note)}</p><div class="graphbox">{render_svg(audit.graph)}</div>',
        "invariants": f'<p class="muted">{_e(v.coverage_text().capitalize())}.</p>{_invariants_html(v)}',
        "anomalies": _anomalies_html(v),
        "rules": (
            '<div class="filter"><label>Filter rules: <input id="rule-filter" type="search" '
            'placeholder="id, title, fact or finding"></label></div>' + "".join(rules_html)
        ),
        "unexercised": (
            '<p class="muted">No clinical case in the case set makes these rules fire; only the '
            f"proofs cover them.</p>{unexercised}"
        ),
        "cases": _cases_html(audit),
        "catalogue": f"<h3>Where sources disagree</h3>{conflicts}" + "".join(catalogue),
        "vocabulary": _vocabulary_html(audit),
        "sources": _sources_html(audit),
        "safety": _clinical_safety_html(audit),
    }
    toc = "".join(f'<a href="#{key}">{_e(name)}</a>' for key, name in _SECTIONS)
    body = "".join(f'<section id="{key}"><h2>{_e(name)}</h2>{sections[key]}</section>' for key, name in _SECTIONS)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f'<header class="top"><h1>{_e(title)}</h1>'
        f"<div>Digest <code>{_e(audit.kb_digest)}</code> &middot; "
        f"rules from <code>{_e(audit.rules_location)}/</code>"
        f" &middot; knowledge from <code>{_e(audit.knowledge_location)}/</code></div>"
        f'<p class="notice">{_e(audit.notice)}</p></header>'
        f'<nav class="toc">{toc}</nav><main>{body}</main>'
        f"<footer>Generated by Spasm Advisor {_e(audit.engine_version)} from knowledge base "
        f"{_e(audit.kb_version)} ({_e(audit.kb_digest)}).</footer>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


# ==========================================================================
# Markdown
# ==========================================================================

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _md(text: object) -> str:
    """Escape text for Markdown prose or a table cell (one line; no raw HTML passes)."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _mc(text: object) -> str:
    """Text as an inline code span (ids, conditions); pipes escaped for tables."""
    flat = " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")
    return f"`{flat}`"


def _md_rules(rule_ids: Iterable[str], none: str = "none") -> str:
    ids = [f"[{_mc(r)}](#rule-{r})" for r in rule_ids]
    return ", ".join(ids) if ids else none


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _md_action(action: ActionAudit) -> str:
    verb = {
        "derive": "derive finding",
        "triage": "set triage to",
        "recommend": "recommend",
        "withhold": "**withhold**",
        "caution": "**caution** on",
    }[action.kind]
    title = f" ({_md(action.target_title)})" if action.target_title else ""
    text = f": {_md(action.text)}" if action.text else ""
    return f"{verb} {_mc(action.target)}{title}{text}"


def _md_citation(c: CitedSourceAudit) -> str:
    out = _md(c.label) + (f" ({_md(c.ref)})" if c.ref else "")
    if not c.verified:
        out += " **[unverified]**"
    if c.source_status != "current":
        out += f" **[{_md(c.source_status)}]**"
    return out


def _md_rule(rule: RuleAudit) -> list[str]:
    p = rule.provenance
    depends = "; ".join(
        f"{'no ' if d.absence else ''}{_mc(d.finding)} (derived by {_md_rules(d.derived_by)})" for d in rule.depends_on
    )
    lines = [
        f'<a id="rule-{rule.id}"></a>',
        "",
        f"#### {_mc(rule.id)}: {_md(rule.title)}",
        "",
        f"- **When:** {_mc(rule.when)}",
        "- **Then:** " + "; ".join(_md_action(a) for a in rule.actions),
        f"- **Because:** {_md(rule.because)}",
        "- **Sources:** " + ("; ".join(_md_citation(c) for c in rule.sources) or "**none**"),
    ]
    if rule.evidence:
        lines.append(f"- **Evidence:** {_md(rule.evidence)}")
    lines += [
        f"- **Provenance:** status {_md(p.status)}; author {_md(p.author or 'unknown')}; "
        f"reviewer {_md(p.reviewer) if p.reviewer else '**not yet reviewed**'}; "
        f"version {_md(p.version or '?')}; "
        f"last reviewed {_md(p.last_reviewed or 'never')}",
        f"- **Where:** {_md(rule.location)}, stratum {rule.stratum}",
        "- **Exercised by:** " + (", ".join(_mc(c) for c in rule.exercised_by) or "**no clinical case**"),
        f"- **Depends on:** {depends or 'input facts only'}",
        f"- **Depended on by:** {_md_rules(rule.depended_on_by)}",
        "",
    ]
    return lines


def _clinical_safety_markdown(audit: AuditData) -> list[str]:
    """The Clinical safety section in Markdown (its subsections one level down)."""
    if audit.safety is None:
        return ["## Clinical safety", "", "No safety case was built for this report.", ""]
    return ["## Clinical safety", "", *safety_case_markdown(audit.safety, 3)]


def render_markdown(audit: AuditData) -> str:
    """The audit as Markdown: tables and lists, the graph as a Mermaid ``flowchart LR`` block."""
    v = audit.verification
    proved = sum(1 for i in v.invariants if i.status == "proved")
    passed = sum(1 for c in audit.cases if c.passed)
    status = (
        "not checked"
        if v.ok is None
        else ("verified: no errors, every invariant proved" if v.ok else "**problems found**")
    )
    out = [
        f"# Spasm Advisor knowledge-base audit: version {_md(audit.kb_version)}",
        "",
        f"> {_md(audit.notice)}",
        "",
        "## Summary",
        "",
    ]
    out += _md_table(
        ["Item", "Value"],
        [
            ("Knowledge base", f"version {_md(audit.kb_version)}"),
            ("Digest", _mc(audit.kb_digest)),
            ("Engine", f"Spasm Advisor {_md(audit.engine_version)}"),
            ("Rules", f"{len(audit.rules)} in {len(audit.rule_files)} files"),
            ("Vocabulary", f"{len(audit.facts)} facts, {len(audit.findings)} findings"),
            ("Catalogue", f"{len(audit.catalogue)} entries, {len(audit.conflicts)} with disagreeing sources"),
            ("Sources", str(len(audit.sources))),
            ("Verification", status),
            ("Invariants", f"{proved} of {len(v.invariants)} proved"),
            ("Anomalies", f"{len(v.errors)} errors, {len(v.warnings)} warnings"),
            ("Proof coverage", _md(v.coverage_text())),
            ("Clinical cases", f"{passed} of {len(audit.cases)} pass"),
            (
                "Rules exercised by cases",
                f"{len(audit.rules) - len(audit.unexercised)} of {len(audit.rules)}",
            ),
        ],
    )
    out += [
        _md(v.note),
        "",
        "## Dependency graph",
        "",
        "Input facts, then derived findings, then triage levels and recommendations. Dotted edges read an "
        "absence; red edges withhold, amber edges caution.",
        "",
        "```mermaid",
        render_mermaid(audit.graph),
        "```",
        "",
        "## Invariants",
        "",
    ]
    if v.invariants:
        rows = []
        for inv in v.invariants:
            status_text = (
                inv.status
                if inv.status != "violated"
                else (
                    f"**violated**: {_md(_case_text(inv.counterexample))}"
                    + (
                        ""
                        if inv.engine_confirms is None
                        else " (engine confirms)"
                        if inv.engine_confirms
                        else " (engine does NOT confirm)"
                    )
                )
            )
            rows.append((_mc(inv.id), _md(inv.title), _mc(inv.statement), status_text, _md(inv.location)))
        out += _md_table(["Invariant", "Title", "Statement", "Status", "Where"], rows)
    else:
        out += ["The knowledge base declares no invariants.", ""]
    out += ["## Anomalies", ""]
    if not v.available:
        out += [_md(v.note), ""]
    elif v.anomalies:
        out += _md_table(
            ["Severity", "Check", "Message", "Rules", "Where"],
            (
                (
                    a.severity,
                    _mc(a.check),
                    _md(a.message) + (f" (for example: {_md(_case_text(a.example))})" if a.example else ""),
                    _md_rules(a.rules, "-"),
                    _md(", ".join(a.locations)),
                )
                for a in v.anomalies
            ),
        )
    else:
        out += ["No anomalies.", ""]
    out += _clinical_safety_markdown(audit)
    out += ["## Rules", ""]
    for path, rules in audit.rule_files.items():
        out += [f"### {_md(path)} ({len(rules)} rules)", ""]
        for rule in rules:
            out += _md_rule(rule)
    out += ["## Rules no case exercises", ""]
    if audit.unexercised:
        out += _md_table(
            ["Rule", "Title", "Where"],
            ((_md_rules([r.id]), _md(r.title), _md(r.location)) for r in audit.unexercised),
        )
    else:
        out += ["Every rule is exercised by at least one clinical case.", ""]
    out += ["## Clinical cases", ""]
    out += _md_table(
        ["Case", "Title", "Result", "Rules it exercises"],
        (
            (
                _mc(c.id),
                _md(c.title),
                "passes" if c.passed else "**fails**: " + _md("; ".join(c.problems)),
                str(len(c.fired_rules)),
            )
            for c in audit.cases
        ),
    )

    out += ["## Catalogue", "", "### Where sources disagree", ""]
    if audit.conflicts:
        out += _md_table(
            ["Entry", "Category", "Disagreement"],
            ((_mc(c.id), c.category, _md(_conflict_text(c))) for c in audit.conflicts),
        )
    else:
        out += ["No entry has disagreeing sources.", ""]
    for entry in audit.catalogue:
        out += [
            f'<a id="{anchor("recommendation", entry.id)}"></a>',
            "",
            f"### {_md(entry.title)} ({_mc(entry.id)}, {entry.category})",
            "",
        ]
        if entry.conflict:
            out += [f"**Sources disagree**: {_md(_conflict_text(entry))}.", ""]
        out += [_md(entry.advice), ""]
        if entry.because:
            out += [f"*Because*: {_md(entry.because)}", ""]
        if entry.evidence:
            out += _md_table(
                ["Source", "Level", "Ref", "Summary", "Verified"],
                (
                    (
                        _md(e.label),
                        _md(_level_text(e.level)),
                        _md(e.ref or ""),
                        _md(e.summary or ""),
                        "yes" if e.verified else "**unverified**",
                    )
                    for e in entry.evidence
                ),
            )
        for caution in entry.cautions:
            out.append(f"- Caution: {_md(caution)}")
        out += [
            f"- Recommended by: {_md_rules(entry.recommended_by, 'no rule')}",
            f"- Withheld by: {_md_rules(entry.withheld_by)}",
            f"- Cautioned by: {_md_rules(entry.cautioned_by)}",
            "",
        ]

    out += ["## Facts, findings, triage", "", "### Triage levels", ""]
    out += _md_table(["Triage level", "Set by"], ((t.level, _md_rules(t.set_by, "no rule")) for t in audit.triage))
    out += ["### Input facts", ""]
    out += _md_table(
        ["Fact", "Role", "Values", "Question", "Read by"],
        (
            (_mc(f.id), _md(f.role), _md(f.domain), _md(f.question), _md_rules(f.read_by, "no rule"))
            for f in audit.facts
        ),
    )
    out += ["### Derived findings", ""]
    out += _md_table(
        ["Finding", "Derived by", "Read by"],
        ((_mc(f.id), _md_rules(f.derived_by), _md_rules(f.read_by, "no rule")) for f in audit.findings),
    )
    out += ["## Sources", ""]
    out += _md_table(
        ["Source", "Title", "Status", "URL", "Used by"],
        (
            (
                _mc(s.id),
                _md(s.title),
                _md(s.status),
                _md(s.url or ""),
                f"{len(s.cited_by)} rules, {len(s.grades)} catalogue entries",
            )
            for s in audit.sources
        ),
    )
    out += [
        f"Generated by Spasm Advisor {_md(audit.engine_version)} from knowledge base {_md(audit.kb_version)} "
        f"({_mc(audit.kb_digest)}).",
        "",
    ]
    return "\n".join(out)

"""The sections of the clinician audit report: what each one says, in report blocks.

A section is one entry of :data:`SECTIONS`: its key (the HTML element id, and
the name of its template ``templates/audit/sections/KEY.html``), its title,
and one content function. The content function takes the
:class:`~spasm_advisor.render.audit_data.AuditData` and gives, for each
``$placeholder`` of the template, the content in
:mod:`~spasm_advisor.render.blocks` values. The HTML page fills the template;
the Markdown report writes the contents in the order given. Adding a
section is a content function, its template and its entry here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from spasm_advisor.kb.conditions import render_value
from spasm_advisor.kb.model import CATEGORIES, Provenance
from spasm_advisor.render.audit_data import (
    ActionAudit,
    AuditData,
    CatalogueAudit,
    CitedSourceAudit,
    RuleAudit,
)
from spasm_advisor.render.blocks import (
    Anchored,
    Article,
    Badge,
    Block,
    Cards,
    Code,
    ConditionTree,
    Content,
    Definitions,
    Details,
    Heading,
    Inline,
    Items,
    Join,
    Line,
    Link,
    Muted,
    Para,
    Raw,
    Span,
    Strong,
    Table,
    WebLink,
)
from spasm_advisor.render.graph_svg import anchor, render_mermaid, render_svg
from spasm_advisor.render.safety_case import safety_case_html, safety_case_markdown

__all__ = ["SECTIONS", "Section"]


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the report: ``content`` fills the placeholders of ``templates/audit/sections/KEY.html``."""

    key: str
    title: str
    content: Callable[[AuditData], Mapping[str, Content]]


# --- shared wording -------------------------------------------------------------------


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


def _link(kind: str, name: str, text: str | None = None) -> Link:
    return Link(anchor(kind, name), text if text is not None else name)


def _code_link(kind: str, name: str) -> Code | Link:
    return Link(anchor(kind, name), Code(name))


def _rule_links(rule_ids: Iterable[str], none: str = "none") -> Join:
    return Join(tuple(_code_link("rule", r) for r in rule_ids), ", ", Muted(none))


def _anchored_code(kind: str, name: str) -> Anchored:
    return Anchored(anchor(kind, name), Code(name))


# --- summary -------------------------------------------------------------------------


def _summary(audit: AuditData) -> dict[str, Content]:
    v = audit.verification
    proved = sum(1 for i in v.invariants if i.status == "proved")
    passed = sum(1 for c in audit.cases if c.passed)
    exercised = len(audit.rules) - len(audit.unexercised)
    if v.ok is None:
        status = Badge("not checked", "warn")
    elif v.ok:
        status = Badge("no errors; every invariant proved", "ok")
    else:
        status = Badge("problems found", "bad")
    cards: tuple[tuple[str, Inline, bool], ...] = (
        ("Knowledge base", Join(("version ", Strong(audit.kb_version))), False),
        ("Digest", Code(audit.kb_digest, "digest"), True),
        ("Engine", f"Spasm Advisor {audit.engine_version}", False),
        ("Rules", Join((Strong(str(len(audit.rules))), f" in {len(audit.rule_files)} files")), False),
        ("Vocabulary", f"{len(audit.facts)} facts, {len(audit.findings)} findings", False),
        ("Catalogue", f"{len(audit.catalogue)} entries, {len(audit.conflicts)} with disagreeing sources", False),
        ("Sources", str(len(audit.sources)), False),
        ("Verification", status, False),
        ("Invariants", Join((Strong(str(proved)), f" of {len(v.invariants)} proved")), False),
        ("Anomalies", f"{len(v.errors)} errors, {len(v.warnings)} warnings", False),
        ("Proof coverage", v.coverage_text(), True),
        ("Clinical cases", Join((Strong(str(passed)), f" of {len(audit.cases)} pass")), False),
        (
            "Rules exercised by cases",
            Join(
                (
                    Strong(str(exercised)),
                    f" of {len(audit.rules)} (",
                    Link("unexercised", f"{len(audit.unexercised)} not exercised"),
                    ")",
                )
            ),
            False,
        ),
    )
    return {"cards": Cards(cards), "note": Para(v.note, "muted")}


# --- graph ---------------------------------------------------------------------------


def _graph(audit: AuditData) -> dict[str, Content]:
    note = (
        "Left to right: input facts, derived findings (a finding sits right of the findings it rests on), "
        "then triage levels and recommendations. An edge joins what a rule reads to what it concludes; its "
        "tooltip names the rules."
    )
    mermaid = (
        "Dotted edges read an absence; red edges withhold, amber edges caution.\n\n"
        f"```mermaid\n{render_mermaid(audit.graph)}\n```"
    )
    return {"note": note, "graph": Raw(render_svg(audit.graph), mermaid)}


# --- invariants and anomalies ------------------------------------------------------------


def _invariants(audit: AuditData) -> dict[str, Content]:
    v = audit.verification
    rows = []
    for inv in v.invariants:
        status: list[Inline] = [Badge(inv.status, {"proved": "ok", "violated": "bad"}.get(inv.status, "warn"))]
        if inv.status == "violated":
            confirm = {True: " the engine confirms it", False: " the engine does NOT confirm it", None: ""}
            counterexample = ("Counterexample: ", Code(_case_text(inv.counterexample)), confirm[inv.engine_confirms])
            status.append(Line(Join(counterexample)))
        title: list[Inline] = [inv.title]
        if inv.because:
            title.append(Line(inv.because, "muted"))
        rows.append(
            (
                _anchored_code("invariant", inv.id),
                Join(tuple(title)),
                Code(inv.statement),
                Join(tuple(status)),
                inv.location,
            )
        )
    table: Content = (
        Table(("Invariant", "Title", "Statement", "Status", "Where"), tuple(rows), "invariants")
        if rows
        else Para("The knowledge base declares no invariants.", "muted")
    )
    return {"coverage": Para(f"{v.coverage_text().capitalize()}.", "muted"), "table": table}


def _anomalies(audit: AuditData) -> dict[str, Content]:
    v = audit.verification
    if not v.available:
        return {"anomalies": Para(v.note, "muted")}
    if not v.anomalies:
        return {"anomalies": Para("No anomalies.")}
    rows = tuple(
        (
            Badge(a.severity, "bad" if a.severity == "error" else "warn"),
            Code(a.check),
            Join((a.message, Line(f"for example: {_case_text(a.example)}", "muted"))) if a.example else a.message,
            _rule_links(a.rules, "-"),
            Join(a.locations, lines=True),
        )
        for a in v.anomalies
    )
    return {"anomalies": Table(("Severity", "Check", "Message", "Rules", "Where"), rows, "anomalies")}


# --- clinical safety -------------------------------------------------------------------


def _safety(audit: AuditData) -> dict[str, Content]:
    """The hazard log traced to controls, proofs and tests (rendered by :mod:`~spasm_advisor.render.safety_case`)."""
    if audit.safety is None:
        return {"safety": Para("No safety case was built for this report.", "muted")}
    markdown = "\n".join(safety_case_markdown(audit.safety, 3)).rstrip("\n")
    return {"safety": Raw(safety_case_html(audit.safety), markdown)}


# --- rules ---------------------------------------------------------------------------


def _action(action: ActionAudit) -> Inline:
    if action.kind == "derive":
        return Join(("derive finding ", Link(anchor("finding", action.target), Code(action.target))))
    if action.kind == "triage":
        return Join(("set triage to ", Badge(action.target, "triage-" + action.target)))
    verbs: dict[str, Inline] = {
        "recommend": "recommend",
        "withhold": Span("withhold", "act-withhold"),
        "caution": Span("caution on", "act-caution"),
    }
    parts: list[Inline] = [verbs[action.kind], " ", Link(anchor("recommendation", action.target), Code(action.target))]
    if action.target_title:
        parts += [" ", Muted(f"({action.target_title})")]
    if action.text:
        parts.append(f": {action.text}")
    return Join(tuple(parts))


def _citation(c: CitedSourceAudit) -> Inline:
    parts: list[Inline] = [_link("source", c.source, c.label)]
    if c.ref:
        parts += [" ", Span(f"({c.ref})", "ref")]
    if not c.verified:
        parts += [" ", Badge("unverified", "unverified")]
    if c.source_status != "current":
        parts += [" ", Badge(c.source_status, "withdrawn")]
    return Join(tuple(parts))


def _provenance(p: Provenance) -> Inline:
    reviewer: Inline = p.reviewer if p.reviewer else Span("not yet reviewed", "warn-text")
    return Join(
        (
            "status ",
            Badge(p.status, "status-" + p.status),
            f"; author {p.author or 'unknown'}; reviewer ",
            reviewer,
            f"; version {p.version or '?'}; last reviewed {p.last_reviewed or 'never'}",
        )
    )


def _rule_article(rule: RuleAudit) -> Article:
    search = " ".join([rule.id, rule.title, rule.when, rule.path, *(a.target for a in rule.actions)]).lower()
    cases: Inline = (
        Join(tuple(Link(anchor("case", c), Code(c)) for c in rule.exercised_by), ", ")
        if rule.exercised_by
        else Badge("no clinical case exercises this rule", "warn")
    )
    depends = tuple(
        Join(
            (
                "no " if dep.absence else "",
                Link(anchor("finding", dep.finding), Code(dep.finding)),
                " (derived by ",
                _rule_links(dep.derived_by),
                ")",
            )
        )
        for dep in rule.depends_on
    )
    sources: Content = Items(tuple(_citation(c) for c in rule.sources)) if rule.sources else Badge("no source", "warn")
    rows: list[tuple[str, Content]] = [
        ("When", ConditionTree(rule.condition, rule.when)),
        ("Then", Items(tuple(_action(a) for a in rule.actions))),
        ("Because", Para(rule.because)),
        ("Sources", sources),
    ]
    if rule.evidence:
        rows.append(("Evidence", rule.evidence))
    rows += [
        ("Provenance", _provenance(rule.provenance)),
        ("Exercised by", cases),
        ("Depends on", Join(depends, "; ", Muted("input facts only"))),
        ("Depended on by", _rule_links(rule.depended_on_by)),
    ]
    return Article(
        id=anchor("rule", rule.id),
        cls="rule",
        heading=Join((Link(anchor("rule", rule.id), Code(rule.id), "anchor"), " ", rule.title)),
        body=(Para(f"{rule.location} · stratum {rule.stratum}", "meta"), Definitions(tuple(rows))),
        search=search,
    )


def _rules(audit: AuditData) -> dict[str, Content]:
    blocks: list[Block] = []
    for path, rules in audit.rule_files.items():
        file_id = "file-" + re.sub(r"[^a-z0-9]+", "-", path.lower())
        blocks.append(Heading(Join((path, " ", Muted(f"({len(rules)} rules)"))), 3, file_id))
        blocks.extend(_rule_article(rule) for rule in rules)
    return {"files": tuple(blocks)}


def _unexercised(audit: AuditData) -> dict[str, Content]:
    note = Para("No clinical case in the case set makes these rules fire; only the proofs cover them.", "muted")
    rules: Content = (
        Table(
            ("Rule", "Title", "Where"),
            tuple((_code_link("rule", r.id), r.title, r.location) for r in audit.unexercised),
            "unexercised",
        )
        if audit.unexercised
        else Para("Every rule is exercised by at least one clinical case.")
    )
    return {"note": note, "rules": rules}


# --- cases ---------------------------------------------------------------------------


def _cases(audit: AuditData) -> dict[str, Content]:
    rows = []
    for case in audit.cases:
        result: Inline = (
            Badge("passes", "ok") if case.passed else Join((Badge("fails", "bad"), Line(Join(case.problems, "; "))))
        )
        rows.append(
            (
                _anchored_code("case", case.id),
                Join((case.title, Line(case.path, "muted"))),
                result,
                Details(f"{len(case.fired_rules)} rules", _rule_links(case.fired_rules)),
            )
        )
    if not rows:
        return {"cases": Para("No clinical cases were given.", "muted")}
    return {"cases": Table(("Case", "Title", "Result", "Rules it exercises"), tuple(rows), "cases")}


# --- catalogue -------------------------------------------------------------------------


def _evidence(entry: CatalogueAudit) -> Block:
    if not entry.evidence:
        return Para("No source grades this entry.", "muted")
    rows = tuple(
        (
            _link("source", e.source, e.label),
            Badge(_level_text(e.level), "level-" + e.level),
            e.ref or "",
            e.summary or "",
            Muted("yes") if e.verified else Badge("unverified", "unverified"),
        )
        for e in entry.evidence
    )
    return Table(("Source", "Level", "Ref", "Summary", "Verified"), rows, "evidence")


def _catalogue_article(entry: CatalogueAudit) -> Article:
    body: list[Block] = []
    if entry.conflict:
        body.append(Para(Join((Strong("Sources disagree"), f": {_conflict_text(entry)}.")), "conflict"))
    body.append(Para(entry.advice))
    if entry.because:
        body.append(Para(Join((Strong("Because"), f": {entry.because}")), "muted"))
    body.append(_evidence(entry))
    if entry.cautions:
        body += [Para(Strong("Cautions")), Items(entry.cautions)]
    body.append(
        Para(
            Join(
                (
                    "Recommended by ",
                    _rule_links(entry.recommended_by, "no rule"),
                    "; withheld by ",
                    _rule_links(entry.withheld_by),
                    "; cautioned by ",
                    _rule_links(entry.cautioned_by),
                    ".",
                )
            )
        )
    )
    return Article(
        id=anchor("recommendation", entry.id),
        cls="rec has-conflict" if entry.conflict else "rec",
        heading=Join((entry.title, " ", Code(entry.id), " ", Badge(entry.category, "cat-" + entry.category))),
        body=tuple(body),
    )


def _catalogue(audit: AuditData) -> dict[str, Content]:
    conflicts: Block = (
        Table(
            ("Entry", "Category", "Disagreement"),
            tuple((_link("recommendation", c.id, c.title), c.category, _conflict_text(c)) for c in audit.conflicts),
            "conflicts",
        )
        if audit.conflicts
        else Para("No entry has disagreeing sources.")
    )
    entries: list[Block] = []
    for category in CATEGORIES:
        in_category = [c for c in audit.catalogue if c.category == category]
        if in_category:
            entries.append(Heading(category.capitalize()))
            entries.extend(_catalogue_article(c) for c in in_category)
    return {"conflicts": (Heading("Where sources disagree"), conflicts), "entries": tuple(entries)}


# --- vocabulary and sources -----------------------------------------------------------------


def _vocabulary(audit: AuditData) -> dict[str, Content]:
    triage = Table(
        ("Triage level", "Set by"),
        tuple(
            (Anchored(anchor("triage", t.level), Badge(t.level, "triage-" + t.level)), _rule_links(t.set_by, "no rule"))
            for t in audit.triage
        ),
        "triage",
    )
    facts = Table(
        ("Fact", "Role", "Values", "Question", "Read by"),
        tuple(
            (
                _anchored_code("fact", f.id),
                Badge(f.role.replace("_", " "), "role-" + f.role),
                f.domain,
                f.question,
                _rule_links(f.read_by, "no rule"),
            )
            for f in audit.facts
        ),
        "facts",
    )
    findings = Table(
        ("Finding", "Derived by", "Read by"),
        tuple(
            (_anchored_code("finding", f.id), _rule_links(f.derived_by), _rule_links(f.read_by, "no rule"))
            for f in audit.findings
        ),
        "findings",
    )
    return {
        "triage": (Heading("Triage levels"), triage),
        "facts": (Heading("Input facts"), facts),
        "findings": (Heading("Derived findings"), findings),
    }


def _sources(audit: AuditData) -> dict[str, Content]:
    rows = []
    for s in audit.sources:
        title: list[Inline] = [s.title]
        if s.url:
            title.append(Line(WebLink(s.url)))
        if s.notes:
            title.append(Line(s.notes.strip(), "muted"))
        rows.append(
            (
                _anchored_code("source", s.id),
                Join(tuple(title)),
                " ".join(str(p) for p in (s.publisher, s.year) if p),
                Badge(s.status, "ok" if s.status == "current" else "withdrawn"),
                f"{len(s.cited_by)} rules, {len(s.grades)} catalogue entries",
            )
        )
    return {"sources": Table(("Source", "Title", "Publisher", "Status", "Used by"), tuple(rows), "sources")}


#: The sections of the report, in order.
SECTIONS: tuple[Section, ...] = (
    Section("summary", "Summary", _summary),
    Section("graph", "Dependency graph", _graph),
    Section("invariants", "Invariants", _invariants),
    Section("anomalies", "Anomalies", _anomalies),
    Section("safety", "Clinical safety", _safety),
    Section("rules", "Rules", _rules),
    Section("unexercised", "Rules no case exercises", _unexercised),
    Section("cases", "Clinical cases", _cases),
    Section("catalogue", "Catalogue", _catalogue),
    Section("vocabulary", "Facts, findings, triage", _vocabulary),
    Section("sources", "Sources", _sources),
)

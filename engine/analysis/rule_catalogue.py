"""Browsing the rule base: ``rules list`` and ``rules show``."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import EngineError
from spasm_advisor.kb.conditions import render
from spasm_advisor.kb.model import KnowledgeBase, RuleSpec

__all__ = ["filter_rules", "find_rule", "render_list", "render_rule", "rule_details", "rule_summary"]


def _categories(kb: KnowledgeBase, rule: RuleSpec) -> set[str]:
    found = {PurePath(rule.path).stem}
    for action in rule.actions:
        if action.kind == "recommend":
            found.add(kb.recommendations[action.target].category)
        elif action.kind == "derive":
            found.add("finding")
        else:
            found.add(action.kind)
    return found


def filter_rules(
    kb: KnowledgeBase,
    *,
    category: str | None = None,
    source: str | None = None,
    fact: str | None = None,
    status: str | None = None,
) -> list[RuleSpec]:
    """Rules matching every filter given, in firing order."""
    if source is not None and source not in kb.sources:
        raise EngineError(f"unknown source '{source}'{did_you_mean(source, kb.sources)}")
    if fact is not None and fact not in kb.facts and fact not in kb.findings:
        raise EngineError(f"unknown fact or finding '{fact}'{did_you_mean(fact, set(kb.facts) | kb.findings)}")
    rows = []
    for rule in kb.rules:
        if category is not None and category not in _categories(kb, rule):
            continue
        if source is not None and all(c.source != source for c in rule.sources):
            continue
        if fact is not None and fact not in rule.facts_read() | rule.findings_read():
            continue
        if status is not None and rule.provenance.status != status:
            continue
        rows.append(rule)
    return rows


def find_rule(kb: KnowledgeBase, rule_id: str) -> RuleSpec:
    """The rule with this id, or an error suggesting the closest id."""
    rule = kb.rule_index.get(rule_id)
    if rule is None:
        raise EngineError(f"unknown rule '{rule_id}'{did_you_mean(rule_id, kb.rule_index)}")
    return rule


def _action_text(action: Any) -> str:
    text = f"{action.kind} {action.target}"
    return f"{text}: {action.text}" if action.text else text


def rule_summary(kb: KnowledgeBase, rule: RuleSpec) -> dict[str, Any]:
    """One line of ``rules list`` as data."""
    return {
        "id": rule.id,
        "title": rule.title,
        "when": render(rule.condition),
        "then": [_action_text(a) for a in rule.actions],
        "status": rule.provenance.status,
        "location": f"{rule.path}:{rule.line}",
    }


def rule_details(kb: KnowledgeBase, rule: RuleSpec) -> dict[str, Any]:
    """Everything ``rules show`` prints, as data."""
    derivers = sorted({other.id for other in kb.rules for name in rule.findings_read() if name in other.derives})
    dependents = sorted({other.id for other in kb.rules if set(rule.derives) & other.findings_read()})
    prov = rule.provenance
    return {
        **rule_summary(kb, rule),
        "because": rule.because,
        "evidence": rule.evidence,
        "sources": [
            {"id": c.source, "title": kb.sources[c.source].title, "ref": c.ref, "verified": c.verified}
            for c in rule.sources
        ],
        "provenance": {
            "author": prov.author,
            "reviewer": prov.reviewer,
            "version": prov.version,
            "status": prov.status,
            "last_reviewed": prov.last_reviewed,
            "history": prov.history,
        },
        "stratum": rule.stratum,
        "reads_facts": sorted(rule.facts_read()),
        "reads_findings": sorted(rule.findings_read()),
        "depends_on_rules": derivers,
        "used_by_rules": dependents,
    }


def render_list(rules: list[RuleSpec]) -> str:
    """``rules list`` as text: id, status, title."""
    if not rules:
        return "no rules match\n"
    width = max(len(r.id) for r in rules)
    lines = [f"{r.id:<{width}}  {r.provenance.status:<10}  {r.title}" for r in rules]
    lines.append(f"{len(rules)} rule(s)")
    return "\n".join(lines) + "\n"


def render_rule(kb: KnowledgeBase, rule: RuleSpec) -> str:
    """``rules show`` as text."""
    d = rule_details(kb, rule)
    lines = [
        f"{d['id']}: {d['title']}",
        f"  defined at:  {d['location']}",
        f"  when:        {d['when']}",
        "  then:",
        *[f"    - {t}" for t in d["then"]],
        f"  because:     {d['because']}",
    ]
    if d["evidence"]:
        lines.append(f"  evidence:    {d['evidence']}")
    lines.append("  sources:")
    for s in d["sources"]:
        ref = f" ({s['ref']})" if s["ref"] else ""
        flag = "" if s["verified"] else " [unverified]"
        lines.append(f"    - {s['title']}{ref}{flag}")
    p = d["provenance"]
    lines.append(
        f"  provenance:  status {p['status']}, version {p['version'] or '-'}, author {p['author'] or '-'}, "
        f"reviewer {p['reviewer'] or '-'}, last reviewed {p['last_reviewed'] or '-'}"
    )
    if p["history"]:
        lines.append(f"  history:     {p['history']}")
    lines.append(f"  reads facts:    {', '.join(d['reads_facts']) or '-'}")
    lines.append(f"  reads findings: {', '.join(d['reads_findings']) or '-'}")
    lines.append(f"  depends on:     {', '.join(d['depends_on_rules']) or '-'}")
    lines.append(f"  used by:        {', '.join(d['used_by_rules']) or '-'}")
    return "\n".join(lines) + "\n"

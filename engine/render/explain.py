"""Readable derivation trees (``spasm-advisor explain``)."""

from __future__ import annotations

from typing import Any

from spasm_advisor.inference.assessment import Assessment
from spasm_advisor.kb.conditions import render_value

__all__ = ["render_explanation"]


def _node(node: dict[str, Any], prefix: str, last: bool, lines: list[str]) -> None:
    branch = "└─ " if last else "├─ "
    lines.append(f"{prefix}{branch}rule {node['rule']}: {node['title']}")
    inner = prefix + ("   " if last else "│  ")
    lines.append(f"{inner}because: {node['because']}")
    if node["conditions"]:
        lines.append(f"{inner}when: {' and '.join(node['conditions'])}")
    if node["facts"]:
        lines.append(f"{inner}facts: " + ", ".join(f"{k} = {render_value(v)}" for k, v in node["facts"].items()))
    if node["unanswered"]:
        lines.append(f"{inner}unanswered: " + ", ".join(node["unanswered"]))
    if node["absent_findings"]:
        lines.append(f"{inner}relies on no: " + ", ".join(node["absent_findings"]))
    sources = "; ".join(
        s["title"] + (f" ({s['ref']})" if s["ref"] else "") + ("" if s["verified"] else " [unverified]")
        for s in node["sources"]
    )
    lines.append(f"{inner}sources: {sources}")
    children = node["derived_from"]
    for i, child in enumerate(children):
        _node(child, inner, i == len(children) - 1, lines)


def render_explanation(assessment: Assessment) -> str:
    """The derivation tree of the triage, each recommendation and each withheld item, as text."""
    tree = assessment.explain()
    lines = [f"Triage: {tree['triage']['level']}"]
    derivations = tree["triage"]["derivations"]
    if not derivations:
        lines.append("└─ no rule raised the triage: self-care is the default")
    for i, node in enumerate(derivations):
        _node(node, "", i == len(derivations) - 1, lines)
    for rec in tree["recommendations"]:
        lines += ["", f"Recommendation {rec['id']} ({rec['category']}): {rec['title']}"]
        for i, node in enumerate(rec["derivations"]):
            _node(node, "", i == len(rec["derivations"]) - 1, lines)
    for item in tree["withheld"]:
        lines += ["", f"Withheld {item['id']}: {item['reason']}"]
        _node(item["derivations"][0], "", True, lines)
    if tree["unanswered_red_flags"]:
        lines += ["", "Unanswered red flags (unknown, not 'no'): " + ", ".join(tree["unanswered_red_flags"])]
    return "\n".join(lines) + "\n"

"""The human-readable report of an assessment (text, no printing)."""

from __future__ import annotations

import textwrap

from spasm_advisor.inference.assessment import NOTICE, Assessment, Derivation
from spasm_advisor.kb.conditions import render_value

__all__ = ["render_text"]

_TRIAGE_TEXT = {
    "emergency": "EMERGENCY: go to an emergency department now, or call your local emergency number.",
    "urgent": "URGENT: see a clinician today (within 24 hours).",
    "routine": "ROUTINE: book a review with a GP or physiotherapist within days to weeks.",
    "self_care": "SELF-CARE: this can be managed at home, with the safety-net advice below.",
}
_CATEGORY_TITLES = (("referral", "Referral"), ("relief", "Relief (self-care)"), ("therapy", "Therapy"))


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=88, initial_indent=indent, subsequent_indent=indent)


def _why(node: Derivation) -> str:
    facts = ", ".join(f"{k}={render_value(v)}" for k, v in node.facts)
    basis = " and ".join(node.conditions) or "always"
    sources = "; ".join(
        s.title.split(":")[0] + (f" {s.ref}" if s.ref else "") + ("" if s.verified else " [unverified]")
        for s in node.sources
    )
    parts = [f"rule {node.rule}: {node.because}", f"when {basis}" + (f" ({facts})" if facts else "")]
    if sources:
        parts.append(f"source: {sources}")
    return " | ".join(parts)


def render_text(assessment: Assessment) -> str:
    """A plain-text report: triage first, then advice by category, withheld items and warnings."""
    lines = [f"Triage: {assessment.triage}", _wrap(_TRIAGE_TEXT[assessment.triage], "  ")]
    for node in assessment.triage_explanation:
        lines.append(_wrap("because " + _why(node), "    "))
    for category, heading in _CATEGORY_TITLES:
        items = assessment.by_category(category)
        if not items:
            continue
        lines += ["", f"{heading}:"]
        for rec in items:
            lines.append(f"  - {rec.title} [{rec.id}]")
            lines.append(_wrap(rec.advice, "      "))
            levels = "; ".join(
                dict.fromkeys(
                    e["source_title"].split(":")[0]
                    + (f" {e['ref']}" if e["ref"] else "")
                    + f": {e['level'].replace('_', ' ')}"
                    + ("" if e["verified"] else " [unverified]")
                    for e in rec.evidence
                )
            )
            if levels:
                lines.append(_wrap(f"Evidence: {levels}", "      "))
            for warning in rec.warnings:
                lines.append(_wrap(f"Warning: {warning.message}", "      "))
            for caution in rec.cautions:
                lines.append(_wrap(f"Caution: {caution}", "      "))
            for node in rec.explanation:
                lines.append(_wrap("Why: " + _why(node), "      "))
    if assessment.withheld:
        lines += ["", "Withheld (not advised for this case):"]
        for item in assessment.withheld:
            lines.append(_wrap(f"- {item.title} [{item.id}]: {item.reason} (rule {item.rule})", "  "))
    if assessment.unanswered_red_flags:
        lines += [
            "",
            "Unanswered red-flag questions (treated as unknown, not as 'no'):",
            _wrap(", ".join(assessment.unanswered_red_flags), "  "),
            _wrap(
                "If any of these apply, the advice above may not be safe: answer them, or ask a clinician.",
                "  ",
            ),
        ]
    lines += ["", _wrap(NOTICE, ""), f"Knowledge base {assessment.kb_version} ({assessment.kb_digest[:19]})"]
    return "\n".join(lines) + "\n"

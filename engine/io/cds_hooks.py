"""HL7 CDS Hooks cards for an assessment.

One card per recommendation, with its indicator taken from the triage
(emergency: critical, urgent: warning, otherwise info), plus one warning card
per withheld item. Each summary is under 140 characters and each has a
source label naming the guideline. Optional fields are omitted, never null.
"""

from __future__ import annotations

import uuid
from typing import Any

from spasm_advisor.inference.assessment import Assessment, Recommendation
from spasm_advisor.kb.model import KnowledgeBase

__all__ = ["INDICATORS", "to_cds_hooks"]

INDICATORS = {"emergency": "critical", "urgent": "warning", "routine": "info", "self_care": "info"}
_NAMESPACE = uuid.UUID("6f1c2d3e-5a4b-4c3d-8e9f-0a1b2c3d4e5f")


def _summary(text: str) -> str:
    return text if len(text) < 140 else text[:136].rstrip() + "..."


def _label(kb: KnowledgeBase, rec: Recommendation) -> str:
    parts = []
    for ev in rec.evidence:
        source = kb.sources[ev["source"]]
        parts.append(source.short + (f" {ev['ref']}" if ev.get("ref") else ""))
    if not parts:
        parts = [kb.sources[s].short for s in rec.sources]
    return "; ".join(dict.fromkeys(parts))


def to_cds_hooks(assessment: Assessment, kb: KnowledgeBase) -> dict[str, Any]:
    """The assessment as a CDS Hooks response: ``{"cards": [...]}``."""
    indicator = INDICATORS[assessment.triage]
    cards = []
    for rec in assessment.recommendations:
        detail = [rec.advice]
        detail += [f"**Warning:** {w.message}" for w in rec.warnings]
        detail += [f"**Caution:** {c}" for c in rec.cautions]
        detail += [f"*Why:* {node.because} (rule `{node.rule}`)" for node in rec.explanation]
        cards.append(
            {
                "uuid": str(uuid.uuid5(_NAMESPACE, f"{assessment.kb_digest}:{rec.id}")),
                "summary": _summary(rec.title),
                "detail": "\n\n".join(detail),
                "indicator": indicator,
                "source": {"label": _label(kb, rec)},
            }
        )
    for item in assessment.withheld:
        spec = kb.recommendations[item.id]
        cards.append(
            {
                "uuid": str(uuid.uuid5(_NAMESPACE, f"{assessment.kb_digest}:withheld:{item.id}:{item.rule}")),
                "summary": _summary(f"Avoid: {spec.title}"),
                "detail": f"{item.reason} (rule `{item.rule}`)",
                "indicator": "warning",
                "source": {
                    "label": "; ".join(
                        dict.fromkeys(kb.sources[c.source].short for c in kb.rule_index[item.rule].sources)
                    )
                },
            }
        )
    return {"cards": cards}

"""The summary columns (spasm_advisor.io.tables) that a batch summary record, expanded to names, stands for."""

from __future__ import annotations

from spasm_advisor.io.tables import SUMMARY_COLUMNS
from spasm_advisor.kb.model import CATEGORIES


def row_of(record: dict[str, object]) -> dict[str, object]:
    """Column name to cell, from an expanded summary record (or an error record)."""
    if "error" in record:
        empty = dict.fromkeys(SUMMARY_COLUMNS, "")
        return {**empty, "error": record["error"], "withheld_reasons": []}
    ids = [r["id"] for r in record["recommendations"]]
    by_category = {c: ";".join(r["id"] for r in record["recommendations"] if r["category"] == c) for c in CATEGORIES}
    return {
        "triage": record["triage"],
        "recommendations": ";".join(ids),
        "withheld": ";".join(dict.fromkeys(w["id"] for w in record["withheld"])),
        "unanswered_red_flags": ";".join(record["unanswered_red_flags"]),
        "error": "",
        **by_category,
        "withheld_reasons": [{"id": w["id"], "rule": w["rule"], "reason": w["reason"]} for w in record["withheld"]],
        "findings": ";".join(record["findings"]),
        "fired_rules": ";".join(record["fired_rules"]),
        "kb_version": record["knowledge_base"]["version"],
        "kb_digest": record["knowledge_base"]["digest"],
    }

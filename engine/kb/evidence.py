"""How strong the evidence for a catalogue entry is, in one plain phrase for the person.

The phrase is derived from the graded evidence (``evidence:`` in the
catalogue), never written by hand, so it cannot say more than the grades do:

* **guidelines disagree**: one source grades it for and another against, or
  an entry grades it ``conflicting``;
* **good evidence**: a source recommends it and that grading was verified;
* **some evidence**: a source recommends it (not verified) or grades it weak;
* **advised against**: the only grades are against it;
* **little evidence**: nothing grades it better than ``insufficient``.

The clinician sees the grades themselves (``assess --details``, the audit report).
"""

from __future__ import annotations

from collections.abc import Iterable

from spasm_advisor.kb.model import Evidence

__all__ = ["OPPOSING", "STRENGTHS", "SUPPORTING", "sources_disagree", "strength"]

#: Levels that speak for a recommendation; "insufficient" is neither for nor against,
#: and "conflicting" is a source saying the others disagree.
SUPPORTING = frozenset({"recommended", "weak"})
#: Levels that speak against it.
OPPOSING = frozenset({"not_recommended"})
#: Every phrase :func:`strength` gives, strongest support first.
STRENGTHS: tuple[str, ...] = (
    "good evidence",
    "some evidence",
    "guidelines disagree",
    "little evidence",
    "advised against",
)


def sources_disagree(evidence: Iterable[Evidence]) -> bool:
    """Whether one source speaks for and another against, or an entry grades it ``conflicting``."""
    items = tuple(evidence)
    supporting = {e.source for e in items if e.level in SUPPORTING}
    opposing = {e.source for e in items if e.level in OPPOSING}
    return bool(supporting and opposing and supporting != opposing) or any(e.level == "conflicting" for e in items)


def strength(evidence: Iterable[Evidence]) -> str:
    """One phrase from :data:`STRENGTHS` for the graded evidence of one entry."""
    items = tuple(evidence)
    levels = {e.level for e in items}
    if sources_disagree(items):
        return "guidelines disagree"
    if any(e.level == "recommended" and e.verified for e in items):
        return "good evidence"
    if levels & SUPPORTING:
        return "some evidence"
    if levels & OPPOSING:
        return "advised against"
    return "little evidence"

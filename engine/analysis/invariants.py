"""Checking the safety invariants on concrete assessments.

The invariants are read, resolved and type-checked when the knowledge base
loads (:mod:`spasm_advisor.kb.invariants`); ``rules verify`` proves them over
every case (:mod:`spasm_advisor.analysis.verify`). This module checks one
assessment: an invariant holds when its ``given`` is not true for the case, or
its ``require`` is true, in the three-valued meaning of
:func:`spasm_advisor.kb.conditions.truth` (a comparison on an unanswered fact
is neither true nor false).
"""

from __future__ import annotations

from collections.abc import Mapping

from spasm_advisor.inference.assessment import Assessment
from spasm_advisor.kb.conditions import Condition, Value, truth
from spasm_advisor.kb.model import Invariant, KnowledgeBase

__all__ = ["Invariant", "holds", "load_invariants"]


def load_invariants(kb: KnowledgeBase) -> list[Invariant]:
    """The knowledge base's invariants, in file order (checked when it loaded)."""
    return list(kb.invariants)


def _true(cond: Condition, assessment: Assessment, values: Mapping[str, Value], findings: set[str]) -> bool:
    return (
        truth(
            cond,
            values,
            findings,
            given=assessment.recommendation_ids(),
            withheld=assessment.withheld_ids(),
            triage=assessment.triage,
        )
        is True
    )


def holds(invariant: Invariant, assessment: Assessment) -> bool:
    """Whether one assessment satisfies the invariant (``given`` not true, or ``require`` true)."""
    values = dict(assessment.case)
    findings = set(assessment.findings)
    if invariant.given is not None and not _true(invariant.given, assessment, values, findings):
        return True
    return _true(invariant.require, assessment, values, findings)

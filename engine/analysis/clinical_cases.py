"""Clinical test cases: case files with the triage and advice a clinician expects.

A case file (``knowledge/cases/*.yaml``) holds ``id``, ``title``, ``basis``,
``case`` (facts, exactly as ``assess`` reads them) and ``expect``:
``triage``, ``recommend`` (must be given), ``not_recommend`` (must not be
given), and optionally ``withheld`` and ``findings`` (read by
:mod:`spasm_advisor.kb.case_files`). :func:`check_case` returns what differs,
so clinicians can add their own cases and run them with ``spasm-advisor cases``.
"""

from __future__ import annotations

from spasm_advisor.errors import CaseError
from spasm_advisor.inference.assessment import Assessor
from spasm_advisor.io.case import Case
from spasm_advisor.kb.case_files import ClinicalCase, load_clinical_cases

__all__ = ["ClinicalCase", "check_case", "load_clinical_cases"]


def check_case(advisor: Assessor, case: ClinicalCase) -> list[str]:
    """What the engine does differently from the case's expectations (empty when it passes).

    ``advisor`` is an :class:`~spasm_advisor.Advisor`, or anything else that
    assesses cases against one knowledge base.
    """
    try:
        result = advisor.assess(Case.from_mapping(case.facts, advisor.knowledge_base, source=case.path))
    except CaseError as exc:
        return [f"the case does not validate: {exc}"]
    problems = []
    catalogue = advisor.knowledge_base.recommendations
    for rec_id in (
        *case.recommend,
        *case.not_recommend,
        *case.withheld,
        *case.not_withheld,
        *case.warned,
        *case.not_warned,
    ):
        if rec_id not in catalogue:
            problems.append(f"'{rec_id}' is not in the catalogue")
    if case.triage is not None and result.triage != case.triage:
        why = ", ".join(node.rule for node in result.triage_explanation) or "no rule"
        problems.append(f"triage is {result.triage} (set by {why}), expected {case.triage}")
    given = set(result.recommendation_ids())
    for rec_id in case.recommend:
        if rec_id not in given:
            reason = next((f" (withheld by {w.rule})" for w in result.withheld if w.id == rec_id), "")
            problems.append(f"'{rec_id}' is not recommended{reason}")
    for rec_id in case.not_recommend:
        if rec_id in given:
            rules = [n.rule for r in result.recommendations if r.id == rec_id for n in r.explanation]
            problems.append(f"'{rec_id}' is recommended (by {', '.join(rules)}) but must not be")
    withheld = set(result.withheld_ids())
    for rec_id in case.withheld:
        if rec_id not in withheld:
            problems.append(f"'{rec_id}' is not withheld")
    for rec_id in case.not_withheld:
        if rec_id in withheld:
            rules = [w.rule for w in result.withheld if w.id == rec_id]
            problems.append(f"'{rec_id}' is withheld (by {', '.join(rules)}) but must not be")
    for finding in case.findings:
        if finding not in result.findings:
            problems.append(f"finding '{finding}' is not derived")
    for finding in case.not_findings:
        if finding in result.findings:
            problems.append(f"finding '{finding}' is derived but must not be")
    warnings = {r.id: r.warnings for r in result.recommendations}
    for rec_id in case.warned:
        if not warnings.get(rec_id):
            problems.append(f"'{rec_id}' is not given with a warning")
    for rec_id in case.not_warned:
        if warnings.get(rec_id):
            sources = ", ".join(w.rule for w in warnings[rec_id])
            problems.append(f"'{rec_id}' carries a warning (from {sources}) but must not")
    return problems

"""why-not's smallest change is canonical: the same case gets the same answer, whatever ran before."""

from __future__ import annotations

import json

from spasm_advisor.analysis.whynot import why_not
from spasm_advisor.testing import sample_cases

RECS = ("stay_active", "heat_therapy", "nsaid_pain_relief", "massage_therapy", "clinician_review")


def test_ties_break_by_fact_order_then_value(mini):
    """Age, numbness or fever alone would each give see_doctor: the earliest fact wins, at its smallest value."""
    answer = why_not(mini, {"age": 30}, "see_doctor")
    assert answer.changes == (("age", 30, 50),)
    # An unanswered question is answered with its smallest value that works.
    assert why_not(mini, {}, "see_doctor").changes == (("age", None, 50),)
    # An answer is changed, never taken back to unknown.
    assert why_not(mini, {"numbness": True}, "rest").changes == (("numbness", True, False),)


def test_same_answer_after_other_calls(advisor):
    """Repeated in one process after other why-not calls, every answer is byte-identical."""
    cases = sample_cases(advisor.knowledge_base, 30, seed=11)
    asked = [(case, RECS[i % len(RECS)]) for i, case in enumerate(cases[:15])]
    first = [json.dumps(why_not(advisor, case, rec).to_dict()) for case, rec in asked]
    assert sum(json.loads(text)["smallest_changes"] not in (None, []) for text in first) >= 10
    for i, case in enumerate(cases[15:]):
        why_not(advisor, case, RECS[(i + 2) % len(RECS)])
    again = [json.dumps(why_not(advisor, case, rec).to_dict()) for case, rec in asked]
    assert again == first


def test_smallest_change_really_gives_the_recommendation(advisor):
    """Applying the reported change to the case gives the recommendation (checked by the engine)."""
    for i, case in enumerate(sample_cases(advisor.knowledge_base, 8, seed=3)):
        rec = RECS[i % len(RECS)]
        answer = why_not(advisor, case, rec)
        if not answer.changes:
            continue
        changed = dict(case)
        for fact, _, new in answer.changes:
            changed[fact] = new
        assert rec in advisor.assess(changed).recommendation_ids(), (case, answer.changes)

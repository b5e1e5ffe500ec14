"""why-not: the candidate rules, the conditions that failed with their values, and the smallest change."""

from __future__ import annotations

from spasm_advisor.analysis.whynot import why_not


def test_why_not_withheld_and_smallest_change(mini):
    """why-not names the withholding rule and the smallest change that would give it."""
    answer = why_not(mini, {"on_anticoagulants": True, "numbness": False, "fever": False}, "painkiller")
    assert answer.status == "withheld"
    assert answer.withheld_by[0][0] == "no_painkiller_on_anticoagulants"
    assert answer.changes == (("on_anticoagulants", True, False),)


def test_why_not_from_the_advisor(mini):
    """advisor.why_not is the library entry point for why-not."""
    assert mini.why_not({"numbness": True}, "rest").status == "not_recommended"
    assert mini.why_not({}, "rest").status == "given"


def test_why_not_failed_conditions_show_values(mini):
    """Failing conditions show the fact values that made them fail, 'unknown' where unanswered."""
    answer = why_not(mini, {"age": 30}, "see_doctor")
    assert answer.status == "not_recommended"
    by_rule = {(b.rule, b.branch): b for b in answer.candidates}
    older = by_rule[("older", 0)]
    assert not older.holds
    assert older.literals[0].to_dict() == {"condition": "age >= 50", "holds": False, "fact": "age", "value": 30}
    # Making it happen needs one answer: age 50+, or a red flag.
    assert answer.changes is not None
    assert len(answer.changes) == 1

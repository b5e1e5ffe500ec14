"""Safety properties of the bundled knowledge base, over generated cases."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine import Advisor
from engine.model import triage_rank
from engine.testing import REFERRAL_FOR_TRIAGE, benign_cases, cases, red_flag_cases

ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base
REFERRALS = {rec.id for rec in KB.recommendations.values() if rec.category == "referral"}
CES_SIGNS = ("saddle_anaesthesia", "bladder_or_bowel_dysfunction", "bilateral_leg_symptoms")


@given(red_flag_cases(KB))
def test_any_red_flag_gives_a_referral(case):
    """Any red flag answered yes gives at least one referral and a triage above self-care."""
    result = ADVISOR.assess(case)
    assert REFERRALS & set(result.recommendation_ids()), result.fired_rules
    assert result.triage != "self_care"


@given(st.sampled_from(CES_SIGNS).flatmap(lambda sign: cases(KB, **{sign: True})))
def test_ces_sign_is_an_emergency(case):
    """Any cauda equina sign gives emergency triage and emergency care."""
    result = ADVISOR.assess(case)
    assert result.triage == "emergency"
    assert "emergency_care" in result.recommendation_ids()


@given(cases(KB))
def test_triage_comes_with_its_referral(case):
    """Triage above self-care comes with the referral of that level."""
    result = ADVISOR.assess(case)
    if result.triage != "self_care":
        assert REFERRAL_FOR_TRIAGE[result.triage] in result.recommendation_ids()


@given(cases(KB))
def test_no_manipulation_or_massage_with_red_flag(case):
    """Manipulation and massage are never recommended while a red flag is present."""
    result = ADVISOR.assess(case)
    if any(case.get(flag) is True for flag in KB.red_flags()):
        assert "chiropractic_care" not in result.recommendation_ids()
        assert "massage_therapy" not in result.recommendation_ids()


@given(cases(KB), st.sampled_from(KB.red_flags()))
def test_answering_a_red_flag_yes_never_lowers_triage(case, flag):
    """Turning one red flag to yes never lowers the triage."""
    before = ADVISOR.assess({**case, flag: False}).triage
    unknown = {k: v for k, v in case.items() if k != flag}
    after = ADVISOR.assess({**case, flag: True}).triage
    assert triage_rank(after) >= triage_rank(before)
    assert triage_rank(after) >= triage_rank(ADVISOR.assess(unknown).triage)


@given(benign_cases(KB))
def test_benign_cases_list_no_unanswered_red_flags(case):
    """With every red flag answered no, none is listed as unanswered."""
    assert ADVISOR.assess(case).unanswered_red_flags == ()


@given(cases(KB))
def test_unanswered_red_flags_are_listed(case):
    """Every red flag left unanswered is listed, and only those."""
    result = ADVISOR.assess(case)
    assert set(result.unanswered_red_flags) == {f for f in KB.red_flags() if case.get(f) is None}

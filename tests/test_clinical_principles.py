"""The clinical principles of the knowledge base, checked where a clinical case cannot show them."""

from __future__ import annotations

import re

from spasm_advisor.analysis.whynot import render_why_not, why_not

SCREENED = {
    "age": 45,
    "pregnant": False,
    "duration_days": 120,
    "improving": True,
    "worsening": False,
    "numbness": False,
    "tingling": False,
    "weakness": False,
    "bilateral_leg_symptoms": False,
    "saddle_anaesthesia": False,
    "bladder_or_bowel_dysfunction": False,
    "fever": False,
    "iv_drug_use": False,
    "immunosuppressed": False,
    "history_of_cancer": False,
    "unexplained_weight_loss": False,
    "night_pain": False,
    "significant_trauma": False,
    "osteoporosis": False,
    "long_term_steroids": False,
    "on_anticoagulants": False,
    "sexual_dysfunction": False,
    "gait_disturbance": False,
}


def test_why_not_names_the_unanswered_questions(advisor):
    """While manipulation waits for answers, why-not lists each question still to answer."""
    case = {k: v for k, v in SCREENED.items() if k not in ("osteoporosis", "fever")}
    answer = why_not(advisor, case, "chiropractic_care", changes=False)
    assert answer.status == "withheld"
    assert {fact for fact, _ in answer.questions} == {"osteoporosis", "fever"}
    reasons = [reason for _, reason in answer.withheld_by]
    assert any(r.startswith("Not yet checked: answer the question about osteoporosis") for r in reasons)
    text = render_why_not(answer)
    assert "Not yet checked: answer these questions first:" in text
    assert advisor.knowledge_base.facts["osteoporosis"].question in text
    assert answer.to_dict()["questions"][0]["fact"] in {"osteoporosis", "fever"}


def test_why_not_lists_no_questions_for_a_contraindication(advisor):
    """A withhold on an answered contraindication names no question to answer."""
    answer = why_not(advisor, {**SCREENED, "on_anticoagulants": True}, "chiropractic_care", changes=False)
    assert answer.status == "withheld"
    assert answer.questions == ()


def test_answered_contraindication_questions_release_manipulation(advisor):
    """Once every contraindication question is answered no, manipulation is given again."""
    assert "chiropractic_care" in advisor.assess(SCREENED).recommendation_ids()


def test_nsaid_check_warning_names_each_unanswered_question(advisor):
    """Each unanswered NSAID risk question gives its own short 'check before you take it' warning."""
    case = {**SCREENED, "duration_days": 3, "age": 40}
    result = advisor.assess(case)
    (nsaid,) = [r for r in result.recommendations if r.id == "nsaid_pain_relief"]
    checks = [w.message for w in nsaid.warnings if w.message.startswith("Check before you take it")]
    # Answered: blood thinners, pregnancy, steroids, age. Unanswered: the six below.
    assert len(checks) == 6
    assert any("kidney disease" in m for m in checks)
    assert not any("blood thinner" in m for m in checks)


def test_acp_grades_say_which_duration_they_are_for(advisor):
    """ACP 2017 evidence names the duration class it applies to, so an acute case is not shown a chronic grade bare."""
    for rec in advisor.knowledge_base.recommendations.values():
        for evidence in rec.evidence:
            if evidence.source == "acp_2017" and evidence.ref:
                assert re.search(r"\((acute and subacute|chronic) pain\)", evidence.ref), (rec.id, evidence.ref)


def test_withdrawn_cg75_is_never_cited_as_verified(advisor):
    """CG75 is withdrawn: no rule cites its timings as verified."""
    kb = advisor.knowledge_base
    assert kb.sources["nice_cg75"].status == "withdrawn"
    cited = [(rule.id, c.verified) for rule in kb.rules for c in rule.sources if c.source == "nice_cg75"]
    assert cited
    assert not any(verified for _, verified in cited)


def test_archived_cks_is_its_own_archived_source(advisor):
    """The archived CKS page is a source of its own, marked archived; the current-CKS citations are unverified."""
    kb = advisor.knowledge_base
    assert kb.sources["cks_archived_sciatica"].status == "archived"
    current = [c for rule in kb.rules for c in rule.sources if c.source == "nice_cks"]
    assert current
    assert not any(c.verified for c in current)
    assert not any("rchived" in (c.ref or "") for c in current)


def test_koes_and_oliveira_are_two_sources(advisor):
    """The two guideline overviews are cited separately, each with its year."""
    sources = advisor.knowledge_base.sources
    assert sources["koes_2010"].year == 2010
    assert sources["oliveira_guideline_overview"].year == 2018
    assert "Koes" not in sources["oliveira_guideline_overview"].title


def test_bmj_summary_is_cited_in_full(advisor):
    """The BMJ summary of NG234 carries its full reference."""
    title = advisor.knowledge_base.sources["bmj_2023_ng234_summary"].title
    assert "BMJ 2023;383:p1973" in title
    assert "Hawkins" in title


def test_because_texts_state_reasons_not_edit_history(advisor):
    """No rule explains itself by its history of edits: that is kept in provenance."""
    history = re.compile(
        r"(on clinical review|verification correction|corrected by the verification|changed from)", re.I
    )
    offenders = [rule.id for rule in advisor.knowledge_base.rules if history.search(rule.because)]
    assert offenders == []
    kept = [rule.id for rule in advisor.knowledge_base.rules if rule.provenance.history]
    assert "infection_risk_factor_urgent" in kept


def _sentences(text):
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(text.split()))


def test_safety_net_sends_each_emergency_it_names_to_999(advisor):
    """The safety net agrees with the emergency rules: a blood thinner with sudden severe pain is in the 999 sentence."""
    net = advisor.knowledge_base.recommendations["safety_net_advice"]
    (emergency,) = [s for s in _sentences(net.advice) if s.startswith("Call {emergency_number}")]
    assert "sudden severe back pain while you take a blood thinner" in emergency
    assert "feeling faint, sweaty or very unwell" in emergency
    for sentence in _sentences(net.advice):
        if not sentence.startswith("Call {emergency_number}"):
            assert "blood thinner" not in sentence, sentence
    # The emergency level it agrees with.
    assert advisor.assess({"on_anticoagulants": True, "sudden_severe_pain": True}).triage == "emergency"


def test_ibuprofen_emergencies_are_in_the_999_sentence_and_the_escalation_is_a_convention(advisor):
    """Chest pain, a stroke or stomach bleeding on ibuprofen: call 999, not "ask a doctor"; the label is cited for
    the triggers and the knowledge base's convention for the escalation."""
    kb = advisor.knowledge_base
    net = kb.recommendations["safety_net_advice"]
    (emergency,) = [s for s in _sentences(net.advice) if s.startswith("Call {emergency_number}")]
    # Every sign of stomach bleeding the label lists is one emergency, however it shows.
    for sign in ("chest pain", "signs of a stroke", "vomiting blood", "black or bloody poo", "feeling faint"):
        assert sign in emergency
    (ask,) = [s for s in _sentences(net.advice) if "ask a doctor" in s]
    assert "ibuprofen" in ask
    for sign in ("chest pain", "stroke", "vomit", "heart attack", "poo", "faint"):
        assert sign not in ask, sign
    assert "over 10 days" in ask
    sources = {e.source: e for e in net.evidence}
    assert "otc_ibuprofen_label" in sources
    (convention,) = [e for e in net.evidence if e.source == "kb_clinical_convention"]
    assert "convention" in convention.summary
    assert not convention.verified


def _safety_net_warnings(advisor, case):
    (net,) = [r for r in advisor.assess(case).recommendations if r.id == "safety_net_advice"]
    return [w.message for w in net.warnings]


def test_dont_know_is_not_said_to_be_assumed_absent(advisor):
    """'Don't know' to a cauda equina question gets its own safety-net words, not those for a question not answered.

    Neither says the sign is assumed absent: the report says "not answering is not the same as no", and the
    safety net agrees with it.
    """
    answered = {**SCREENED, "duration_days": 3, "saddle_anaesthesia": False, "bladder_or_bowel_dysfunction": False}
    for question in ("saddle_anaesthesia", "bladder_or_bowel_dysfunction", "bilateral_leg_symptoms"):
        unsure = _safety_net_warnings(advisor, {**answered, "bilateral_leg_symptoms": False, question: "dont_know"})
        assert any(m.startswith("You were not sure about a warning sign") for m in unsure), question
        assert not any("were not answered" in m for m in unsure), question
        blank = {k: v for k, v in {**answered, "bilateral_leg_symptoms": False}.items() if k != question}
        not_asked = _safety_net_warnings(advisor, blank)
        assert any("were not answered, so they could not be ruled out" in m for m in not_asked), question
        assert not any(m.startswith("You were not sure") for m in not_asked), question
        for message in unsure + not_asked:
            assert "absent" not in message, message
            assert "assume" not in message, message


def test_label_warnings_seen_only_in_the_openfda_copy_are_cited_unverified(advisor):
    """Asthma, kidney disease, daily aspirin, prior stroke and the 20-week wording: unverified label citations."""
    rules = {rule.id: rule for rule in advisor.knowledge_base.rules}
    secondary_only = {
        "nsaid_withhold_combined_risks": "aspirin",
        "nsaid_check_asthma_unanswered": "asthma",
        "nsaid_check_kidney_unanswered": "kidney",
        "nsaid_check_aspirin_unanswered": "aspirin",
        "nsaid_check_pregnancy_unanswered": "20 weeks",
        "nsaid_check_heart_unanswered": "prior stroke",
    }
    for rule_id, warning in secondary_only.items():
        label = [c for c in rules[rule_id].sources if c.source == "otc_ibuprofen_label"]
        unverified = [c for c in label if not c.verified and c.ref and "openFDA" in c.ref]
        assert any(warning in c.ref for c in unverified), rule_id
        assert not any(c.verified and warning in (c.ref or "") for c in label), rule_id

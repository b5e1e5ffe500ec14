"""The interview logic: order from the rules, sound skipping, early emergency stop, answers, back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spasm_advisor import CaseError
from spasm_advisor.io.interview import (
    BOOLEAN_REASK,
    AnswerError,
    Interview,
    case_yaml,
    emergency_distance,
    parse_reply,
    question_order,
    raising_questions,
    relevant_facts,
    with_dont_know,
)
from spasm_advisor.io.reader import parse_case_text
from spasm_advisor.kb.model import triage_rank
from spasm_advisor.testing import cases, fact_values, thresholds

CES_SIGNS = {"saddle_anaesthesia", "bladder_or_bowel_dysfunction", "bilateral_leg_symptoms"}
#: Red flags that are an emergency on their own, added with the cauda equina signs (and a serious injury).
OTHER_EMERGENCY_SIGNS = {"sexual_dysfunction", "progressive_weakness", "gait_disturbance", "significant_trauma"}


def _questions(kb):
    """Every fact that is asked: all but the facts recording a "don't know" answer."""
    return [name for name, spec in kb.facts.items() if spec.dont_know_for is None]


def _outcome(advisor, case):
    """What a skipped question must not change: the rules that fire and the unanswered red flags."""
    result = advisor.assess(case)
    return frozenset(result.fired_rules), result.unanswered_red_flags


def _answers_so_far(data, kb, *, min_size):
    """Some questions asked (at least ``min_size``), each answered or "don't know" (None)."""
    names = _questions(kb)
    asked_names = data.draw(st.lists(st.sampled_from(names), unique=True, min_size=min_size, max_size=len(names)))
    return {name: data.draw(st.one_of(st.none(), fact_values(kb, name))) for name in asked_names}


def _values(kb, name):
    """Every answer worth trying for one fact, "don't know" included."""
    spec = kb.facts[name]
    if spec.type == "boolean":
        return [None, True, False]
    if spec.type == "enum":
        return [None, *spec.values]
    low = spec.minimum if spec.minimum is not None else 0
    high = spec.maximum if spec.maximum is not None else 10_000
    near = {v for t in thresholds(kb).get(name, ()) for v in (t - 1, t, t + 1)} | {low, high}
    return [None, *sorted(v for v in near if low <= v <= high)]


# --- order -------------------------------------------------------------------


def test_ces_signs_are_asked_first(advisor):
    """The three cauda equina signs, each an emergency on its own, open the questionnaire."""
    order = question_order(advisor.knowledge_base)
    assert set(order[:3]) == CES_SIGNS


def test_order_follows_the_clinical_groups(advisor):
    """Red flags, then course and severity, then signs and causes, then cautions and preferences."""
    kb = advisor.knowledge_base
    order = question_order(kb)
    assert sorted(order) == sorted(_questions(kb))
    group = {
        "red_flag": 0,
        "context": 1,
        "sign": 2,
        "cause": 2,
        "condition": 2,
        "caution": 3,
        "preference": 3,
    }
    ranks = [group[kb.facts[name].role] for name in order]
    assert ranks == sorted(ranks)


def test_emergency_distance_is_derived_from_the_rules(advisor):
    """Each CES sign alone makes an emergency; weakness needs one more answer; night pain none."""
    distance = emergency_distance(advisor.knowledge_base)
    assert {name for name, d in distance.items() if d == 1} == CES_SIGNS | OTHER_EMERGENCY_SIGNS
    assert distance["weakness"] == 2
    assert "night_pain" not in distance


def test_emergency_facts_lead_the_red_flags(advisor):
    """Among red flags, those that can lead to an emergency come before those that cannot."""
    kb = advisor.knowledge_base
    distance = emergency_distance(kb)
    flags = [name for name in question_order(kb) if kb.facts[name].is_red_flag]
    reach = [distance.get(name, 99) for name in flags]
    assert reach == sorted(reach)


# --- stopping and skipping ---------------------------------------------------


def test_ces_sign_stops_the_interview(advisor):
    """A yes to the first CES sign ends the interview at once, with the emergency rule named."""
    interview = Interview(advisor.knowledge_base)
    first = interview.current()
    assert first is not None
    assert first.id in CES_SIGNS
    interview.answer(first.id, True)
    assert interview.stopped_for_emergency
    assert interview.current() is None
    assert interview.remaining() == 0
    assert "ces_emergency" in [rule.id for rule in interview.emergency_rules]
    assert advisor.assess(interview.case()).triage == "emergency"


def test_urgent_red_flag_does_not_skip_the_other_red_flags(advisor):
    """After a red flag raises the triage to urgent, every other red flag is still asked."""
    kb = advisor.knowledge_base
    relevant = relevant_facts(kb, {"fever": True})
    assert set(kb.red_flags()) - {"fever"} <= relevant


def test_no_answers_means_every_question_is_relevant(advisor):
    """Before any answer, every question could change the result."""
    kb = advisor.knowledge_base
    assert relevant_facts(kb, {}) == frozenset(_questions(kb))


def test_follow_up_skipped_when_its_branch_is_falsified(advisor):
    """'Is it improving?' matters only after four weeks: a short episode skips it."""
    kb = advisor.knowledge_base
    assert "improving" in relevant_facts(kb, {"duration_days": 60})
    assert "improving" not in relevant_facts(kb, {"duration_days": 3})


def test_dont_know_is_an_answer_not_a_skip(advisor):
    """A fact answered don't know is no longer asked, and the case leaves it unknown."""
    interview = Interview(advisor.knowledge_base)
    first = interview.current()
    interview.answer(first.id, None)
    assert first.id not in interview.relevant()
    assert interview.current().id != first.id
    assert first.id not in interview.case()
    assert interview.answers == {first.id: None}


@given(data=st.data())
def test_skipped_questions_cannot_change_the_result(spasm_advisor, data):
    """Given any answers, no answer to a skipped question changes the fired rules or unanswered flags."""
    advisor = spasm_advisor
    kb = advisor.knowledge_base
    names = _questions(kb)
    asked = _answers_so_far(data, kb, min_size=5)
    skipped = sorted(set(names) - set(asked) - relevant_facts(kb, asked))
    if not skipped:
        return
    fact = data.draw(st.sampled_from(skipped))
    rest = {
        name: data.draw(st.one_of(st.none(), fact_values(kb, name)))
        for name in names
        if name not in asked and name != fact
    }
    # A "don't know" to a question whose answer is recorded sets its recording fact.
    base = {k: v for k, v in with_dont_know(kb, {**asked, **rest}).items() if v is not None}
    expected = _outcome(advisor, base)
    for value in _values(kb, fact):
        case = dict(base) if value is None else {**base, fact: value}
        assert _outcome(advisor, case) == expected, (fact, value)


@given(data=st.data())
def test_raising_questions_bound_what_one_answer_can_do(spasm_advisor, data):
    """An unanswered question left out cannot raise the triage; one listed raises it at most to its level."""
    advisor = spasm_advisor
    kb = advisor.knowledge_base
    names = _questions(kb)
    asked = _answers_so_far(data, kb, min_size=3)
    case = {k: v for k, v in with_dont_know(kb, asked).items() if v is not None}
    level = advisor.assess(case).triage
    raising = raising_questions(kb, asked, level)
    unasked = [name for name in names if name not in asked]
    if not unasked:
        return
    fact = data.draw(st.sampled_from(unasked))
    bound = raising.get(fact, level)
    for value in _values(kb, fact)[1:]:
        reached = advisor.assess({**case, fact: value}).triage
        assert triage_rank(reached) <= triage_rank(bound), (fact, value, reached, bound)


@given(data=st.data())
def test_interview_reaches_the_same_result_as_the_full_case(spasm_advisor, data):
    """Answering only what is asked gives the same rules as the whole case, or stops at an emergency."""
    advisor = spasm_advisor
    kb = advisor.knowledge_base
    case = data.draw(cases(kb))
    # The interview asks every red flag, so an unanswered cauda equina question is a "don't know".
    recorded = kb.dont_know_facts()
    case = {k: v for k, v in case.items() if k not in recorded.values()}
    case |= {recorder: True for question, recorder in recorded.items() if case.get(question) is None}
    interview = Interview(kb)
    previous = interview.remaining()
    while (spec := interview.current()) is not None:
        interview.answer(spec.id, case.get(spec.id))
        assert interview.remaining() < previous
        previous = interview.remaining()
    full = advisor.assess(case)
    short = advisor.assess(interview.case())
    if interview.stopped_for_emergency:
        assert full.triage == short.triage == "emergency"
    else:
        assert set(short.fired_rules) == set(full.fired_rules)
        assert short.triage == full.triage
        assert short.recommendation_ids() == full.recommendation_ids()
        assert short.unanswered_red_flags == full.unanswered_red_flags


def test_benign_answers_skip_some_questions(advisor):
    """A short benign episode needs fewer questions than the whole vocabulary."""
    kb = advisor.knowledge_base
    plan = {"age": 35, "duration_days": 3, "pain_severity": 4, "posture": "poor", "muscle_tightness": True}
    interview = Interview(kb)
    while (spec := interview.current()) is not None:
        interview.answer(spec.id, plan.get(spec.id, False if spec.type == "boolean" else None))
    assert not interview.stopped_for_emergency
    assert set(kb.red_flags()) <= set(interview.answers)
    assert "improving" not in interview.answers
    assert len(interview.answers) < len(kb.facts)


# --- back and answers ------------------------------------------------------------


def test_back_undoes_the_last_answer(advisor):
    """'back' removes the last answer and asks that question again; at the start there is nothing to undo."""
    interview = Interview(advisor.knowledge_base)
    assert interview.back() is None
    first = interview.current().id
    interview.answer(first, False)
    second = interview.current().id
    assert second != first
    assert interview.back() == first
    assert interview.current().id == first
    assert interview.answers == {}


def test_answer_is_validated(advisor):
    """A value that does not fit the fact is refused with a CaseError and not recorded."""
    interview = Interview(advisor.knowledge_base)
    with pytest.raises(CaseError, match="age: 300 is above the maximum 120"):
        interview.answer("age", 300)
    assert interview.answers == {}


@pytest.mark.parametrize(
    ("fact", "text", "value"),
    [
        ("numbness", "yes", True),
        ("numbness", " Y ", True),
        ("numbness", "no", False),
        ("numbness", "n", False),
        ("numbness", "don't know", None),
        ("numbness", "Don\u2019t   know", None),
        ("numbness", "dk", None),
        ("numbness", "?", None),
        ("numbness", "skip", None),
        ("age", "42", 42),
        ("age", "0", 0),
        ("age", "dk", None),
        ("posture", "Poor", "poor"),
        ("posture", "1", "good"),
        # Natural answers to "Do you spend long periods slouched...?" (answers: in facts.yaml).
        ("posture", "yes", "poor"),
        ("posture", "Y", "poor"),
        ("posture", "no", "good"),
        # Everyday answers that can mean only one thing.
        ("numbness", "I don't know", None),
        ("numbness", "I\u2019m not sure", None),
        ("numbness", "not sure", None),
        ("numbness", "Unsure", None),
        ("numbness", "no idea", None),
        ("numbness", "Yeah", True),
        ("numbness", "yep", True),
        ("numbness", "yes please", True),
        ("numbness", "Nope", False),
        ("numbness", "nah", False),
        ("numbness", "No.", False),
        ("numbness", "yes!", True),
        ("posture", "yeah", "poor"),
        ("posture", "nope", "good"),
    ],
)
def test_parse_reply_answers(advisor, fact, text, value):
    """Yes/no, don't know, whole numbers and choices (by name or number) are understood."""
    reply = parse_reply(advisor.knowledge_base.facts[fact], text)
    assert reply.kind == "answer"
    assert reply.value == value
    assert type(reply.value) is type(value)


@pytest.mark.parametrize(("text", "kind"), [("back", "back"), ("BACK", "back"), ("help", "help")])
def test_parse_reply_commands(advisor, text, kind):
    """'back' and 'help' are commands, whatever the question."""
    assert parse_reply(advisor.knowledge_base.facts["age"], text).kind == kind


@pytest.mark.parametrize(
    ("fact", "text", "message"),
    [
        ("numbness", "maybe", BOOLEAN_REASK),
        ("numbness", "sometimes", BOOLEAN_REASK),
        ("numbness", "", "Please type an answer: answer yes, no or don't know"),
        (
            "age",
            "forty",
            "'forty' is not a whole number: answer a whole number from 0 to 120, or don't know.",
        ),
        ("age", "40.5", "'40.5' is not a whole number"),
        ("age", "121", "121 is above the maximum 120: answer a whole number from 0 to 120, or don't know."),
        ("age", "-1", "-1 is below the minimum 0"),
        ("age", "9" * 40, "is not a whole number"),
        (
            "posture",
            "slouched",
            "'slouched' is not one of the choices: answer yes or no (or one of good, poor), or don't know.",
        ),
        ("posture", "3", "'3' is not one of the choices"),
        ("numbness", "\x00\ufffd" * 1000, BOOLEAN_REASK),
    ],
)
def test_parse_reply_explains_wrong_answers(advisor, fact, text, message):
    """A wrong answer names what was typed (shortened) and what the question takes."""
    with pytest.raises(AnswerError) as info:
        parse_reply(advisor.knowledge_base.facts[fact], text)
    assert message in str(info.value)
    assert len(str(info.value)) < 200


def test_wrong_yes_no_answer_says_what_to_type_without_repeating_it(advisor):
    """A reply that is not yes, no or don't know is not echoed back: the message says what to type."""
    with pytest.raises(AnswerError) as info:
        parse_reply(advisor.knowledge_base.facts["numbness"], "maybe")
    assert "maybe" not in str(info.value)
    assert "type don't know" in str(info.value)


def test_echoed_wrong_answer_has_no_control_characters(advisor):
    """A wrong number that is echoed back has its control characters escaped."""
    with pytest.raises(AnswerError) as info:
        parse_reply(advisor.knowledge_base.facts["age"], "\x1b[2Jforty\x07")
    assert "forty" in str(info.value)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in str(info.value))


# --- saving ------------------------------------------------------------------


def test_saved_case_reads_back_exactly(advisor):
    """The saved YAML parses to the same answers; don't know is recorded as null."""
    kb = advisor.knowledge_base
    answers = {"numbness": False, "fever": None, "age": 61, "posture": "poor"}
    text = case_yaml(answers, kb)
    assert text.startswith("# A case written by 'spasm-advisor interview'.")
    data = parse_case_text(text.encode(), "saved.yaml")
    assert dict(data) == answers
    assert (
        advisor.assess(data).to_dict() == advisor.assess({k: v for k, v in answers.items() if v is not None}).to_dict()
    )


def test_saved_empty_case_is_valid(advisor):
    """With no answers the saved file is an empty mapping that assess accepts."""
    data = parse_case_text(case_yaml({}, advisor.knowledge_base, complete=False).encode(), "saved.yaml")
    assert data == {}
    # Nothing answered: an age not given counts as over 50 and the serious screens are open, so a routine review.
    assert advisor.assess(data).triage == "routine"


@given(text=st.text(max_size=50), fact=st.sampled_from(["numbness", "age", "duration_days", "posture"]))
def test_parse_reply_never_fails_otherwise(advisor, text, fact):
    """Any typed text is an answer, a command, or an AnswerError; an answer always fits the fact."""
    spec = advisor.knowledge_base.facts[fact]
    try:
        reply = parse_reply(spec, text)
    except AnswerError as exc:
        assert "\n" not in str(exc)
        return
    if reply.kind == "answer" and reply.value is not None:
        Interview(advisor.knowledge_base).answer(fact, reply.value)

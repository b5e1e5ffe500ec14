""" "Don't know" to a cauda equina question: recorded in the case, the interview and the schemas."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from locations import DATA

from spasm_advisor import CaseError, KnowledgeBaseError, load_knowledge_base
from spasm_advisor.io.case import DONT_KNOW, validate_case
from spasm_advisor.io.interview import Interview, case_yaml, help_text
from spasm_advisor.io.reader import parse_case_text
from spasm_advisor.io.schema import input_schema

MINI = DATA / "mini"


def test_recorded_questions_are_the_cauda_equina_signs(advisor):
    """The bundled base records "don't know" for the three cauda equina questions, in facts of their own."""
    recorded = advisor.knowledge_base.dont_know_facts()
    assert recorded == {
        "saddle_anaesthesia": "saddle_anaesthesia_dont_know",
        "bladder_or_bowel_dysfunction": "bladder_or_bowel_dysfunction_dont_know",
        "bilateral_leg_symptoms": "bilateral_leg_symptoms_dont_know",
    }


def test_dont_know_sets_the_recording_fact_and_leaves_the_question_unknown(advisor):
    """`dont_know` keeps the sign unknown (never no) and records that it could not be ruled out."""
    values = validate_case({"saddle_anaesthesia": DONT_KNOW, "age": 40}, advisor.knowledge_base)
    assert values == {"age": 40, "saddle_anaesthesia_dont_know": True}
    result = advisor.assess({"saddle_anaesthesia": DONT_KNOW})
    assert "saddle_anaesthesia" in result.unanswered_red_flags
    assert dict(result.case)["saddle_anaesthesia_dont_know"] is True


def test_dont_know_differs_from_not_asked(advisor):
    """The same benign answers give self-care when the question was not asked, urgent when answered don't know."""
    answers = {name: False for name in advisor.knowledge_base.red_flags()} | {"age": 35, "duration_days": 2}
    not_asked = {k: v for k, v in answers.items() if k != "bladder_or_bowel_dysfunction"}
    assert advisor.assess(not_asked).triage == "self_care"
    unsure = advisor.assess({**not_asked, "bladder_or_bowel_dysfunction": DONT_KNOW})
    assert unsure.triage == "urgent"
    (review,) = [r for r in unsure.recommendations if r.id == "urgent_clinician_review"]
    assert any("has not been ruled out" in w.message for w in review.warnings)


def test_dont_know_is_refused_where_it_is_not_recorded(advisor):
    """For other questions `dont_know` is an error that says to write null."""
    with pytest.raises(CaseError, match=r"numbness: expected true or false, got 'dont_know' \(write null"):
        validate_case({"numbness": DONT_KNOW}, advisor.knowledge_base)


def test_dont_know_contradicting_its_recording_fact_is_an_error(advisor):
    """A case cannot say both "don't know" and that it was not a "don't know"."""
    with pytest.raises(CaseError, match="saddle_anaesthesia_dont_know: false contradicts saddle_anaesthesia"):
        validate_case({"saddle_anaesthesia": DONT_KNOW, "saddle_anaesthesia_dont_know": False}, advisor.knowledge_base)


def test_existing_null_still_means_not_asked(advisor):
    """Null (and leaving the fact out) stays plain unknown: existing case files keep their meaning."""
    assert validate_case({"saddle_anaesthesia": None}, advisor.knowledge_base) == {}


def test_interview_records_dont_know_and_saves_it(advisor):
    """In the interview "don't know" to a CES question is recorded, saved as dont_know, and read back the same."""
    kb = advisor.knowledge_base
    interview = Interview(kb)
    first = interview.current()
    assert first is not None
    assert first.id in kb.dont_know_facts()
    interview.answer(first.id, None)
    case = interview.case()
    assert case == {kb.dont_know_facts()[first.id]: True}
    text = case_yaml(interview.answers, kb)
    assert f"{first.id}: {DONT_KNOW}" in text
    assert dict(validate_case(parse_case_text(text.encode(), "saved.yaml"), kb)) == case


def test_recorded_questions_are_not_asked_on_their_own(advisor):
    """The recording facts never appear as questions."""
    kb = advisor.knowledge_base
    interview = Interview(kb)
    recorders = set(kb.dont_know_facts().values())
    assert not recorders & set(interview.order)
    assert not recorders & interview.relevant()


def test_help_text_says_dont_know_is_recorded(advisor):
    """Help for a recorded question says don't know is recorded, not left unknown."""
    spec = advisor.knowledge_base.facts["saddle_anaesthesia"]
    assert "is recorded" in help_text(spec, records_dont_know=True)
    assert "leaves it unknown" in help_text(spec)


def test_both_legs_yes_asks_the_stenosis_follow_ups_first(advisor):
    """A yes to symptoms in both legs is followed at once by the questions that decide the stenosis exception."""
    interview = Interview(advisor.knowledge_base)
    interview.answer("bilateral_leg_symptoms", True)
    assert not interview.stopped_for_emergency
    follow_up = interview.current()
    assert follow_up is not None
    # The exception needs an explicit answer to each question that keeps the emergency route.
    deciding = {
        "spinal_stenosis",
        "leg_symptoms_new_or_worsening",
        "saddle_anaesthesia",
        "bladder_or_bowel_dysfunction",
        "sexual_dysfunction",
        "weakness",
        "gait_disturbance",
    }
    assert follow_up.id in deciding
    assert interview.is_follow_up(follow_up)
    interview.answer("leg_symptoms_new_or_worsening", True)
    assert interview.stopped_for_emergency


def test_a_question_in_its_place_is_not_a_follow_up(advisor):
    """Before any answer the first question is asked in its place, not as a follow-up."""
    interview = Interview(advisor.knowledge_base)
    assert not interview.is_follow_up(interview.current())


def test_help_text_is_in_plain_words_and_agrees_with_dont_know(advisor):
    """No 'never "no"' shorthand; 'if you are not sure' points to don't know, which the prompt offers."""
    kb = advisor.knowledge_base
    for spec in kb.facts.values():
        text = help_text(spec, records_dont_know=spec.id in kb.dont_know_facts())
        assert "never 'no'" not in text, spec.id
    legs = help_text(kb.facts["leg_symptoms_new_or_worsening"])
    assert "If you are not sure, answer yes" not in legs
    assert "If you are not sure, answer don't know: it counts the same as yes." in " ".join(legs.split())
    assert "never take it as a no" in help_text(kb.facts["numbness"])


def test_schema_takes_dont_know_only_where_recorded(advisor):
    """The input schema accepts `dont_know` for the recorded questions and nowhere else, like the validator."""
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(input_schema(advisor.knowledge_base))
    assert validator.is_valid({"saddle_anaesthesia": DONT_KNOW})
    assert not validator.is_valid({"numbness": DONT_KNOW})
    assert not validator.is_valid({"saddle_anaesthesia": "maybe"})


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "kb")
    return tmp_path / "kb"


def _add_fact(kb_dir: Path, text: str) -> None:
    path = kb_dir / "knowledge" / "facts.yaml"
    path.write_text(path.read_text().rstrip("\n") + "\n" + text)


def test_loader_accepts_a_recording_fact(kb_dir):
    """A yes/no fact may record the "don't know" of another yes/no question."""
    _add_fact(
        kb_dir,
        "  - id: numbness_dont_know\n    type: boolean\n    dont_know_for: numbness\n"
        '    question: "Unsure about numbness"\n    description: "Unsure."\n    role: context\n',
    )
    kb = load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)
    assert kb.dont_know_facts() == {"numbness": "numbness_dont_know"}


@pytest.mark.parametrize(
    ("target", "kind", "fragment"),
    [
        ("numbess", "boolean", "names 'numbess', which is not a fact"),
        ("age", "boolean", "both facts must be yes/no facts"),
        ("numbness", "integer", "both facts must be yes/no facts"),
    ],
)
def test_loader_refuses_a_wrong_recording_fact(kb_dir, target, kind, fragment):
    """A recording fact must name an existing yes/no question and be yes/no itself."""
    _add_fact(
        kb_dir,
        f"  - id: unsure\n    type: {kind}\n    dont_know_for: {target}\n"
        '    question: "Unsure"\n    description: "Unsure."\n    role: context\n',
    )
    with pytest.raises(KnowledgeBaseError, match=fragment):
        load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)

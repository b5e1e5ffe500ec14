"""The report a person reads: its sections, its length, its words, and the command line around it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cli_runner import run

from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.kb.person_text import reviewer_vocabulary
from spasm_advisor.kb.resources import bundled_knowledge_dir
from spasm_advisor.render.report import DO_NOW_LIMIT, SECTION_KINDS, UNANSWERED, build_report
from spasm_advisor.render.report_text import render_text

REPO = Path(__file__).parent.parent
DESK_WORKER = REPO / "examples" / "desk_worker.yaml"
DESK = yaml.safe_load(DESK_WORKER.read_text())
# Every warning-sign question answered: the desk worker, then one sign changed.
SCREENED = {
    "self_care": DESK,
    "urgent": {**DESK, "fever": True},
    "emergency": {**DESK, "saddle_anaesthesia": True},
}
TITLES = {
    "get_help": "Get help if you have or get any of these",
    "do_now": "What to do now",
    "options": "Other things that may help",
    "withheld": "Not advised for you",
    "unanswered": "Check these warning signs first",
}
CASES = load_clinical_cases(bundled_knowledge_dir() / "cases", "knowledge/cases")


@pytest.fixture(scope="module", name="kb")
def _kb(advisor):
    return advisor.knowledge_base


def report_of(advisor, case, **kwargs):
    return build_report(
        advisor.assess(case, **kwargs),
        advisor.knowledge_base,
        triage_of=lambda facts: advisor.assess(facts, **kwargs).triage,
    )


def text_of(advisor, case, **kwargs):
    return render_text(report_of(advisor, case), **kwargs)


@pytest.mark.parametrize(
    ("level", "kinds"),
    [
        ("self_care", ("level", "get_help", "do_now", "options", "notice")),
        ("urgent", ("level", "do_now", "get_help", "withheld", "notice")),  # seen today: how, then if worse
        ("emergency", ("level", "do_now", "withheld", "notice")),  # withheld: in the data, shown with --details
    ],
)
def test_sections_in_order_and_short(advisor, level, kinds):
    """Level, get-help, actions (actions first when seen today), options, withheld, notice: in order, in 40 lines."""
    report = report_of(advisor, SCREENED[level])
    assert report.triage == level
    assert report.kinds() == kinds
    text = render_text(report)
    lines = text.splitlines()
    assert len(lines) <= 40, text
    assert all(len(line) <= 80 for line in lines)
    # The same order on the page: each section's title after the previous one.
    shown = [k for k in kinds if not (level == "emergency" and k == "withheld")]  # emergency: withheld with --details
    positions = [lines.index(TITLES[kind]) for kind in shown if kind in TITLES]
    assert positions == sorted(positions)
    assert lines[0].startswith({"self_care": "SELF-CARE: ", "urgent": "URGENT: ", "emergency": "EMERGENCY: "}[level])


def test_desk_worker_command_prints_at_most_40_lines():
    """The quick-start command's report fits on one screen, safety net before the actions."""
    out = run("assess", str(DESK_WORKER))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) <= 40
    assert lines[0] == "SELF-CARE: you can look after this at home"
    assert lines.index(TITLES["get_help"]) < lines.index(TITLES["do_now"])
    assert "\x1b[" not in out.stdout  # not a terminal: no colour


def test_emergency_has_no_separate_safety_net_and_says_why_in_words(advisor, kb):
    """An emergency report says go now, and why: the question answered yes, not a fact id."""
    report = report_of(advisor, {"age": 40, "saddle_anaesthesia": True})
    assert report.section("get_help") is None
    level = report.section("level")
    assert level.level == "critical"
    why = level.lines[0].text
    assert kb.facts["saddle_anaesthesia"].question in why
    assert "saddle_anaesthesia" not in why
    assert report.section("do_now").lines[0].ref == "emergency_care"


def test_unanswered_warning_signs_make_the_level_provisional(advisor, kb):
    """Age and duration only: no unqualified 'look after this at home'; the questions listed as questions."""
    report = report_of(advisor, {"age": 30, "duration_days": 2})
    assert report.triage == "self_care"
    assert report.provisional
    assert report.could_rise_to == "emergency"
    level = report.section("level")
    assert level.level == "warning"
    assert "provisional" in level.lines[-1].text
    assert "you can look after this at home" not in level.title
    unanswered = report.section("unanswered")
    asked = [line.text for line in unanswered.lines]
    assert set(asked) == {kb.facts[f].question for f in kb.red_flags()}
    assert "spasm-advisor interview" in unanswered.note
    text = render_text(report)
    for flag in kb.red_flags():
        if "_" in flag:  # "numbness" is also a word; an id with an underscore is not
            assert flag not in text  # by question, never by fact id
    # The emergency signs come first among the unanswered questions (as in the interview).
    assert unanswered.lines[0].ref in {"saddle_anaesthesia", "bladder_or_bowel_dysfunction", "bilateral_leg_symptoms"}
    # ...and the questions come before any advice, so they are read before acting on it.
    assert report.kinds()[:2] == ("level", "unanswered")


def test_unanswered_questions_are_grouped_by_what_a_yes_would_mean(advisor, kb):
    """Each open question sits under the level a yes to it alone leads to (the case re-assessed), most urgent first."""
    case = {"age": 30, "duration_days": 2}
    report = report_of(advisor, case)
    unanswered = report.section("unanswered")
    groups = [line.group for line in unanswered.lines if line.ref is not None]
    assert groups == sorted(groups, key=groups.index)  # each group in one run
    headings = {
        "emergency": "call 999 (or your local emergency number) now",
        "urgent": "see a doctor today",
        "routine": "book an appointment with a GP or physiotherapist",
    }
    seen = []
    for line in unanswered.lines:
        if line.ref is None:
            continue
        level = advisor.assess({**case, line.ref: True}).triage
        assert line.group.startswith("If yes")
        assert headings[level] in line.group, (line.ref, level, line.group)
        seen.append(level)
    ranks = {"emergency": 3, "urgent": 2, "routine": 1}
    assert [ranks[level] for level in seen] == sorted((ranks[level] for level in seen), reverse=True)
    assert {"emergency", "urgent", "routine"} <= set(seen)
    # Not knowing an answer: who can check, in the catalogue's own words; the interview comes second.
    first = " ".join(kb.recommendations["urgent_clinician_review"].advice.split()).split(". ")[0]
    note = unanswered.note
    assert first[1:] in note
    assert note.index("If you are not sure") < note.index("spasm-advisor interview")
    text = render_text(report)
    lines = text.splitlines()
    assert lines.index(TITLES["unanswered"]) < lines.index(TITLES["get_help"]) < lines.index(TITLES["do_now"])


def test_a_yes_that_alone_changes_nothing_is_to_be_mentioned(advisor):
    """A question whose yes alone keeps the level (here routine, at 80) is under 'mention it to your GP'."""
    case = {"age": 80}
    report = report_of(advisor, case)
    assert report.triage == "routine"
    lines = [line for line in report.section("unanswered").lines if line.ref is not None]
    same = [line for line in lines if advisor.assess({**case, line.ref: True}).triage == "routine"]
    assert same
    assert all("mention it to your GP" in line.group for line in same)
    assert all("mention it" not in line.group for line in lines if line not in same)


def test_without_reassessment_the_rules_reachable_level_groups_the_questions(advisor, kb):
    """build_report without triage_of still groups every open question (by what the rules could reach)."""
    report = build_report(advisor.assess({"age": 30, "duration_days": 2}), kb)
    lines = [line for line in report.section("unanswered").lines if line.ref is not None]
    assert {line.ref for line in lines} == set(report.open_questions)
    assert all(line.group.startswith("If yes") for line in lines)


def test_fully_screened_self_care_is_not_provisional(advisor):
    """Every warning sign answered no: the level stands and no question is listed."""
    report = report_of(advisor, DESK)
    assert not report.provisional
    assert report.open_questions == ()
    assert report.section("unanswered") is None
    assert report.section("level").lines[0].text.startswith("You answered no to all ")


def test_emergency_counts_unanswered_questions_that_cannot_matter(advisor, kb):
    """Nothing can raise an emergency: the unanswered questions are counted, not listed."""
    report = report_of(advisor, {"saddle_anaesthesia": True})
    assert not report.provisional
    assert report.section("unanswered") is None
    (line,) = [line for line in report.section("level").lines if "not answered" in line.text]
    assert "would not change that" in line.text
    assert line.text.startswith(f"{len(kb.red_flags()) - 1} questions about warning signs were not answered")


def test_actions_are_the_best_evidence_and_the_rest_are_options(advisor, kb):
    """What to do now: the referral, then at most a few actions, none with weaker evidence than any option."""
    from spasm_advisor.kb.evidence import STRENGTHS, strength

    report = report_of(advisor, {**DESK, "night_pain": True})  # routine: a referral and self-care
    do_now = report.section("do_now").lines
    assert do_now[0].ref == "clinician_review"
    assert do_now[0].text == kb.recommendations["clinician_review"].advice  # the referral's own words
    actions = [line for line in do_now if kb.recommendations[line.ref].category != "referral"]
    assert 0 < len(actions) <= DO_NOW_LIMIT
    options = report.section("options").lines if report.section("options") else ()
    worst_action = max(STRENGTHS.index(line.strength) for line in actions)
    assert all(STRENGTHS.index(line.strength) >= worst_action for line in options)
    for line in (*actions, *options):
        assert line.strength == strength(kb.recommendations[line.ref].evidence)


def test_details_add_advice_cautions_and_evidence(advisor, kb):
    """--details: each item's advice, its cautions and the graded sources, and the knowledge base digest."""
    assessment = advisor.assess(DESK)
    short = render_text(build_report(assessment, kb))
    long = render_text(build_report(assessment, kb), details=True)
    heat = kb.recommendations["heat_therapy"]
    words = " ".join(long.split())
    assert heat.advice in words
    assert f"Caution: {heat.cautions[0]}" in words
    assert "Evidence: ACP 2017 R1 (acute and subacute pain): recommended" in words
    assert assessment.kb_digest in words
    assert heat.advice not in " ".join(short.split())
    # Every option folded into "and N more" by default is listed with --details.
    for line in build_report(assessment, kb).section("options").lines:
        assert line.text in words


def test_get_help_lists_the_emergency_signs_as_items(advisor):
    """The safety net's first sentence becomes a list of signs under 'call ... if you get:'."""
    first = report_of(advisor, DESK).section("get_help").lines[0]
    assert first.text.startswith("Call 999 (or your local emergency number) or go to an emergency department")
    assert first.text.endswith(":")
    assert len(first.items) >= 4
    assert any("both legs" in item for item in first.items)


def test_region_sets_the_emergency_number(advisor):
    """The number comes from the region (default: the knowledge base's), always with 'or your local' after it."""
    uk = text_of(advisor, {"saddle_anaesthesia": True})
    us = render_text(report_of(advisor, {"saddle_anaesthesia": True}, region="us"))
    assert "999 (or your local emergency number)" in " ".join(uk.split())
    assert "911 (or your local emergency number)" in " ".join(us.split())
    assert "999" not in us


def test_cli_region_and_its_errors():
    """--region us on the command line; an unknown region is one line naming the known ones, exit 2."""
    out = run("assess", "-", "--region", "us", stdin='{"saddle_anaesthesia": true}')
    assert out.returncode == 0, out.stderr
    assert "call 911 (or your local" in " ".join(out.stdout.split())
    bad = run("assess", "-", "--region", "mars", stdin="{}")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "unknown region 'mars'" in bad.stderr
    assert "uk" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    data = json.loads(run("assess", "-", "--json", "--region", "us", stdin='{"saddle_anaesthesia": true}').stdout)
    assert "911" in data["recommendations"][0]["advice"]


def test_cli_details_flag():
    """-v and --details give the detailed report."""
    short = run("assess", str(DESK_WORKER)).stdout
    for flag in ("-v", "--details"):
        long = run("assess", str(DESK_WORKER), flag).stdout
        assert "Evidence: " in long
        assert len(long.splitlines()) > len(short.splitlines())


def test_wraps_to_the_width_and_colours_only_when_asked(advisor):
    """Every line fits the width; escapes only with colour, and the words are the same either way."""
    report = report_of(advisor, {"age": 30, "duration_days": 2})
    for width in (50, 80, 120):
        text = render_text(report, width=width)
        assert max(len(line) for line in text.splitlines()) <= width
    plain = render_text(report)
    coloured = render_text(report, colour=True)
    assert "\x1b[" not in plain
    assert coloured.startswith("\x1b[1;33mSELF-CARE FOR NOW")  # provisional: a warning, in yellow
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_report_is_plain_data(advisor):
    """A service can use the same content: the report turns into JSON with sections, lines and levels."""
    data = report_of(advisor, {"age": 30, "duration_days": 2}).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert [s["kind"] for s in data["sections"]] == [
        k for k in SECTION_KINDS if k in {s["kind"] for s in data["sections"]}
    ]
    assert {s["level"] for s in data["sections"]} <= {"critical", "warning", "info"}
    assert data["provisional"] is True


@pytest.mark.parametrize(
    ("case", "provisional"),
    [({"age": 30, "duration_days": 2}, True), ({"saddle_anaesthesia": True}, False)],
)
def test_sentences_about_unanswered_questions_are_marked_for_programs(advisor, case, provisional):
    """The level's sentence about open warning-sign questions carries the topic a service looks for."""
    report = report_of(advisor, case)
    marked = [line for line in report.section("level").lines if line.topic == UNANSWERED]
    assert len(marked) == 1
    assert marked[0].text.startswith("This is only provisional") == provisional
    assert marked[0].to_dict()["topic"] == UNANSWERED
    assert all(line.topic is None for line in report.section("level").lines if line is not marked[0])


def test_a_program_can_leave_out_the_command_line_hint(advisor):
    """Without the hint, the note under the open questions ends before "run spasm-advisor interview"."""
    assessment = advisor.assess({"age": 30, "duration_days": 2})
    kb = advisor.knowledge_base
    with_hint = build_report(assessment, kb).section("unanswered").note
    without = build_report(assessment, kb, interview_hint=False).section("unanswered").note
    assert "spasm-advisor interview" in with_hint
    assert "spasm-advisor interview" not in without
    assert with_hint.startswith(without)
    assert without.startswith("Not answering is not the same as no.")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reports_carry_no_reviewer_vocabulary(advisor, kb, case):
    """What a person reads (the default report, and --details without its evidence lines) has no reviewer notes."""
    report = report_of(advisor, case.facts)
    for details in (False, True):
        text = render_text(report, width=10_000, details=details)
        person = "\n".join(
            line for line in text.splitlines() if not line.lstrip().startswith(("Evidence: ", "Knowledge base "))
        )
        assert reviewer_vocabulary(person, kb) == [], person


def test_a_cautioned_item_that_is_not_suggested_still_shows_its_caution(advisor, kb):
    """Natural remedies preferred and heart disease: ibuprofen is not suggested, and the heart caution is shown.

    At 50 heart disease is the one NSAID risk (from 60 it would be two, and the NSAID withheld).
    """
    case = {**DESK, "age": 50, "prefers_natural_remedies": True, "heart_disease_or_stroke": True}
    assessment = advisor.assess(case)
    assert "nsaid_pain_relief" not in {r.id for r in assessment.recommendations}
    report = report_of(advisor, case)
    (line,) = [line for line in report.section("withheld").lines if line.ref == "nsaid_pain_relief"]
    assert any("Heart disease" in warning for warning in line.warnings)
    assert "ibuprofen" in " ".join(render_text(report).split()).split("Not advised for you")[1]


def test_withheld_items_are_in_every_short_report_that_is_not_an_emergency(advisor, kb):
    """Every withheld item of every bundled case is in the default text with its reason (emergencies: --details).

    An item with a withheld title ("Whether you need a scan") is shown by it.
    """
    for case in CASES:
        assessment = advisor.assess(case.facts)
        if not assessment.withheld:
            continue
        report = report_of(advisor, case.facts)
        shown = " ".join(render_text(report, details=assessment.triage == "emergency").split())
        for item in assessment.withheld:
            title = kb.recommendations[item.id].withheld_title or item.title
            assert title in shown, (case.id, item.id)
            assert item.reason in shown, (case.id, item.id)


def test_emergency_text_lists_every_reported_sign_and_leaves_out_what_is_not_advised(advisor, kb):
    """Every warning sign answered yes is listed for the staff; 'Not advised for you' only with --details."""
    case = {"age": 45, "saddle_anaesthesia": True, "fever": True, "numbness": True}
    report = report_of(advisor, case)
    assert report.triage == "emergency"
    first = report.section("do_now").lines[0]
    assert first.ref == "emergency_care"
    for fact in ("saddle_anaesthesia", "fever", "numbness"):
        assert any(kb.facts[fact].question in item for item in first.items)
    assert TITLES["withheld"] not in render_text(report)
    assert TITLES["withheld"] in render_text(report, details=True)


def test_slow_recovery_is_not_under_get_help_now(advisor):
    """'Not getting better after about 4 weeks' is last, under its own heading, not with the urgent signs."""
    section = report_of(advisor, DESK).section("get_help")
    later = [line for line in section.lines if "not getting better" in line.text]
    assert later
    assert all(line.group == "Later" for line in later)
    assert section.lines[-len(later) :] == tuple(later)
    assert all(line.group is None for line in section.lines[: -len(later)])


@pytest.mark.parametrize("case", [SCREENED["urgent"], {**DESK, "duration_days": 120}], ids=["urgent", "routine"])
def test_slow_recovery_line_only_at_self_care(advisor, case):
    """A review is already advised at a same-day or routine level: no 'after about 4 weeks' beside it."""
    report = report_of(advisor, case)
    assert report.triage != "self_care"
    assert not [line for line in report.section("get_help").lines if "not getting better" in line.text]
    assert "Later:" not in render_text(report)


def test_sudden_pain_question_is_a_warning_sign_on_a_blood_thinner(advisor, kb):
    """On a blood thinner with the sudden-pain question blank: that question is listed under 'call 999 now'."""
    case = {key: value for key, value in DESK.items() if key != "sudden_severe_pain"}
    thinner = report_of(advisor, {**case, "on_anticoagulants": True})
    assert "sudden_severe_pain" in thinner.open_questions
    assert thinner.could_rise_to == "emergency"
    (line,) = [line for line in thinner.section("unanswered").lines if line.ref == "sudden_severe_pain"]
    assert line.text == kb.facts["sudden_severe_pain"].question
    assert "call 999 (or your local emergency number) now" in line.group
    assert not any(line.text.startswith("You answered no to all") for line in thinner.section("level").lines)
    # One instruction, the heading's: not "call 999" beside "go to an emergency department".
    note = thinner.section("get_help").note
    assert "If your pain came on suddenly and badly, call 999 (or your local emergency number) now." in note
    assert "emergency department" not in note
    # No blood thinner at 35: a yes to sudden severe pain alone raises nothing, so it is not listed.
    without = report_of(advisor, {**case, "on_anticoagulants": False})
    assert "sudden_severe_pain" not in without.open_questions
    # At 62 a yes means a possible aortic aneurysm: listed under seeing a doctor today, not 999.
    older = report_of(advisor, {**case, "on_anticoagulants": False, "age": 62})
    assert "sudden_severe_pain" in older.open_questions
    (line,) = [line for line in older.section("unanswered").lines if line.ref == "sudden_severe_pain"]
    assert "999" not in line.group
    # Without re-assessment the rules alone cannot say: not listed.
    unchecked = build_report(advisor.assess({**case, "on_anticoagulants": True}), kb)
    assert "sudden_severe_pain" not in unchecked.open_questions


def test_minor_fall_question_is_a_warning_sign_with_osteoporosis(advisor, kb):
    """Osteoporosis with the minor-fall question blank: a yes makes a possible fracture, so it is listed."""
    case = {key: value for key, value in DESK.items() if key != "minor_trauma"}
    thin_bones = report_of(advisor, {**case, "osteoporosis": True})
    assert "minor_trauma" in thin_bones.open_questions
    assert "minor_trauma" not in report_of(advisor, {**case, "osteoporosis": False}).open_questions


def test_blood_thinner_question_is_a_warning_sign_with_sudden_severe_pain(advisor, kb):
    """Sudden severe pain with the blood-thinner question blank: that question is listed under 'call 999 now'."""
    case = {key: value for key, value in DESK.items() if key != "on_anticoagulants"}
    sudden = report_of(advisor, {**case, "sudden_severe_pain": True})
    assert "on_anticoagulants" in sudden.open_questions
    assert sudden.could_rise_to == "emergency"
    (line,) = [line for line in sudden.section("unanswered").lines if line.ref == "on_anticoagulants"]
    assert line.text == kb.facts["on_anticoagulants"].question
    assert "call 999 (or your local emergency number) now" in line.group
    # Every warning sign was answered no, so the level says only that one question is open.
    assert not any(line.text.startswith("You answered no to all") for line in sudden.section("level").lines)
    # The safety net says what to do if the person does take one, before its "Later" line: the same
    # instruction as the question's heading (one instruction, not "call 999" beside "go to an emergency
    # department"), with the medicines that count named as in the question.
    get_help = sudden.section("get_help")
    assert "If you take a blood thinner" in get_help.note
    assert "call 999 (or your local emergency number) now." in get_help.note
    assert "emergency department" not in get_help.note
    assert all(drug in get_help.note for drug in ("warfarin", "apixaban", "rivaroxaban", "dabigatran", "heparin"))
    text = render_text(sudden).splitlines()
    assert text.index("Later:") > max(i for i, row in enumerate(text) if "If you take a blood thinner" in row)
    # The only open question is a medicine: the unsure-of-a-warning-sign sentence (a GP today) is not said
    # beside the note's own "check its leaflet or ask a pharmacist now".
    assert "If you are not sure" not in sudden.section("unanswered").note
    # Pain that did not come on suddenly: a blood thinner cannot make it an emergency, so it is not listed.
    gradual = report_of(advisor, {**case, "sudden_severe_pain": False})
    assert "on_anticoagulants" not in gradual.open_questions
    assert gradual.section("unanswered") is None
    # Without re-assessment the rules alone cannot say a yes would make it an emergency: not listed.
    unchecked = build_report(advisor.assess({**case, "sudden_severe_pain": True}), kb)
    assert "on_anticoagulants" not in unchecked.open_questions


def test_one_deadline_in_a_report(advisor):
    """A time-critical reason gives one deadline, the shortest, everywhere; any other same-day reason gives 24 hours."""
    time_critical = {
        "possible aneurysm (age not given)": {"sudden_severe_pain": True},
        "sudden pain in pregnancy": {**DESK, "pregnant": True, "sudden_severe_pain": True},
        "unsure of numbness between the legs": {**DESK, "saddle_anaesthesia": "dont_know"},
    }
    for name, case in time_critical.items():
        report = report_of(advisor, case)
        assert report.triage == "urgent", name
        words = " ".join(render_text(report, details=True).split())
        assert "within the next few hours" in words, name
        assert "24 hours" not in words, name
        assert "24 hours" not in json.dumps(report.to_dict()), name
    fever = " ".join(render_text(report_of(advisor, SCREENED["urgent"])).split())
    assert fever.count("the same day or within 24 hours") == 1
    assert "within the next few hours" not in fever


def test_not_answered_is_not_known_in_every_part_of_the_report(advisor):
    """The questions' note and the safety net agree: a question not answered is not known, never assumed absent."""
    report = report_of(advisor, {"sudden_severe_pain": True})
    words = " ".join(render_text(report).split())
    assert "Not answering is not the same as no" in words
    assert "could not be ruled out" in words
    assert "assume" not in words
    # Two safety-net warnings ending with the same sentence say it once.
    unsure = " ".join(render_text(report_of(advisor, {"saddle_anaesthesia": "dont_know"})).split())
    assert unsure.count("Read the warning signs carefully and get help if any applies to you.") == 1


def test_safety_net_both_legs_is_about_new_or_worsening_symptoms(advisor):
    """Long-standing, unchanged symptoms in both legs with known stenosis (routine) are not told to call 999."""
    stable = {
        **DESK,
        "age": 60,
        "spinal_stenosis": True,
        "bilateral_leg_symptoms": True,
        "leg_symptoms_new_or_worsening": False,
    }
    report = report_of(advisor, stable)
    assert report.triage == "routine"
    first = report.section("get_help").lines[0]
    (legs,) = [item for item in first.items if "both legs" in item]
    assert legs.startswith("new or worsening")


def test_a_yes_more_urgent_with_the_other_answers_is_said_to_be(advisor):
    """Weakness with sudden severe pain and no age is an emergency, alone the same day: the note says which to follow."""
    raised = report_of(advisor, {"sudden_severe_pain": True})
    (weak,) = [line for line in raised.section("unanswered").lines if line.ref == "weakness"]
    assert "call 999" in weak.group
    assert "a leg or foot becomes weak" in " ".join(line.text for line in raised.section("get_help").lines)
    assert "With your other answers" in raised.section("unanswered").note
    # Age and duration only: every yes means what it means alone, so nothing more is said.
    plain = report_of(advisor, {"age": 30, "duration_days": 2})
    assert "With your other answers" not in plain.section("unanswered").note


def test_the_reason_names_a_missing_age_and_why_it_matters(advisor):
    """Sudden severe pain with no age: the level says the age was not answered; the advice says why and to give it."""
    report = report_of(advisor, {"sudden_severe_pain": True, "duration_days": 2})
    assert report.triage == "urgent"
    why = report.section("level").lines[0].text
    assert '"Did this pain come on suddenly and is it severe?" (yes)' in why
    assert 'you did not answer "How old are you?"' in why
    (referral,) = [line for line in report.section("do_now").lines if line.ref == "urgent_clinician_review"]
    (age,) = [w for w in referral.warnings if w.startswith("You did not give your age.")]
    assert "main blood vessel" in age
    assert "60" in age
    assert "If you give your age" in age
    # With the age given (45), the same pain is self-care: the age was the reason.
    assert advisor.assess({"sudden_severe_pain": True, "duration_days": 2, "age": 45}).triage == "self_care"


def test_the_unscreened_older_adult_is_told_which_questions_were_not_answered(advisor, kb):
    """At 70 with every warning sign unanswered the reason names those questions, not the age alone."""
    why = report_of(advisor, {"age": 70, "duration_days": 5}).section("level").lines[0].text
    assert '"How old are you?" (70 years)' in why
    assert "you did not answer" in why
    assert kb.facts["fever"].question in why
    assert kb.facts["history_of_cancer"].question in why


def test_a_dont_know_reads_as_dont_know(advisor, kb):
    """A recorded "don't know" is the question with (don't know): no quotes inside quotes, never (yes)."""
    report = report_of(advisor, {**DESK, "saddle_anaesthesia": "dont_know"})
    level = report.section("level")
    why = level.lines[0].text
    assert f'"{kb.facts["saddle_anaesthesia"].question}" (don\'t know)' in why
    assert "(yes)" not in why
    assert 'Answered "' not in why
    assert any("you were not sure about 1 question" in line.text for line in level.lines)


def test_withheld_reasons_say_what_is_true_and_plainly(advisor, kb):
    """No reason claims a warning sign when every one was answered no; plain words; the scan item reads plainly."""
    no_signs = {**DESK, "sudden_severe_pain": True}
    no_signs.pop("age")  # age not given: at least urgent, with every warning sign answered no
    report = report_of(advisor, no_signs)
    assert report.triage == "urgent"
    assert all(dict(advisor.assess(no_signs).case)[f] is False for f in kb.red_flags())
    withheld = " ".join(line.text for line in report.section("withheld").lines)
    assert "Warning signs are present" not in withheld
    assert "doctor has checked you" in withheld
    for case in CASES:
        for item in advisor.assess(case.facts).withheld:
            assert "exclude" not in item.reason, (case.id, item.reason)
    assert "physiotherapy" not in kb.recommendations["chiropractic_care"].title.lower()
    older = report_of(advisor, {**DESK, "age": 70})
    (scan,) = [line for line in older.section("withheld").lines if line.ref == "no_imaging_needed"]
    assert scan.text.startswith("Whether you need a scan: ")
    assert "not needed" not in scan.text


def test_a_yes_that_keeps_a_same_day_level_is_for_the_doctor_seen_today(advisor):
    """At the urgent level a yes that changes nothing is to tell the doctor seen today, not to mention to a GP."""
    report = report_of(advisor, {"sudden_severe_pain": True})
    groups = {line.group for line in report.section("unanswered").lines if line.ref is not None}
    assert any("tell the doctor you see today" in group for group in groups)
    assert not any("mention it to your GP" in group for group in groups)


def test_pregnancy_says_whom_to_call_first_without_going_round_in_a_circle(advisor):
    """Sudden pain, a fever or a fall in pregnancy: the maternity unit first, NHS 111 without one; another reason: say so."""
    sudden = report_of(advisor, {**DESK, "pregnant": True, "sudden_severe_pain": True})
    (referral,) = [line for line in sudden.section("do_now").lines if line.ref == "urgent_clinician_review"]
    (maternity,) = [w for w in referral.warnings if "maternity" in w]
    assert maternity.index("maternity unit or midwife now, before the services above") < maternity.index("NHS 111")
    assert "rather than waiting for a GP" not in maternity
    assert "call your GP" not in maternity
    # A fever or a fall in pregnancy: the maternity unit first as well, within hours.
    for sign in ("fever", "minor_trauma"):
        report = report_of(advisor, {**DESK, "pregnant": True, sign: True})
        (referral,) = [line for line in report.section("do_now").lines if line.ref == "urgent_clinician_review"]
        (maternity,) = [w for w in referral.warnings if "maternity" in w]
        assert "maternity unit or midwife now, before the services above" in maternity, sign
        assert any("within the next few hours" in w for w in referral.warnings), sign
    # A same-day reason that is not about the pregnancy: the services first, the maternity team told.
    weak = report_of(advisor, {**DESK, "pregnant": True, "weakness": True})
    (referral,) = [line for line in weak.section("do_now").lines if line.ref == "urgent_clinician_review"]
    (maternity,) = [w for w in referral.warnings if "maternity" in w]
    assert "tell the service you contact that you are pregnant" in maternity
    assert "call your GP" not in maternity


def test_a_child_is_not_asked_adult_questions_and_not_given_tips_for_what_is_not_suggested(advisor, kb):
    """Under 16: the sexual-function question in a child's words; at a same-day level, no tips for what is not given."""
    child = report_of(advisor, {"age": 10, "worsening": True})
    assert child.triage == "urgent"
    unanswered = child.section("unanswered")
    (sexual,) = [line for line in unanswered.lines if line.ref == "sexual_dysfunction"]
    assert sexual.text == kb.facts["sexual_dysfunction"].child_question
    assert "erection" not in render_text(child)
    assert "answering for a child" in unanswered.note
    # The same question for an adult, in the adult's words.
    adult = report_of(advisor, {"age": 40, "worsening": True})
    (sexual,) = [line for line in adult.section("unanswered").lines if line.ref == "sexual_dysfunction"]
    assert sexual.text == kb.facts["sexual_dysfunction"].question
    assert "answering for a child" not in adult.section("unanswered").note
    # Ibuprofen is not suggested at the same-day level: no dosing tip, ask the doctor seen today instead.
    (nsaid,) = [line for line in child.section("withheld").lines if line.ref == "nsaid_pain_relief"]
    assert "ask the doctor you see today" in nsaid.text
    assert nsaid.warnings == ()
    assert "dose" not in render_text(child)

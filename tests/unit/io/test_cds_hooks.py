"""CDS Hooks cards built from assessments (no server): uuids, indicators, summaries, sources."""

from __future__ import annotations

import itertools
import uuid

import pytest
from hypothesis import given

from spasm_advisor import Advisor
from spasm_advisor.io.cds_hooks import (
    SUMMARY_LIMIT,
    DraftOrder,
    OrderChecks,
    assessment_cards,
    card_report,
    facts_behind,
    order_cards,
    source_label,
    summary,
)
from spasm_advisor.render.report import UNANSWERED
from spasm_advisor.testing import cases

ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base


def cards(case, **kwargs):
    return assessment_cards(ADVISOR.assess(case), KB, **kwargs)


def test_a_fresh_uuid_per_card_per_call():
    case = {"age": 40, "duration_days": 3, "on_anticoagulants": True}
    first, second = cards(case), cards(case)
    ids = [c.uuid for c in first + second]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("case", "first_item", "indicator"),
    [
        ({"saddle_anaesthesia": True}, "emergency_care", "critical"),
        ({"fever": True, "age": 40}, "urgent_clinician_review", "warning"),
        ({"age": 40, "duration_days": 120}, "clinician_review", "info"),
    ],
)
def test_the_referral_card_carries_the_triage(case, first_item, indicator):
    first = cards(case)[0]
    assert (first.item, first.indicator) == (first_item, indicator)


def test_indicator_follows_what_the_card_says():
    assessment = ADVISOR.assess({"age": 65, "duration_days": 3, "on_anticoagulants": True})
    built = {(c.kind, c.item): c for c in assessment_cards(assessment, KB)}
    cautioned = {r.id for r in assessment.recommendations if r.warnings}
    for rec in assessment.recommendations:
        card = built["recommendation", rec.id]
        if rec.category != "referral":
            assert card.indicator == ("warning" if rec.id in cautioned else "info")
    for item in assessment.withheld_ids():
        assert built["withheld", item].indicator == "warning"
        assert built["withheld", item].body["overrideReasons"]
    assert built["unanswered", None].indicator == "info"


def test_summaries_sources_and_links():
    for case in ({"saddle_anaesthesia": True}, {"age": 70, "duration_days": 50, "pregnant": True}, {}):
        for card in cards(case, explain_url=lambda item: f"https://cds.example.org/#explain={item}"):
            assert len(card.body["summary"]) < SUMMARY_LIMIT
            assert "\n" not in card.body["summary"]
            assert None not in card.body.values()
            assert card.body["links"][0]["type"] == "absolute"
            url = card.body["source"].get("url")
            assert url is None or url in {s.url for s in KB.sources.values()}
    assert all("links" not in c.body for c in cards({}))


def test_summary_and_label_helpers():
    assert summary("x " * 200).endswith("...")
    assert len(summary("x " * 200)) < SUMMARY_LIMIT
    assert summary("one\nline") == "one line"
    assert source_label(KB.sources["nice_ng59"]) == "NICE NG59"


def test_order_cards_are_one_per_order():
    counter = itertools.count()
    assessment = ADVISOR.assess({"age": 40, "on_anticoagulants": True, "gi_bleed_or_ulcer_history": True})
    order = DraftOrder("MedicationRequest/1", "ibuprofen", "NSAID", ("nsaid_pain_relief",))
    (card,) = order_cards(assessment, KB, [order], new_uuid=lambda: uuid.UUID(int=next(counter)))
    assert card.kind == "order-withheld"
    assert {"nsaid_withhold_anticoagulants", "nsaid_withhold_gi_bleed_or_ulcer"} <= set(card.rules)
    assert card.body["suggestions"][0]["actions"][0] == {
        "type": "delete",
        "description": "Remove the draft order for ibuprofen",
        "resourceId": "MedicationRequest/1",
    }


def _reads_closure(rule):
    """The input facts behind a rule, by a fixpoint over every rule (no index)."""
    rules, facts, findings = {rule.id}, set(rule.facts_read()), set(rule.findings_read())
    grown = True
    while grown:
        grown = False
        for other in KB.rules:
            if other.id not in rules and set(other.derives) & findings:
                rules.add(other.id)
                facts |= other.facts_read()
                findings |= other.findings_read()
                grown = True
    return facts


def test_order_checks_name_every_fact_behind_each_withholding_rule():
    checks = OrderChecks(KB)
    withholding = [r for r in KB.rules if any(a.kind == "withhold" for a in r.actions)]
    assert withholding
    for rule in withholding:
        assert set(checks.facts_behind(rule)) == _reads_closure(rule)
        assert checks.facts_behind(rule) == facts_behind(KB, rule)
        targets = tuple(a.target for a in rule.actions if a.kind == "withhold")
        assert rule in checks.withholding(targets)
    assert checks.withholding(("nsaid_pain_relief",)) == tuple(
        r for r in KB.rules if any(a.kind == "withhold" and a.target == "nsaid_pain_relief" for a in r.actions)
    )


# --- cards say what the person's report says --------------------------------------------


def _report_and_cards(case):
    assessment = ADVISOR.assess(case)
    report = card_report(assessment, KB)
    built = assessment_cards(assessment, KB, explain_url=lambda item: f"https://cds.example.org/#explain={item}")
    return assessment, report, built


def _card(built, kind, item=None):
    (found,) = [c for c in built if c.kind == kind and c.item == item]
    return found


@pytest.mark.parametrize(
    "case",
    [
        {"saddle_anaesthesia": True},
        {"fever": True, "age": 40},
        {"age": 65, "duration_days": 3, "on_anticoagulants": True},
    ],
)
def test_the_card_answering_the_triage_opens_with_the_reports_headline(case):
    _assessment, report, built = _report_and_cards(case)
    level = report.section("level")
    first = built[0]
    assert first.kind == "recommendation"
    assert KB.recommendations[first.item].category == "referral"
    paragraphs = first.body["detail"].split("\n\n")
    assert paragraphs[0] == f"**{level.title}**"
    assert paragraphs[1 : 1 + len(level.lines)] == [line.text for line in level.lines]
    assert all(f"**{level.title}**" not in c.body["detail"] for c in built[1:])


@pytest.mark.parametrize("case", [{"age": 30, "duration_days": 2}, {"age": 40, "duration_days": 3, "fever": False}])
def test_without_a_referral_a_triage_card_carries_the_headline(case):
    assessment, report, built = _report_and_cards(case)
    assert assessment.triage == "self_care"
    level = report.section("level")
    first = built[0]
    assert (first.kind, first.item) == ("triage", None)
    assert first.body["summary"] == level.title
    assert first.indicator == level.level  # "warning" while warning signs are unanswered, as the report colours it
    for line in level.lines:
        assert line.text in first.body["detail"]
    assert first.body["links"][0]["url"].endswith("#explain=None")


def test_withheld_cards_give_the_reports_plain_reason():
    assessment, report, built = _report_and_cards({"age": 68, "on_anticoagulants": True, "osteoporosis": True})
    section = report.section("withheld")
    lines = {line.ref: line for line in section.lines}
    assert assessment.withheld_ids()
    for item in assessment.withheld_ids():
        card = _card(built, "withheld", item)
        assert card.body["summary"] == summary(f"{section.title}: {KB.recommendations[item].title}")
        assert card.body["detail"].startswith(f"**{section.title}:** {lines[item].text}")


def test_the_unanswered_card_asks_the_reports_questions_and_names_every_unanswered_red_flag():
    case = {"age": 68, "osteoporosis": True, "history_of_cancer": True, "on_anticoagulants": True}
    assessment, report, built = _report_and_cards({**case, "duration_days": 4, "saddle_anaesthesia": False})
    card = _card(built, "unanswered")
    (said,) = [line.text for line in report.section("level").lines if line.topic == UNANSWERED]
    assert card.body["summary"] == summary(said)
    open_section = report.section("unanswered")
    detail = card.body["detail"]
    for line in open_section.lines:
        assert (f"{line.text} (`{line.ref}`)" if line.ref else line.text) in detail
    assert open_section.note in detail
    assert "spasm-advisor interview" not in detail  # the card links to the workbench instead
    assert "If yes" not in detail  # grouped by what the rules could reach, the headings would overstate it
    for flag in assessment.unanswered_red_flags:
        assert f"(`{flag}`)" in detail


def test_recommendation_cards_give_the_reports_advice_cautions_and_evidence():
    assessment, report, built = _report_and_cards({"age": 40, "duration_days": 3})
    lines = {line.ref: line for kind in ("do_now", "options") for line in report.section(kind).lines}
    for rec in assessment.recommendations:
        if rec.id not in lines:
            continue
        detail = _card(built, "recommendation", rec.id).body["detail"]
        line = lines[rec.id]
        for text in (*line.details, *line.warnings, *line.cautions, *line.evidence):
            assert text in detail
        if line.strength:
            assert f"**Evidence ({line.strength}):**" in detail


def test_the_safety_net_card_lists_the_reports_get_help_section():
    assessment, report, built = _report_and_cards({"age": 40, "duration_days": 3})
    net = next(r for r in assessment.recommendations if KB.recommendations[r.id].safety_net)
    detail = _card(built, "recommendation", net.id).body["detail"]
    section = report.section("get_help")
    assert f"**{section.title}**" in detail
    for line in section.lines:
        assert f"- {line.text}" in detail
        for item in line.items:
            assert f"  - {item}" in detail


@given(case=cases(KB))
def test_cards_keep_the_cds_hooks_rules_for_any_case(case):
    assessment = ADVISOR.assess(case)
    built = assessment_cards(assessment, KB, explain_url=lambda item: f"https://cds.example.org/#{item}")
    again = assessment_cards(assessment, KB)
    assert len({c.uuid for c in built + again}) == len(built) + len(again)
    for card in built:
        body = card.body
        assert 0 < len(body["summary"]) < SUMMARY_LIMIT
        assert "\n" not in body["summary"]
        assert body["indicator"] in {"info", "warning", "critical"}
        assert body["source"]["label"]
        assert body["links"][0]["type"] == "absolute"
        assert ("overrideReasons" in body) == (body["indicator"] == "warning")
        assert None not in body.values()
        assert body["detail"]
    kinds = [c.kind for c in built]
    answering = [r for r in assessment.recommendations if r.category == "referral"]
    assert kinds.count("triage") == (0 if answering else 1)

"""CDS Hooks cards built from assessments (no server): uuids, indicators, summaries, sources."""

from __future__ import annotations

import itertools
import uuid

import pytest

from spasm_advisor import Advisor
from spasm_advisor.io.cds_hooks import (
    SUMMARY_LIMIT,
    DraftOrder,
    OrderChecks,
    assessment_cards,
    facts_behind,
    order_cards,
    source_label,
    summary,
)

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

"""The clinical test cases in knowledge/cases/ all pass against the bundled knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from spasm_advisor.analysis.clinical_cases import check_case, load_clinical_cases
from spasm_advisor.analysis.invariants import load_invariants
from spasm_advisor.kb.resources import bundled_knowledge_dir

CASES = load_clinical_cases(bundled_knowledge_dir() / "cases", "knowledge/cases")


def test_enough_cases():
    """There are at least 25 clinical cases."""
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_clinical_case(advisor, case):
    """The advisor does what the clinician expects for this case."""
    assert check_case(advisor, case) == []


def test_every_red_flag_and_caution_is_exercised(advisor):
    """Each red-flag and caution fact is answered yes in at least one case."""
    kb = advisor.knowledge_base
    needed = {f.id for f in kb.facts.values() if f.role in ("red_flag", "caution")}
    answered_yes = {name for c in CASES for name, value in c.facts.items() if value is True}
    assert needed - answered_yes == set()


def test_every_withhold_rule_is_exercised(advisor):
    """Every contraindication (withhold) rule fires in at least one case."""
    withhold_rules = {r.id for r in advisor.knowledge_base.rules if any(a.kind == "withhold" for a in r.actions)}
    fired = {rule for c in CASES for rule in advisor.assess(c.facts).fired_rules}
    assert withhold_rules - fired == set()


def test_checker_reports_differences(advisor, tmp_path: Path):
    """A case with a wrong expectation is reported, naming what differs."""
    (tmp_path / "wrong.yaml").write_text(
        "version: 1\nid: wrong\ncase: {saddle_anaesthesia: true}\n"
        "expect: {triage: self_care, recommend: [heat_therapy], not_recommend: [emergency_care]}\n"
    )
    (case,) = load_clinical_cases(tmp_path)
    problems = check_case(advisor, case)
    assert any(p.startswith("triage is emergency") for p in problems)
    assert any("'heat_therapy' is not recommended" in p for p in problems)
    assert any("'emergency_care' is recommended" in p for p in problems)


def test_every_withheld_treatment_has_its_invariant_clause(advisor):
    """The invariant that nothing withheld is also recommended names every treatment a rule can withhold."""
    kb = advisor.knowledge_base
    withholdable = {a.target for r in kb.rules for a in r.actions if a.kind == "withhold"}
    (invariant,) = [i for i in load_invariants(kb) if i.id == "withheld_is_never_recommended"]
    statement = invariant.describe()
    assert {t for t in withholdable if f"withholds {t}" not in statement or f"recommends {t}" not in statement} == set()

"""The experta engine and the plain reference interpreter agree on every generated case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spasm_advisor.inference.reference import ReferenceInterpreter, run_rules
from spasm_advisor.testing import cases, sample_cases


@pytest.fixture(scope="module", name="reference")
def _reference(spasm_advisor):
    return ReferenceInterpreter(spasm_advisor.knowledge_base)


@given(data=st.data())
def test_engine_matches_reference(spasm_advisor, reference, data):
    """Same JSON, firing order included, from experta and from the reference interpreter."""
    case = data.draw(cases(spasm_advisor.knowledge_base))
    assert spasm_advisor.assess(case).to_json() == reference.assess(case).to_json()


@pytest.mark.parametrize(
    "draw",
    [{}, {"yes_rate": 0.1}, {"yes_rate": 0.9}, {"red_flag_yes_rate": 0.05}],
    ids=["even", "mostly-no", "mostly-yes", "few-red-flags"],
)
def test_engine_fires_as_the_reference_on_seeded_cases(spasm_advisor, draw):
    """Branch by branch, the same firing order and findings as the reference, on 250 seeded cases per draw.

    The compiled network matches some findings on the input fact they come
    from and declares the case stratum by stratum; neither may change which
    branches fire or in what order.
    """
    engine = spasm_advisor.compiled.new_engine()
    for facts in sample_cases(spasm_advisor.knowledge_base, 250, seed=11, **draw):
        case = spasm_advisor.case(facts)
        values = {name: case.get(name) for name in spasm_advisor.compiled.fact_names}
        assert engine.run_case(values) == run_rules(spasm_advisor.compiled.branches, case), facts


def test_reference_matches_on_mini(mini):
    """Agreement on the small test knowledge base, for every combination of its facts."""
    reference = ReferenceInterpreter(mini.knowledge_base)
    for numbness in (None, True, False):
        for fever in (None, True, False):
            for age in (None, 10, 50, 90):
                for anticoag in (None, True):
                    for posture in (None, "good", "poor"):
                        values = {
                            "numbness": numbness,
                            "fever": fever,
                            "age": age,
                            "on_anticoagulants": anticoag,
                            "posture": posture,
                        }
                        case = {k: v for k, v in values.items() if v is not None}
                        assert mini.assess(case).to_json() == reference.assess(case).to_json()

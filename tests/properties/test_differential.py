"""The experta engine and the plain reference interpreter agree on every generated case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spasm_advisor.inference.reference import ReferenceInterpreter
from spasm_advisor.testing import cases


@pytest.fixture(scope="module", name="reference")
def _reference(spasm_advisor):
    return ReferenceInterpreter(spasm_advisor.knowledge_base)


@given(data=st.data())
def test_engine_matches_reference(spasm_advisor, reference, data):
    """Same JSON, firing order included, from experta and from the reference interpreter."""
    case = data.draw(cases(spasm_advisor.knowledge_base))
    assert spasm_advisor.assess(case).to_json() == reference.assess(case).to_json()


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

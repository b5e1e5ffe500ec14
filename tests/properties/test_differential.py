"""The experta engine and the plain reference interpreter agree on every generated case."""

from __future__ import annotations

from hypothesis import given

from engine import Advisor
from engine.reference import ReferenceInterpreter
from engine.testing import cases

ADVISOR = Advisor.default()
REFERENCE = ReferenceInterpreter(ADVISOR.knowledge_base)


@given(cases(ADVISOR.knowledge_base))
def test_engine_matches_reference(case):
    """Same JSON, firing order included, from experta and from the reference interpreter."""
    assert ADVISOR.assess(case).to_json() == REFERENCE.assess(case).to_json()


def test_reference_matches_on_mini(mini):
    """Agreement on the small test knowledge base too, for every combination of its flags."""
    reference = ReferenceInterpreter(mini.knowledge_base)
    for numbness in (None, True, False):
        for fever in (None, True, False):
            for age in (None, 10, 50, 90):
                for anticoag in (None, True):
                    case = {k: v for k, v in {"numbness": numbness, "fever": fever, "age": age, "on_anticoagulants": anticoag}.items() if v is not None}
                    assert mini.assess(case).to_json() == reference.assess(case).to_json()

"""Case validation: every problem named at once, unknown stays unknown."""

from __future__ import annotations

import pytest

from spasm_advisor import Case, CaseError


def test_valid_case(mini):
    """Answered facts are kept; null means unknown and is dropped."""
    case = Case.from_mapping({"age": 40, "numbness": False, "fever": None, "posture": "poor"}, mini.knowledge_base)
    assert dict(case) == {"age": 40, "numbness": False, "posture": "poor"}
    assert case.get("fever") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"numbess": True}, "unknown fact 'numbess' (did you mean 'numbness'?)"),
        ({"age": 121}, "age: 121 is above the maximum 120"),
        ({"age": -1}, "age: -1 is below the minimum 0"),
        ({"age": "40"}, "age: expected an integer from 0 to 120, got '40'"),
        ({"age": True}, "age: expected an integer from 0 to 120, got True"),
        ({"age": 40.5}, "age: expected an integer from 0 to 120, got 40.5"),
        ({"age": float("nan")}, "age: expected an integer from 0 to 120, got nan"),
        ({"numbness": "yes"}, "numbness: expected true or false, got 'yes' (write true or false, not a string)"),
        ({"numbness": 1}, "numbness: expected true or false, got 1"),
        ({"posture": "slouched"}, "posture: expected one of good, poor, got 'slouched'"),
        ({"posture": ["poor"]}, "posture: expected one of good, poor, got ['poor']"),
        ({1: True}, "fact names are text, not int (1)"),
    ],
)
def test_invalid_values(mini, data, message):
    """Each wrong field is named with its value and what was expected."""
    with pytest.raises(CaseError) as info:
        Case.from_mapping(data, mini.knowledge_base)
    assert str(info.value) == message


def test_all_problems_at_once(mini):
    """One error lists every problem, in input order."""
    with pytest.raises(CaseError) as info:
        Case.from_mapping({"age": 300, "numbess": True, "posture": 3}, mini.knowledge_base)
    assert info.value.fields == ("age", "numbess", "posture")
    assert str(info.value).count(";") == 2


@pytest.mark.parametrize("data", [None, [], "numbness", 3])
def test_not_a_mapping(mini, data):
    """A case must be a mapping."""
    with pytest.raises(CaseError, match="a case must be a mapping"):
        Case.from_mapping(data, mini.knowledge_base)


def test_case_error_is_value_error(mini):
    """CaseError is also a ValueError, for callers that catch builtins."""
    with pytest.raises(ValueError, match="unknown fact"):
        mini.assess({"nope": 1})


def test_sample_cases_are_valid_and_repeatable(advisor):
    """spasm_advisor.testing.sample_cases gives valid cases, the same for the same seed."""
    from spasm_advisor.testing import sample_cases

    kb = advisor.knowledge_base
    first = sample_cases(kb, 50, seed=3)
    assert first == sample_cases(kb, 50, seed=3)
    assert first != sample_cases(kb, 50, seed=4)
    for case in first:
        assert dict(Case.from_mapping(case, kb)) == case
    no_flags = sample_cases(kb, 50, seed=3, red_flag_yes_rate=0.0)
    assert not any(case.get(flag) is True for case in no_flags for flag in kb.red_flags())

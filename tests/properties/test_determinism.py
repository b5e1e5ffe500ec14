"""Determinism and explanation soundness over generated cases."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Advisor, CaseError
from engine.testing import assert_sound, cases, invalid_cases

ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base


@given(cases(KB))
def test_same_case_same_json(case):
    """The same case gives byte-identical JSON, with a fresh advisor too."""
    first = ADVISOR.assess(case).to_json()
    assert ADVISOR.assess(dict(case)).to_json() == first


@given(cases(KB), st.randoms())
def test_fact_order_does_not_matter(case, rnd):
    """Declaring the facts in any order gives the same assessment."""
    items = list(case.items())
    rnd.shuffle(items)
    assert ADVISOR.assess(dict(items)).to_json() == ADVISOR.assess(case).to_json()


@given(cases(KB))
def test_explanations_are_sound(case):
    """Explanations cite only fired rules and input or derived facts."""
    assert_sound(ADVISOR.assess(case), KB)


@given(invalid_cases(KB))
def test_invalid_cases_rejected_with_field(invalid):
    """Invalid cases raise CaseError naming the field, never another exception."""
    case, field = invalid
    try:
        ADVISOR.assess(case)
    except CaseError as exc:
        assert field in exc.fields
    else:
        raise AssertionError(f"accepted an invalid case: {case!r}")


@settings(max_examples=5)
@given(st.lists(cases(KB), min_size=5, max_size=5))
def test_same_json_across_hash_seeds(batch):
    """Across processes with different PYTHONHASHSEED, the JSON is byte-identical."""
    import json

    code = (
        "import json, sys; from engine import Advisor; a = Advisor.default(); "
        "print('\\n'.join(a.assess(c).to_json(indent=None) for c in json.load(sys.stdin)))"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps(batch), capture_output=True,
                             text=True, env=env, check=True, cwd=os.path.dirname(__file__))
        outputs.add(out.stdout)
    assert len(outputs) == 1
    assert outputs.pop().splitlines() == [ADVISOR.assess(c).to_json(indent=None) for c in batch]

"""Determinism, order independence, explanation soundness and invalid input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from spasm_advisor import CaseError
from spasm_advisor.testing import assert_sound, cases, invalid_cases


@given(data=st.data())
def test_same_case_same_json(spasm_advisor, data):
    """The same case gives byte-identical JSON on a reused engine."""
    case = data.draw(cases(spasm_advisor.knowledge_base))
    first = spasm_advisor.assess(case).to_json()
    assert spasm_advisor.assess(dict(case)).to_json() == first


@given(data=st.data())
def test_fact_order_does_not_matter(spasm_advisor, data):
    """Declaring the facts in any order gives the same assessment."""
    case = data.draw(cases(spasm_advisor.knowledge_base))
    items = list(case.items())
    data.draw(st.randoms()).shuffle(items)
    assert spasm_advisor.assess(dict(items)).to_json() == spasm_advisor.assess(case).to_json()


@given(data=st.data())
def test_explanations_are_sound(spasm_advisor, data):
    """Explanations cite only fired rules and input or derived facts; every recommendation has one."""
    kb = spasm_advisor.knowledge_base
    assert_sound(spasm_advisor.assess(data.draw(cases(kb))), kb)


@given(data=st.data())
def test_invalid_cases_rejected_with_field(spasm_advisor, data):
    """Invalid cases raise CaseError naming the field, never another exception."""
    case, field = data.draw(invalid_cases(spasm_advisor.knowledge_base))
    try:
        spasm_advisor.assess(case)
    except CaseError as exc:
        assert field in exc.fields
    else:
        raise AssertionError(f"accepted an invalid case: {case!r}")


@settings(max_examples=3)
@given(data=st.data())
def test_same_json_across_hash_seeds(spasm_advisor, spasm_kb_path, data):
    """Across processes with different PYTHONHASHSEED, the JSON is byte-identical."""
    batch = data.draw(st.lists(cases(spasm_advisor.knowledge_base), min_size=5, max_size=5))
    if spasm_kb_path is None:
        make = "Advisor.default()"
    else:
        make = f"Advisor.from_paths({str(spasm_kb_path / 'rules')!r}, {str(spasm_kb_path / 'knowledge')!r})"
    code = (
        f"import json, sys; from spasm_advisor import Advisor; a = {make}; "
        "print('\\n'.join(a.assess(c).to_json(indent=None) for c in json.load(sys.stdin)))"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(batch),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=os.path.dirname(__file__),
        )
        outputs.add(out.stdout)
    assert len(outputs) == 1
    assert outputs.pop().splitlines() == [spasm_advisor.assess(c).to_json(indent=None) for c in batch]

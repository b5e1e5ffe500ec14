"""Unknown is not no: three-valued logic over generated cases."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from spasm_advisor.kb.conditions import Comparison
from spasm_advisor.testing import cases


@given(data=st.data())
def test_unanswered_red_flags_are_listed(spasm_advisor, data):
    """Every red flag left unanswered is listed, and only those."""
    kb = spasm_advisor.knowledge_base
    case = data.draw(cases(kb))
    result = spasm_advisor.assess(case)
    assert set(result.unanswered_red_flags) == {f for f in kb.red_flags() if case.get(f) is None}


@given(data=st.data())
def test_no_fired_branch_compares_an_unknown_fact(spasm_advisor, data):
    """A condition that needs a fact to have a value (even 'not x') never holds while x is unknown."""
    case = data.draw(cases(spasm_advisor.knowledge_base))
    result = spasm_advisor.assess(case)
    nodes = [n for r in result.recommendations for n in r.explanation] + list(result.triage_explanation)
    nodes += [w.explanation for w in result.withheld]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.derived_from)
        for name, _ in node.facts:
            assert case.get(name) is not None, f"rule {node.rule} used unanswered fact {name}"
    fired = set(result.fired_rules)
    for rule in spasm_advisor.knowledge_base.rules:
        if rule.id not in fired:
            continue
        # Some branch held: find it, and check each of its comparisons saw a known value.
        assert any(
            all(case.get(lit.name) is not None for lit in branch if isinstance(lit, Comparison)) for branch in rule.dnf
        )


def test_empty_case_fires_no_fact_comparison(spasm_advisor):
    """With nothing answered, only branches without fact comparisons can fire ('not x' needs x answered)."""
    result = spasm_advisor.assess({})
    for rule in spasm_advisor.knowledge_base.rules:
        if rule.id in result.fired_rules:
            assert any(not any(isinstance(lit, Comparison) for lit in branch) for branch in rule.dnf), rule.id

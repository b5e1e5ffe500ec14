"""The fast matcher fires exactly what experta's stock matcher and engine loop fire.

spasm_advisor.inference._experta overrides how tokens reach experta's nodes,
how the engine resets, declares and runs, and how facts are built, for speed.
``Advisor(kb, matcher="stock")`` runs the same compiled rules on experta's
stock ReteMatcher, fact list, reset, declare and run; both must give the same
firing order and findings, case after case, and after retractions on a live
engine. Runs against the knowledge base under test (``--spasm-kb``).
"""

from __future__ import annotations

import pytest
from experta.factlist import FactList
from experta.matchers import ReteMatcher
from hypothesis import given, settings
from hypothesis import strategies as st

from spasm_advisor import Advisor
from spasm_advisor.inference._experta import FastReteMatcher
from spasm_advisor.inference.compiler import Finding
from spasm_advisor.testing import cases


@pytest.fixture(scope="module", name="stock")
def _stock(spasm_advisor):
    """The advisor under test, on experta's stock matcher."""
    return Advisor(spasm_advisor.knowledge_base, matcher="stock")


@pytest.fixture(scope="module", name="engines")
def _engines(spasm_advisor, stock):
    """One reused engine of each kind: fast, stock."""
    return spasm_advisor.compiled.new_engine(), stock.compiled.new_engine()


def values_of(advisor: Advisor, case: dict) -> dict:
    valid = advisor.case(case)
    return {name: valid.get(name) for name in advisor.compiled.fact_names}


def test_stock_engine_is_experta_own(stock):
    """The stock switch gives experta's own matcher and, after a reset, its own fact list."""
    engine = stock.compiled.new_engine()
    engine.reset()
    assert type(engine.matcher) is ReteMatcher
    assert type(engine.facts) is FactList
    assert stock.matcher == "stock"


@given(data=st.data())
def test_same_firing_order_and_findings_as_stock_experta(spasm_advisor, engines, data):
    """One case at a time on reused engines: the same rules fire in the same order, the same findings."""
    fast, stock = engines
    values = values_of(spasm_advisor, data.draw(cases(spasm_advisor.knowledge_base)))
    assert fast.run_case(values) == stock.run_case(values)


def _live_run(engine, values_seq):
    """Assert a case; then retract it and its findings, assert the next: traces per step."""
    engine.reset()
    traces = []
    current: list = []
    for values in values_seq:
        for fact in current:
            engine.retract(fact)
        for fact in [f for f in engine.facts.values() if isinstance(f, Finding)]:
            engine.retract(fact)
        engine.trace = []
        current = engine.assert_case(values)
        findings = sorted(f["name"] for f in engine.facts.values() if isinstance(f, Finding))
        traces.append((list(engine.trace), findings))
    return traces


@settings(max_examples=25)
@given(data=st.data())
def test_same_results_after_retractions_on_a_live_engine(spasm_advisor, stock, data):
    """Cases declared and retracted in turn on one live engine fire the same on both matchers."""
    sequence = data.draw(st.lists(cases(spasm_advisor.knowledge_base), min_size=2, max_size=4))
    values_seq = [values_of(spasm_advisor, case) for case in sequence]
    assert _live_run(spasm_advisor.compiled.new_engine(), values_seq) == _live_run(
        stock.compiled.new_engine(), values_seq
    )


def test_mini_knowledge_base_every_combination(mini):
    """Every combination of the small base's facts fires the same on both matchers."""
    fast = mini.compiled.new_engine()
    stock = Advisor(mini.knowledge_base, matcher="stock").compiled.new_engine()
    assert isinstance(fast.matcher, FastReteMatcher)
    assert not isinstance(stock.matcher, FastReteMatcher)
    for numbness in (None, True, False):
        for fever in (None, True, False):
            for age in (None, 10, 50, 90):
                case = {k: v for k, v in {"numbness": numbness, "fever": fever, "age": age}.items() if v is not None}
                values = values_of(mini, case)
                assert fast.run_case(values) == stock.run_case(values)


def test_reset_wipes_every_memory(spasm_advisor):
    """After a reset nothing of the previous case is left in any node."""
    engine = spasm_advisor.compiled.new_engine()
    engine.run_case(values_of(spasm_advisor, dict.fromkeys(spasm_advisor.knowledge_base.red_flags(), True)))
    engine.reset()
    nodes = engine.matcher._nodes()
    for node in nodes:
        for name in ("left_memory", "right_memory", "memory"):
            assert not getattr(node, name, None), (type(node).__name__, name)
    assert not engine.matcher._touched
    assert not engine.matcher._changed

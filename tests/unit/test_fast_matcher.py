"""The specialised Rete nodes of spasm_advisor.inference._experta fire exactly what experta's own matcher and engine loop fire.

spasm_advisor.inference._experta overrides how tokens reach experta's nodes, how the engine
resets, declares and runs, and how facts are built, for speed. Here the same
compiled rules run on an engine that uses experta's stock ReteMatcher,
reset, declare and run, and both must give the same firing order and
findings, case after case, and after retractions on a live engine.
"""

from __future__ import annotations

from experta import KnowledgeEngine
from experta.factlist import FactList
from experta.matchers import ReteMatcher
from hypothesis import given, settings
from hypothesis import strategies as st

from spasm_advisor import Advisor
from spasm_advisor.inference._experta import FastReteMatcher
from spasm_advisor.inference.compiler import CaseFact, Finding
from spasm_advisor.testing import cases

ADVISOR = Advisor.default()


def stock_engine(advisor: Advisor):
    """The compiled engine class, on experta's own matcher and engine methods."""
    base = advisor.compiled.engine_class

    class Stock(base):  # type: ignore[valid-type, misc]
        __matcher__ = ReteMatcher
        reset = KnowledgeEngine.reset
        declare = KnowledgeEngine.declare
        run = KnowledgeEngine.run

        def __init__(self) -> None:
            KnowledgeEngine.__init__(self)
            self.trace = []

        def declare_new(self, fact_class, values):
            return self.declare(fact_class(**values))

    engine = Stock()
    assert isinstance(engine.matcher, ReteMatcher)
    assert not isinstance(engine.matcher, FastReteMatcher)
    return engine


def values_of(advisor: Advisor, case: dict) -> dict:
    valid = advisor.case(case)
    return {name: valid.get(name) for name in advisor.compiled.fact_names}


FAST = ADVISOR.compiled.new_engine()
STOCK = stock_engine(ADVISOR)


@given(cases(ADVISOR.knowledge_base))
def test_same_firing_order_and_findings_as_stock_experta(case):
    values = values_of(ADVISOR, case)
    assert FAST.run_case(values) == STOCK.run_case(values)
    assert isinstance(STOCK.facts, FactList)


def _live_run(engine, values_seq):
    """Declare a case, run; then retract it and its findings, declare the next, run: traces per step."""
    engine.reset()
    traces = []
    current = None
    for values in values_seq:
        if current is not None:
            engine.retract(current)
        for fact in [f for f in engine.facts.values() if isinstance(f, Finding)]:
            engine.retract(fact)
        engine.trace = []
        current = engine.declare(CaseFact(**values))
        engine.run()
        findings = sorted(f["name"] for f in engine.facts.values() if isinstance(f, Finding))
        traces.append((list(engine.trace), findings))
    return traces


@settings(max_examples=25)
@given(st.lists(cases(ADVISOR.knowledge_base), min_size=2, max_size=4))
def test_same_results_after_retractions_on_a_live_engine(sequence):
    values_seq = [values_of(ADVISOR, case) for case in sequence]
    assert _live_run(ADVISOR.compiled.new_engine(), values_seq) == _live_run(stock_engine(ADVISOR), values_seq)


def test_mini_knowledge_base_every_combination(mini):
    fast, stock = mini.compiled.new_engine(), stock_engine(mini)
    for numbness in (None, True, False):
        for fever in (None, True, False):
            for age in (None, 10, 50, 90):
                case = {k: v for k, v in {"numbness": numbness, "fever": fever, "age": age}.items() if v is not None}
                values = values_of(mini, case)
                assert fast.run_case(values) == stock.run_case(values)


def test_reset_wipes_every_memory():
    """After a reset nothing of the previous case is left in any node."""
    engine = ADVISOR.compiled.new_engine()
    engine.run_case(values_of(ADVISOR, {"saddle_anaesthesia": True, "age": 70, "fever": True}))
    engine.reset()
    nodes = engine.matcher._nodes()
    for node in nodes:
        for name in ("left_memory", "right_memory", "memory"):
            assert not getattr(node, name, None), (type(node).__name__, name)
    assert not engine.matcher._touched
    assert not engine.matcher._changed

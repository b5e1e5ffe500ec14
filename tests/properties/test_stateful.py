"""An incremental session always equals a fresh assessment of the same facts (bundled knowledge base)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from spasm_advisor import Advisor
from spasm_advisor.testing import fact_values

ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base
NAMES = sorted(KB.facts)


class IncrementalSession(RuleBasedStateMachine):
    """Set, change and clear facts one at a time; compare with a fresh assessment after each step."""

    @initialize()
    def start(self):
        self.session = ADVISOR.session()
        self.model: dict[str, object] = {}

    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def set_fact(self, data, name):
        value = data.draw(fact_values(KB, name))
        self.session.set(name, value)
        self.model[name] = value

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def clear_fact(self, data):
        name = data.draw(st.sampled_from(sorted(self.model)))
        self.session.clear(name)
        del self.model[name]

    @invariant()
    def equals_fresh_assessment(self):
        assert self.session.facts == self.model
        assert self.session.assessment().to_json() == ADVISOR.assess(self.model).to_json()


TestIncrementalSession = IncrementalSession.TestCase
TestIncrementalSession.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)

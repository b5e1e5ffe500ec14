"""An incremental session always equals a fresh assessment of the same facts (run against --spasm-kb PATH)."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from spasm_advisor import Advisor
from spasm_advisor.testing import fact_values


def incremental_session_machine(advisor: Advisor) -> type[RuleBasedStateMachine]:
    """The state machine for ``advisor``: set, change and clear facts, compare with a fresh assessment."""
    kb = advisor.knowledge_base
    names = sorted(kb.facts)

    class IncrementalSession(RuleBasedStateMachine):
        """Set, change and clear facts one at a time; compare with a fresh assessment after each step."""

        @initialize()
        def start(self):
            self.session = advisor.session()
            self.model: dict[str, object] = {}

        @rule(data=st.data(), name=st.sampled_from(names))
        def set_fact(self, data, name):
            value = data.draw(fact_values(kb, name))
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
            assert self.session.assessment().to_json() == advisor.assess(self.model).to_json()

    return IncrementalSession


def test_incremental_session_equals_fresh_assessment(spasm_advisor):
    """After every set, change and clear, the session's assessment is a fresh assessment of its facts."""
    run_state_machine_as_test(
        incremental_session_machine(spasm_advisor),
        settings=settings(max_examples=25, stateful_step_count=15, deadline=None),
    )

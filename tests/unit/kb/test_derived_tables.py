"""Tables worked out once per knowledge base: derivers, the question order; a changed copy works them out again."""

from __future__ import annotations

import dataclasses

from spasm_advisor import Advisor
from spasm_advisor.io.interview import question_order

KB = Advisor.default().knowledge_base


def test_derivers_name_every_rule_deriving_each_finding_in_rule_order():
    derivers = KB.derivers()
    for name in KB.findings:
        assert derivers.get(name, ()) == tuple(r for r in KB.rules if name in r.derives)
    assert set(derivers) <= set(KB.findings)


def test_a_table_is_built_once_and_a_replaced_knowledge_base_builds_its_own():
    built = []

    def count(kb):
        built.append(kb)
        return len(kb.rules)

    assert KB.derived("test.rule_count", count) == KB.derived("test.rule_count", count) == len(KB.rules)
    assert len(built) == 1
    fewer = dataclasses.replace(KB, rules=KB.rules[:10])
    assert fewer.derived("test.rule_count", count) == 10
    assert len(built) == 2
    assert fewer.derivers() != KB.derivers()
    assert fewer == dataclasses.replace(KB, rules=KB.rules[:10])  # the tables take no part in equality


def test_question_order_is_the_same_each_time():
    assert question_order(KB) is question_order(KB)
    assert set(question_order(KB)) == {n for n, f in KB.facts.items() if f.dont_know_for is None}

"""A plain interpreter of the YAML rules, independent of experta.

It is the reference semantics of the rule language: the verification tools
reason about it, and the property suite checks that the experta engine agrees
with it on every generated case. It mirrors the agenda exactly: among the
branches whose conditions hold and that have not fired, the one of highest
salience (lowest stratum), then lowest rank, fires next; a branch whose
condition stopped holding is dropped, as experta removes its activation.
"""

from __future__ import annotations

from collections.abc import Mapping

from spasm_advisor.inference.assessment import Assessment, assemble
from spasm_advisor.inference.compiler import Branch, compile_branches
from spasm_advisor.io.case import Case
from spasm_advisor.kb.conditions import Value, literal_holds
from spasm_advisor.kb.model import KnowledgeBase

__all__ = ["ReferenceInterpreter", "run_rules"]


def run_rules(branches: tuple[Branch, ...], values: Mapping[str, Value | None]) -> tuple[list[int], set[str]]:
    """Fire branches to quiescence; return the firing order (branch indices) and the findings."""
    findings: set[str] = set()
    fired: list[int] = []
    done: set[int] = set()
    while True:
        for index, branch in enumerate(branches):  # already in (stratum, rank) order
            if index in done:
                continue
            if all(literal_holds(lit, values, findings) for lit in branch.literals):
                done.add(index)
                fired.append(index)
                findings.update(branch.rule.derives)
                break
        else:
            return fired, findings


class ReferenceInterpreter:
    """Assesses cases like :class:`~spasm_advisor.Advisor`, without experta."""

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        """Prepare the rule branches of ``knowledge_base``."""
        self.knowledge_base = knowledge_base
        self.branches = compile_branches(knowledge_base)

    def assess(self, facts: Mapping[str, object] | Case) -> Assessment:
        """Assess one case (raises :class:`~spasm_advisor.CaseError` for invalid input)."""
        case = facts if isinstance(facts, Case) else Case.from_mapping(facts, self.knowledge_base)
        trace, findings = run_rules(self.branches, case)
        return assemble(self.knowledge_base, case, [self.branches[i] for i in trace], findings)

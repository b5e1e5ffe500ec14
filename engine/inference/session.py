"""An incremental session: change one fact at a time and reassess on one live engine.

A :class:`Session` keeps its experta engine between changes instead of
resetting it. Each change retracts the case facts and every derived finding,
then asserts the new case stratum by stratum, running each to quiescence, so
the Rete network handles retractions as well as assertions. The result always equals a fresh
assessment of the same facts (the property suite checks this).
"""

from __future__ import annotations

from typing import Any

from spasm_advisor.inference.assessment import Assessment, assemble
from spasm_advisor.inference.compiler import CompiledKnowledgeBase, Finding
from spasm_advisor.io.case import Case

__all__ = ["Session"]


class Session:
    """Facts set, changed and cleared one at a time; ``assessment()`` gives the current result."""

    def __init__(self, compiled: CompiledKnowledgeBase) -> None:
        """Start an empty session (every fact unknown) on a compiled knowledge base (see ``Advisor.session``)."""
        self._compiled = compiled
        self._engine = self._compiled.new_engine()
        self._engine.reset()
        self._values: dict[str, Any] = {}
        self._case_facts: list[Any] = []
        self._trace: list[int] = []
        self._refresh()

    def set(self, name: str, value: Any) -> None:
        """Answer (or change) one fact; ``None`` makes it unknown again.

        Raises:
            CaseError: if the name or value does not fit the vocabulary.
        """
        values = {**self._values, name: value}
        self._values = dict(Case.from_mapping(values, self._compiled.kb))
        self._refresh()

    def clear(self, name: str) -> None:
        """Make one fact unknown again."""
        self.set(name, None)

    @property
    def facts(self) -> dict[str, Any]:
        """The answered facts."""
        return dict(self._values)

    def _refresh(self) -> None:
        engine = self._engine
        for fact in self._case_facts:
            engine.retract(fact)
        for fact in [f for f in engine.facts.values() if isinstance(f, Finding)]:
            engine.retract(fact)
        engine.trace = []
        self._case_facts = engine.assert_case({n: self._values.get(n) for n in self._compiled.fact_names})
        self._trace = list(engine.trace)

    def assessment(self) -> Assessment:
        """The assessment of the facts as they stand."""
        findings = {f["name"] for f in self._engine.facts.values() if isinstance(f, Finding)}
        branches = [self._compiled.branches[i] for i in self._trace]
        return assemble(self._compiled.kb, Case(self._values), branches, findings)

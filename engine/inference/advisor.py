"""The library's entry point: :class:`Advisor`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from spasm_advisor.inference._experta import MATCHERS, MatcherName, with_stock_matcher
from spasm_advisor.inference.assessment import Assembler, Assessment, AssessmentSummary
from spasm_advisor.inference.compiler import Branch, CompiledKnowledgeBase, compile_knowledge_base
from spasm_advisor.inference.session import Session
from spasm_advisor.io.case import Case
from spasm_advisor.kb.loader import load_knowledge_base
from spasm_advisor.kb.model import KnowledgeBase
from spasm_advisor.kb.resources import bundled_knowledge_dir, bundled_rules_dir

if TYPE_CHECKING:
    from spasm_advisor.analysis.whynot import WhyNot

__all__ = ["Advisor"]


class Advisor:
    """Assesses back-spasm cases against one knowledge base.

    Create it once and reuse it: the experta engine class is compiled when
    the advisor is built, and each thread gets its own engine, reset between
    cases. An advisor holds no other state, so it is safe to share between
    threads.

    ``matcher="stock"`` runs the same rules on experta's stock matcher and
    engine loop instead of the fast one: several times slower, the same
    results, for telling a matcher problem from a rule problem.

    Example:
        >>> advisor = Advisor.default()
        >>> advisor.assess({"age": 35, "saddle_anaesthesia": True}).triage
        'emergency'
    """

    def __init__(self, knowledge_base: KnowledgeBase, *, matcher: MatcherName = "fast") -> None:
        """Compile ``knowledge_base`` (see :meth:`default` and :meth:`from_paths`).

        Raises:
            ValueError: if ``matcher`` is not ``"fast"`` or ``"stock"``.
        """
        if matcher not in MATCHERS:
            raise ValueError(f"matcher must be one of {', '.join(map(repr, MATCHERS))}, got {matcher!r}")
        compiled = compile_knowledge_base(knowledge_base)
        if matcher == "stock":
            compiled = replace(compiled, engine_class=with_stock_matcher(compiled.engine_class))
        self._compiled: CompiledKnowledgeBase = compiled
        self._matcher: MatcherName = matcher
        self._assembler = Assembler(knowledge_base)
        self._local = threading.local()

    @classmethod
    def default(cls, *, matcher: MatcherName = "fast", sealed: bool = True) -> Advisor:
        """An advisor over the knowledge base bundled with the package.

        ``sealed=False`` skips the check of its files against its manifest,
        for editing the bundled rules in a checkout (see :meth:`from_paths`).
        """
        kb = load_knowledge_base(
            bundled_rules_dir(),
            bundled_knowledge_dir(),
            rules_label="rules",
            knowledge_label="knowledge",
            sealed=sealed,
        )
        return cls(kb, matcher=matcher)

    @classmethod
    def from_paths(
        cls,
        rules: str | Path | Traversable,
        knowledge: str | Path | Traversable,
        *,
        matcher: MatcherName = "fast",
        sealed: bool = True,
    ) -> Advisor:
        """An advisor over the knowledge base in two folders: ``rules/`` and ``knowledge/``.

        The files must be those ``knowledge/manifest.yaml`` lists, unchanged
        (write it with ``spasm-advisor rules seal``); ``sealed=False`` loads a
        knowledge base that is being written without that check.

        Raises:
            SealError: if a file is missing, extra or changed, or the base is not sealed.
            KnowledgeBaseError: naming the file, line and rule of the first problem.
        """
        return cls(load_knowledge_base(rules, knowledge, sealed=sealed), matcher=matcher)

    @property
    def knowledge_base(self) -> KnowledgeBase:
        """The validated knowledge base this advisor uses."""
        return self._compiled.kb

    @property
    def matcher(self) -> MatcherName:
        """The matcher the engine runs on: ``"fast"`` or experta's ``"stock"`` one."""
        return self._matcher

    @property
    def compiled(self) -> CompiledKnowledgeBase:
        """The compiled form (engine class and rule branches), for tools that inspect it."""
        return self._compiled

    def case(self, facts: object, *, source: str | None = None) -> Case:
        """Validate a mapping of facts into a :class:`Case`.

        Raises:
            CaseError: naming every field that is wrong.
        """
        if isinstance(facts, Case):
            return facts
        return Case.from_mapping(facts, self._compiled.kb, source=source)

    def why_not(self, facts: Mapping[str, object] | Case, rec_id: str) -> WhyNot:
        """Why a case did (not) get ``rec_id``: candidate rules, failed conditions, withholding rules.

        With the ``audit`` extra installed, also the smallest change to the
        case that would produce it.
        """
        from spasm_advisor.analysis.whynot import why_not

        return why_not(self, facts, rec_id)

    def session(self) -> Session:
        """An incremental session: set and clear facts one at a time on one live engine."""
        return Session(self._compiled)

    def assess(self, facts: Mapping[str, object] | Case, *, region: str | None = None) -> Assessment:
        """Assess one case: triage, recommendations, withheld items and explanations.

        ``region`` chooses the emergency number in the text people read
        (``knowledge/regions.yaml``; default: the knowledge base's default).

        Raises:
            CaseError: if ``facts`` does not fit the vocabulary.
            UnknownRegionError: if ``region`` is not defined by the knowledge base.
        """
        case, fired, findings = self._run(facts)
        return self._assembler.assemble(case, fired, findings, region=region)

    def summarise(self, facts: Mapping[str, object] | Case, *, region: str | None = None) -> AssessmentSummary:
        """Assess one case without building its explanations: ``assess(facts).summary()``, faster.

        Raises:
            CaseError: if ``facts`` does not fit the vocabulary.
            UnknownRegionError: if ``region`` is not defined by the knowledge base.
        """
        case, fired, findings = self._run(facts)
        return self._assembler.summarise(case, fired, findings, region=region)

    def _run(self, facts: Mapping[str, object] | Case) -> tuple[Case, list[Branch], set[str]]:
        """Validate a case and run this thread's engine on it: the branches that fired and the findings."""
        case = self.case(facts)
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self._compiled.new_engine()
        values = {name: case.get(name) for name in self._compiled.fact_names}
        trace, findings = engine.run_case(values)
        return case, [self._compiled.branches[i] for i in trace], findings

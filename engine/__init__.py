"""Spasm Advisor: a rule-based expert system for back muscle spasm.

Describe a case as facts, get a triage level and explained recommendations::

    from spasm_advisor import Advisor
    advisor = Advisor.default()
    result = advisor.assess({"age": 35, "duration_days": 3, "posture": "poor"})
    result.triage, [r.id for r in result.recommendations]
    result.to_dict()   # the JSON contract

The names below are imported when first used, so that importing a part of
the package (its pytest plugin, its errors) does not load the engine and
experta with it. ``__version__`` is read from the installed distribution's
metadata on first use too (``importlib.metadata`` is slow to import).
"""

import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from spasm_advisor.errors import CaseError, CaseProblem, EngineError, KnowledgeBaseError, SealError
    from spasm_advisor.inference.advisor import Advisor
    from spasm_advisor.inference.assessment import (
        NOTICE,
        Assessment,
        AssessmentSummary,
        CitedSource,
        Derivation,
        Recommendation,
        Withheld,
    )
    from spasm_advisor.io.case import Case
    from spasm_advisor.kb.loader import load_knowledge_base
    from spasm_advisor.kb.model import TRIAGE_LEVELS, KnowledgeBase

    #: The version of the installed distribution: pyproject.toml is its one definition.
    __version__: str

#: Each public name and the module that defines it.
_HOMES = {
    "NOTICE": "spasm_advisor.inference.assessment",
    "TRIAGE_LEVELS": "spasm_advisor.kb.model",
    "Advisor": "spasm_advisor.inference.advisor",
    "Assessment": "spasm_advisor.inference.assessment",
    "AssessmentSummary": "spasm_advisor.inference.assessment",
    "Case": "spasm_advisor.io.case",
    "CaseError": "spasm_advisor.errors",
    "CaseProblem": "spasm_advisor.errors",
    "CitedSource": "spasm_advisor.inference.assessment",
    "Derivation": "spasm_advisor.inference.assessment",
    "EngineError": "spasm_advisor.errors",
    "KnowledgeBase": "spasm_advisor.kb.model",
    "KnowledgeBaseError": "spasm_advisor.errors",
    "Recommendation": "spasm_advisor.inference.assessment",
    "SealError": "spasm_advisor.errors",
    "Withheld": "spasm_advisor.inference.assessment",
    "load_knowledge_base": "spasm_advisor.kb.loader",
}

__all__ = [
    "NOTICE",
    "TRIAGE_LEVELS",
    "Advisor",
    "Assessment",
    "AssessmentSummary",
    "Case",
    "CaseError",
    "CaseProblem",
    "CitedSource",
    "Derivation",
    "EngineError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Recommendation",
    "SealError",
    "Withheld",
    "__version__",
    "load_knowledge_base",
]


if not _typing.TYPE_CHECKING:  # to a type checker, the imports above are the names: no catch-all

    def __getattr__(name: str) -> _typing.Any:
        """Import a public name from its module on first use."""
        if name == "__version__":
            from importlib import metadata

            try:
                value: str = metadata.version("spasm-advisor")
            except metadata.PackageNotFoundError:  # the package imported without being installed
                value = "0+unknown"
            globals()[name] = value
            return value
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'spasm_advisor' has no attribute {name!r}")
        value = getattr(_import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Spasm Advisor: a rule-based expert system for back muscle spasm.

Describe a case as facts, get a triage level and explained recommendations::

    from spasm_advisor import Advisor
    advisor = Advisor.default()
    result = advisor.assess({"age": 35, "duration_days": 3, "posture": "poor"})
    result.triage, [r.id for r in result.recommendations]
    result.to_dict()   # the JSON contract
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from spasm_advisor.errors import CaseError, CaseProblem, EngineError, KnowledgeBaseError, SealError
from spasm_advisor.inference.advisor import Advisor
from spasm_advisor.inference.assessment import NOTICE, Assessment, CitedSource, Derivation, Recommendation, Withheld
from spasm_advisor.io.case import Case
from spasm_advisor.kb.loader import load_knowledge_base
from spasm_advisor.kb.model import TRIAGE_LEVELS, KnowledgeBase

try:
    #: The version of the installed distribution: pyproject.toml is its one definition.
    __version__ = _version("spasm-advisor")
except _PackageNotFoundError:  # pragma: no cover - the package imported without being installed
    __version__ = "0+unknown"

__all__ = [
    "NOTICE",
    "TRIAGE_LEVELS",
    "Advisor",
    "Assessment",
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

"""Typed, immutable values for a loaded knowledge base."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar, cast

from spasm_advisor.kb.conditions import (
    ACTION_KINDS,
    TRIAGE_LEVELS,
    All,
    Any_,
    Condition,
    Literal_,
    Not,
    render,
    triage_rank,
)
from spasm_advisor.kb.hazards import HazardLog

_T = TypeVar("_T")

__all__ = [
    "ACTION_KINDS",
    "CATEGORIES",
    "EVIDENCE_LEVELS",
    "FACT_ROLES",
    "RULE_STATUSES",
    "TRIAGE_LEVELS",
    "Action",
    "Citation",
    "Evidence",
    "FactSpec",
    "Invariant",
    "KnowledgeBase",
    "Provenance",
    "RecommendationSpec",
    "Region",
    "RuleSpec",
    "Source",
    "triage_rank",
]

CATEGORIES: tuple[str, ...] = ("relief", "therapy", "referral")
EVIDENCE_LEVELS: tuple[str, ...] = ("recommended", "weak", "insufficient", "not_recommended", "conflicting")
FACT_ROLES: tuple[str, ...] = ("red_flag", "caution", "sign", "cause", "condition", "context", "preference")
RULE_STATUSES: tuple[str, ...] = ("testing", "production", "research", "expired")

FactType = Literal["boolean", "integer", "enum"]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """One input fact of the vocabulary.

    ``question`` and ``help`` are for the person (the interview asks the one
    and explains it with the other; a fact without ``help`` is explained with
    its ``description``, which then reaches the person too); ``description``
    is for the clinician, and ``history`` (the fact's ``provenance:
    history``) records when and why it was added or changed.
    ``answers`` maps natural replies to a choice question onto its values
    (``("yes", "poor")``: yes to "Do you slouch?" means ``poor``).
    """

    id: str
    type: FactType
    question: str
    description: str
    role: str
    minimum: int | None = None
    maximum: int | None = None
    values: tuple[str, ...] = ()
    unit: str | None = None
    path: str = ""
    line: int = 0
    help: str | None = None
    answers: tuple[tuple[str, str], ...] = ()
    #: For a yes/no fact that records a "don't know" answer: the question it
    #: belongs to (``saddle_anaesthesia_dont_know`` -> ``saddle_anaesthesia``).
    dont_know_for: str | None = None
    #: What changed in the fact and why (edit history), kept out of ``description``.
    history: str | None = None
    #: The question as the report lists it for a child (under 16), where the adult wording
    #: does not fit a child (sexual function); None: the same question for everyone.
    child_question: str | None = None

    @property
    def is_red_flag(self) -> bool:
        """Whether the fact is a red flag."""
        return self.role == "red_flag"

    def domain_text(self) -> str:
        """What values the fact takes, in words (for messages and schemas)."""
        if self.type == "boolean":
            return "true or false"
        if self.type == "enum":
            return "one of " + ", ".join(self.values)
        low = self.minimum if self.minimum is not None else "any"
        high = self.maximum if self.maximum is not None else "no maximum"
        return f"an integer from {low} to {high}" if self.maximum is not None else f"an integer >= {low}"


@dataclass(frozen=True, slots=True)
class Source:
    """A citable source: the seed article or a guideline."""

    id: str
    title: str
    label: str | None = None
    publisher: str | None = None
    year: int | None = None
    url: str | None = None
    status: str = "current"
    notes: str | None = None

    @property
    def short(self) -> str:
        """A short label for cards and reports (``label``, else the title)."""
        return self.label or self.title


@dataclass(frozen=True, slots=True)
class Citation:
    """A source cited by a rule, with the part cited and whether it was verified."""

    source: str
    ref: str | None = None
    verified: bool = True


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one source says about one recommendation."""

    source: str
    level: str
    summary: str | None = None
    ref: str | None = None
    verified: bool = True


@dataclass(frozen=True, slots=True)
class RecommendationSpec:
    """A catalogue entry, in two voices.

    ``title``, ``advice`` and ``cautions`` are for the person: plain words, no
    citations, no reviewer notes. ``because`` (on the entry) and
    ``caution_because`` (one per caution, None where there is nothing to
    add) are for the clinician, beside ``evidence``. ``safety_net`` marks the
    entry whose advice is the "get help now if..." block of the report.
    ``withheld_title`` (person's voice, optional) is what the report calls the
    entry when it is held back, for a title that is itself advice not to do
    something ("A scan is not needed"), which would read as a double negative
    under "Not advised for you".
    """

    id: str
    category: str
    title: str
    advice: str
    evidence: tuple[Evidence, ...]
    cautions: tuple[str, ...]
    sources: tuple[str, ...]
    path: str = ""
    line: int = 0
    because: str | None = None
    caution_because: tuple[str | None, ...] = ()
    safety_net: bool = False
    withheld_title: str | None = None


@dataclass(frozen=True, slots=True)
class Region:
    """Where the person is, for the text they read: the emergency number to call."""

    id: str
    name: str
    emergency_number: str


@dataclass(frozen=True, slots=True)
class Action:
    """One conclusion of a rule: ``kind`` is derive, triage, recommend, withhold or caution."""

    kind: str
    target: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Maintenance data of a rule, after Arden Syntax's maintenance slots."""

    author: str | None = None
    reviewer: str | None = None
    version: str | None = None
    status: str = "testing"
    last_reviewed: str | None = None
    #: What changed in the rule and why (clinical review notes), kept out of ``because``.
    history: str | None = None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as written, with its condition parsed and normalised."""

    id: str
    title: str
    condition: Condition
    dnf: tuple[tuple[Literal_, ...], ...]
    actions: tuple[Action, ...]
    because: str
    sources: tuple[Citation, ...]
    evidence: str | None
    provenance: Provenance
    path: str
    line: int
    stratum: int = 0

    @property
    def derives(self) -> tuple[str, ...]:
        """The findings this rule derives."""
        return tuple(a.target for a in self.actions if a.kind == "derive")

    def findings_read(self) -> set[str]:
        """The findings any branch of the condition refers to."""
        return {lit.name for conj in self.dnf for lit in conj if hasattr(lit, "negated")}

    def facts_read(self) -> set[str]:
        """The input facts any branch of the condition refers to."""
        return {lit.name for conj in self.dnf for lit in conj if not hasattr(lit, "negated")}


@dataclass(frozen=True, slots=True)
class Invariant:
    """A safety property every case must satisfy: if ``given`` is true, ``require`` is true.

    Both are resolved conditions of the rule language plus the outcome atoms
    (``triage OP LEVEL``, ``recommends``, ``withholds``); ``given`` None means
    every case.
    """

    id: str
    title: str
    given: Condition | None
    require: Condition
    because: str | None
    path: str
    line: int
    sources: tuple[str, ...] = ()

    def describe(self) -> str:
        """``if GIVEN then REQUIRE`` in readable form."""
        return f"if {_render_invariant(self.given)} then {_render_invariant(self.require)}"


def _render_invariant(cond: Condition | None) -> str:
    if cond is None:
        return "any case"
    if isinstance(cond, All | Any_) and cond.items:
        joiner = " and " if isinstance(cond, All) else " or "
        return "(" + joiner.join(_render_invariant(c) for c in cond.items) + ")"
    if isinstance(cond, Not):
        return f"not {_render_invariant(cond.item)}"
    return render(cond)


def _derivers(kb: KnowledgeBase) -> Mapping[str, tuple[RuleSpec, ...]]:
    found: dict[str, list[RuleSpec]] = {}
    for rule in kb.rules:
        for name in rule.derives:
            found.setdefault(name, []).append(rule)
    return MappingProxyType({name: tuple(rules) for name, rules in found.items()})


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """A whole, validated knowledge base: vocabulary, catalogue, sources, rules, invariants and hazard log.

    ``rules`` are in firing-priority order (stratum, then id). ``digest`` is
    the SHA-256 of the knowledge base's manifest, which lists every file with
    the SHA-256 of its content, so two results with the same digest came from
    the same knowledge. ``sealed`` says whether the files were checked
    against the manifest when loading (see :mod:`spasm_advisor.kb.manifest`).
    ``hazards`` is the clinical hazard log (:mod:`spasm_advisor.kb.hazards`),
    its references already checked.
    """

    facts: Mapping[str, FactSpec]
    recommendations: Mapping[str, RecommendationSpec]
    sources: Mapping[str, Source]
    rules: tuple[RuleSpec, ...]
    findings: frozenset[str]
    version: str
    digest: str
    invariants: tuple[Invariant, ...] = ()
    rules_location: str = ""
    knowledge_location: str = ""
    rule_index: Mapping[str, RuleSpec] = field(default_factory=lambda: MappingProxyType({}))
    hazards: HazardLog = field(default_factory=HazardLog)
    regions: Mapping[str, Region] = field(default_factory=lambda: MappingProxyType({}))
    default_region: str | None = None
    sealed: bool = False
    _derived: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def derived(self, key: str, build: Callable[[KnowledgeBase], _T]) -> _T:
        """``build(self)``, worked out the first time ``key`` is asked for and kept with this knowledge base.

        For tables that are a function of the knowledge base alone (which
        never changes), such as the question order: callers treat the result
        as read-only. ``dataclasses.replace`` gives a new knowledge base that
        works them out again.
        """
        if key not in self._derived:
            self._derived[key] = build(self)
        return cast(_T, self._derived[key])

    def derivers(self) -> Mapping[str, tuple[RuleSpec, ...]]:
        """The rules deriving each finding, in rule order (worked out once)."""
        return self.derived("derivers", _derivers)

    def red_flags(self) -> tuple[str, ...]:
        """Ids of the red-flag facts, in vocabulary order."""
        return tuple(f.id for f in self.facts.values() if f.is_red_flag)

    def dont_know_facts(self) -> dict[str, str]:
        """Each question whose "don't know" is recorded, mapped to the fact that records it."""
        return {f.dont_know_for: f.id for f in self.facts.values() if f.dont_know_for is not None}

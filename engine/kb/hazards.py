"""The clinical hazard log (``knowledge/hazards.yaml``): typed values, the risk matrix and the reader.

A hazard is what could go wrong for the person using the advisor (a missed
cauda equina syndrome, an NSAID advised on an anticoagulant), with its cause,
effect and harm, its risk before and after the controls, the controls (rules,
invariants, withholds) and the clinical cases that test it. The file format
is described in ``docs/clinical-safety.md``.

Risk follows the NHS clinical risk management standards DCB0129 (manufacture
of health IT systems) and DCB0160 (their deployment and use): a severity and
a likelihood, each on a five-point scale, give a risk rating from 1
(acceptable) to 5 (unacceptable) through the standards' 5x5 matrix
(:data:`RISK_MATRIX`). The rating is always computed, never written in the
file, so it cannot disagree with the matrix.

Every reference is checked when the knowledge base loads: an unknown rule,
invariant, catalogue entry, clinical case or source is a
:class:`~spasm_advisor.errors.KnowledgeBaseError` naming the file, the line,
the hazard and the reference, so deleting a rule that a hazard relies on
fails the load. Whether the controls work (invariants proved, cases passing)
is checked by ``rules verify`` (:mod:`spasm_advisor.analysis.safety_case`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib.abc import Traversable
from types import MappingProxyType
from typing import Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import KnowledgeBaseError, brief
from spasm_advisor.kb.case_files import ClinicalCase, load_clinical_cases
from spasm_advisor.kb.conditions import RuleLike
from spasm_advisor.kb.yamlfile import line_of

__all__ = [
    "CONTROL_KINDS",
    "HAZARD_STATUSES",
    "LIKELIHOODS",
    "RISK_MATRIX",
    "RISK_RATING_MEANINGS",
    "SEVERITIES",
    "Control",
    "Hazard",
    "HazardLog",
    "Risk",
    "parse_hazard_log",
    "risk_rating",
]

#: Severity of the harm, least to most severe (DCB0129/DCB0160 consequence categories).
SEVERITIES: tuple[str, ...] = ("Minor", "Significant", "Considerable", "Major", "Catastrophic")
#: Likelihood of the harm, least to most likely (DCB0129/DCB0160 likelihood categories).
LIKELIHOODS: tuple[str, ...] = ("Very low", "Low", "Medium", "High", "Very high")

#: The DCB0129/DCB0160 clinical risk matrix: for each likelihood, the rating
#: under each severity in :data:`SEVERITIES` order (Minor ... Catastrophic).
#: Cells as published by NHS England with its hazard logs (for example the UK
#: Core FHIR hazard log's "Risk Matrix"), restating the DCB0129 implementation
#: guidance. The matrix is not symmetric: a catastrophic harm is rated 3 even
#: when very unlikely, a minor one at most 3 even when very likely.
RISK_MATRIX: Mapping[str, tuple[int, int, int, int, int]] = MappingProxyType(
    {
        "Very high": (3, 4, 4, 5, 5),
        "High": (2, 3, 3, 4, 5),
        "Medium": (2, 2, 3, 3, 4),
        "Low": (1, 2, 2, 3, 4),
        "Very low": (1, 1, 2, 2, 3),
    }
)

#: What each risk rating means for acceptance (the standards' wording, shortened).
RISK_RATING_MEANINGS: Mapping[int, str] = MappingProxyType(
    {
        5: "unacceptable",
        4: "mandatory elimination or control to an acceptable level",
        3: "undesirable: acceptable only where further risk reduction is impractical",
        2: "acceptable where the cost of further reduction outweighs the benefit",
        1: "acceptable, no further action required",
    }
)

#: ``open``: the controls are not yet enough (the gaps say what is missing);
#: ``controlled``: the controls are in place and verified, awaiting acceptance;
#: ``closed``: the residual risk has been accepted by the clinical safety officer.
HAZARD_STATUSES: tuple[str, ...] = ("open", "controlled", "closed")
#: A ``rule`` or ``invariant`` id; ``withholds`` an item by a named rule; ``process``:
#: a control outside the knowledge base (review, tooling), shown but not checked.
CONTROL_KINDS: tuple[str, ...] = ("rule", "invariant", "withholds", "process")

# Ratings from which a hazard cannot be called controlled: the standards
# require further elimination or control.
_NEEDS_FURTHER_CONTROL = 4

_HAZARD_KEYS = (
    "id",
    "title",
    "cause",
    "effect",
    "harm",
    "initial",
    "residual",
    "controls",
    "tests",
    "status",
    "sources",
)


def risk_rating(severity: str, likelihood: str) -> int:
    """The DCB0129 risk rating (1-5) of a severity and a likelihood.

    Raises:
        ValueError: for a severity or likelihood not on the scales.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r} (expected one of {', '.join(SEVERITIES)})")
    if likelihood not in RISK_MATRIX:
        raise ValueError(f"unknown likelihood {likelihood!r} (expected one of {', '.join(LIKELIHOODS)})")
    return RISK_MATRIX[likelihood][SEVERITIES.index(severity)]


@dataclass(frozen=True, slots=True)
class Risk:
    """A severity and a likelihood; the rating follows from the matrix."""

    severity: str
    likelihood: str

    @property
    def rating(self) -> int:
        """The risk rating, 1 (acceptable) to 5 (unacceptable)."""
        return risk_rating(self.severity, self.likelihood)

    def describe(self) -> str:
        """``4 (Catastrophic x Low)``."""
        return f"{self.rating} ({self.severity} x {self.likelihood})"

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the computed rating."""
        return {"severity": self.severity, "likelihood": self.likelihood, "rating": self.rating}


@dataclass(frozen=True, slots=True)
class Control:
    """One control of a hazard.

    ``kind`` is ``rule`` (``target`` is a rule id), ``invariant`` (an
    invariant id), ``withholds`` (``target`` is the catalogue item and
    ``rule`` the rule that withholds it) or ``process`` (``target`` is text).
    """

    kind: str
    target: str
    rule: str | None = None
    line: int = 0

    @property
    def checkable(self) -> bool:
        """Whether the knowledge base can show the control is in place (every kind but ``process``)."""
        return self.kind != "process"

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """The rules this control names (none for invariants and processes)."""
        if self.kind == "rule":
            return (self.target,)
        return (self.rule,) if self.kind == "withholds" and self.rule else ()

    def describe(self) -> str:
        """The control in words: ``withholds nsaid_pain_relief (rule nsaid_withhold_asthma)``."""
        if self.kind == "withholds":
            return f"withholds {self.target} (rule {self.rule})"
        if self.kind == "process":
            return f"process: {self.target}"
        return f"{self.kind} {self.target}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"kind": ..., "target": ...}``, plus ``rule`` for a withhold."""
        data: dict[str, Any] = {"kind": self.kind, "target": self.target}
        if self.kind == "withholds":
            data["rule"] = self.rule
        return data


@dataclass(frozen=True, slots=True)
class Hazard:
    """One entry of the hazard log, as written (references already checked)."""

    id: str
    title: str
    cause: str
    effect: str
    harm: str
    initial: Risk
    residual: Risk
    controls: tuple[Control, ...]
    tests: tuple[str, ...]
    status: str
    sources: tuple[str, ...]
    gaps: str | None = None
    path: str = ""
    line: int = 0

    @property
    def location(self) -> str:
        """``knowledge/hazards.yaml:12``."""
        return f"{self.path}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the entry (the computed ratings included)."""
        return {
            "id": self.id,
            "title": self.title,
            "cause": self.cause,
            "effect": self.effect,
            "harm": self.harm,
            "initial": self.initial.to_dict(),
            "residual": self.residual.to_dict(),
            "controls": [c.to_dict() for c in self.controls],
            "tests": list(self.tests),
            "status": self.status,
            "sources": list(self.sources),
            "gaps": self.gaps,
            "location": self.location,
        }


@dataclass(frozen=True, slots=True)
class HazardLog:
    """The hazard log of a knowledge base, with the clinical cases its hazards name as tests."""

    hazards: tuple[Hazard, ...] = ()
    cases: Mapping[str, ClinicalCase] = field(default_factory=lambda: MappingProxyType({}))
    path: str = ""

    def hazard(self, hazard_id: str) -> Hazard:
        """The hazard with that id.

        Raises:
            KeyError: when there is none.
        """
        for hazard in self.hazards:
            if hazard.id == hazard_id:
                return hazard
        raise KeyError(hazard_id)

    def rules_named(self) -> frozenset[str]:
        """Every rule id the log names as a control."""
        return frozenset(rule for h in self.hazards for c in h.controls for rule in c.rule_ids)


# --- reading ------------------------------------------------------------------


class _Reader:
    """Parses one hazards.yaml, raising located errors."""

    def __init__(
        self,
        path: str,
        *,
        rules: Mapping[str, RuleLike],
        recommendations: Collection[str],
        invariants: Collection[str],
        sources: Collection[str],
    ) -> None:
        self.path = path
        self.rules = rules
        self.recommendations = recommendations
        self.invariants = invariants
        self.sources = sources

    def error(self, detail: str, line: int | None, hazard: str | None = None) -> KnowledgeBaseError:
        text = f"hazard '{hazard}': {detail}" if hazard else detail
        return KnowledgeBaseError(text, path=self.path, line=line)

    @staticmethod
    def key_line(node: Any, key: str) -> int | None:
        lines = getattr(node, "key_lines", None) or {}
        return lines.get(key) or line_of(node)

    @staticmethod
    def item_line(items: Any, index: int, default: int | None) -> int | None:
        lines = getattr(items, "item_lines", None)
        return lines[index] if lines and index < len(lines) else default

    def mapping(self, value: Any, what: str, line: int | None, hazard: str | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(f"{what} must be a mapping, not {brief(value)}", line, hazard)
        return value

    def keys(
        self,
        node: Mapping[str, Any],
        required: Collection[str],
        optional: Collection[str],
        what: str,
        hazard: str | None = None,
    ) -> None:
        allowed = set(required) | set(optional)
        for key in node:
            if key not in allowed:
                shown = key if isinstance(key, str) and len(key) <= 60 else brief(key)
                hint = did_you_mean(shown, allowed) if isinstance(key, str) else ""
                raise self.error(f"unknown key '{shown}' in {what}{hint}", self.key_line(node, str(key)), hazard)
        for key in required:
            if key not in node:
                raise self.error(f"{what} is missing '{key}'", line_of(node), hazard)

    def text(self, node: Mapping[str, Any], key: str, hazard: str, *, optional: bool = False) -> str | None:
        value = node.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"'{key}' must be a non-empty text, not {brief(value)}", self.key_line(node, key), hazard)
        return " ".join(value.split())

    def ident_list(self, node: Mapping[str, Any], key: str, hazard: str) -> list[tuple[str, int | None]]:
        """The ids in a list, each with its line; duplicates are an error."""
        value = node.get(key)
        line = self.key_line(node, key)
        if not isinstance(value, list):
            raise self.error(f"'{key}' must be a list of ids (possibly empty), not {brief(value)}", line, hazard)
        seen: set[str] = set()
        items = []
        for index, item in enumerate(value):
            item_line = self.item_line(value, index, line)
            if not isinstance(item, str):
                raise self.error(f"'{key}' must list ids, not {brief(item)}", item_line, hazard)
            if item in seen:
                raise self.error(f"'{item}' is listed twice in '{key}'", item_line, hazard)
            seen.add(item)
            items.append((item, item_line))
        return items

    def choice(self, node: Mapping[str, Any], key: str, options: tuple[str, ...], hazard: str, what: str) -> str:
        value = node.get(key)
        if value not in options:
            hint = did_you_mean(value, options) if isinstance(value, str) and len(value) <= 60 else ""
            detail = f"{what} '{key}' must be one of {', '.join(options)}, got {brief(value)}{hint}"
            raise self.error(detail, self.key_line(node, key), hazard)
        return str(value)

    def risk(self, node: Mapping[str, Any], key: str, hazard: str) -> Risk:
        line = self.key_line(node, key)
        stage = self.mapping(node.get(key), f"'{key}' (a severity and a likelihood)", line, hazard)
        for computed in ("rating", "risk"):
            if computed in stage:
                raise self.error(
                    f"'{key}.{computed}': the risk rating is computed from severity and likelihood "
                    "(DCB0129 matrix), never written; remove it",
                    self.key_line(stage, computed),
                    hazard,
                )
        self.keys(stage, ["severity", "likelihood"], [], f"'{key}'", hazard)
        return Risk(
            self.choice(stage, "severity", SEVERITIES, hazard, key),
            self.choice(stage, "likelihood", LIKELIHOODS, hazard, key),
        )

    def reference(self, kind: str, name: str, known: Collection[str], line: int | None, hazard: str) -> None:
        if name not in known:
            shown = name if len(name) <= 60 else brief(name)
            raise self.error(f"unknown {kind} '{shown}'{did_you_mean(shown, known)}", line, hazard)

    def control(self, raw: Any, line: int | None, hazard: str) -> Control:
        node = self.mapping(raw, "a control", line, hazard)
        kinds = [k for k in node if k in CONTROL_KINDS]
        if len(node) != 1 or len(kinds) != 1:
            shown = next((k for k in node if k not in CONTROL_KINDS), None)
            hint = did_you_mean(shown, CONTROL_KINDS) if isinstance(shown, str) else ""
            raise self.error(
                f"a control is one of {', '.join(f'{k}: ...' for k in CONTROL_KINDS)}, got {brief(dict(node))}{hint}",
                line,
                hazard,
            )
        kind = kinds[0]
        value = node[kind]
        if kind == "withholds":
            target = self.mapping(value, "'withholds' ({item: ID, rule: RULE_ID})", line, hazard)
            self.keys(target, ["item", "rule"], [], "'withholds'", hazard)
            item, rule = target["item"], target["rule"]
            if not isinstance(item, str) or not isinstance(rule, str):
                raise self.error("'withholds' takes an item id and a rule id", line, hazard)
            self.reference("recommendation", item, self.recommendations, line, hazard)
            self.reference("rule", rule, self.rules, line, hazard)
            if not any(a.kind == "withhold" and a.target == item for a in self.rules[rule].actions):
                raise self.error(f"rule '{rule}' does not withhold '{item}'", line, hazard)
            return Control(kind, item, rule, line or 0)
        if not isinstance(value, str) or not value.strip():
            expected = "a text" if kind == "process" else "an id"
            raise self.error(f"'{kind}' takes {expected}, not {brief(value)}", line, hazard)
        if kind == "rule":
            self.reference("rule", value, self.rules, line, hazard)
        elif kind == "invariant":
            self.reference("invariant", value, self.invariants, line, hazard)
        return Control(kind, " ".join(value.split()), None, line or 0)

    def hazard(self, node: Mapping[str, Any]) -> Hazard:
        raw_id = node.get("id")
        if (
            not isinstance(raw_id, str)
            or not raw_id.replace("_", "a").isalnum()
            or not raw_id[:1].isalpha()
            or raw_id != raw_id.lower()
        ):
            raise self.error(f"'id' must be a snake_case identifier, got {brief(raw_id)}", self.key_line(node, "id"))
        ident = raw_id
        self.keys(node, _HAZARD_KEYS, ["gaps"], "a hazard", ident)
        initial = self.risk(node, "initial", ident)
        residual = self.risk(node, "residual", ident)
        more_severe = SEVERITIES.index(residual.severity) > SEVERITIES.index(initial.severity)
        more_likely = LIKELIHOODS.index(residual.likelihood) > LIKELIHOODS.index(initial.likelihood)
        if more_severe or more_likely:
            raise self.error(
                f"the residual risk ({residual.severity} x {residual.likelihood}) is above the initial risk "
                f"({initial.severity} x {initial.likelihood}): controls never raise a risk; re-assess the initial risk",
                self.key_line(node, "residual"),
                ident,
            )
        status = self.choice(node, "status", HAZARD_STATUSES, ident, "the")
        if status != "open" and residual.rating >= _NEEDS_FURTHER_CONTROL:
            raise self.error(
                f"status '{status}' with residual risk {residual.describe()}: a rating of "
                f"{_NEEDS_FURTHER_CONTROL} or more needs further control, so the hazard stays open",
                self.key_line(node, "status"),
                ident,
            )
        raw_controls = node.get("controls")
        controls_line = self.key_line(node, "controls")
        if not isinstance(raw_controls, list):
            detail = f"'controls' must be a list (possibly empty), not {brief(raw_controls)}"
            raise self.error(detail, controls_line, ident)
        controls: list[Control] = []
        for index, raw in enumerate(raw_controls):
            control = self.control(raw, self.item_line(raw_controls, index, controls_line), ident)
            if any((c.kind, c.target, c.rule) == (control.kind, control.target, control.rule) for c in controls):
                raise self.error(f"control '{control.describe()}' is listed twice", control.line, ident)
            controls.append(control)
        sources = []
        for name, line in self.ident_list(node, "sources", ident):
            self.reference("source", name, self.sources, line, ident)
            sources.append(name)
        return Hazard(
            id=ident,
            title=self.text(node, "title", ident) or ident,
            cause=self.text(node, "cause", ident) or "",
            effect=self.text(node, "effect", ident) or "",
            harm=self.text(node, "harm", ident) or "",
            initial=initial,
            residual=residual,
            controls=tuple(controls),
            tests=tuple(name for name, _ in self.ident_list(node, "tests", ident)),
            status=status,
            sources=tuple(sources),
            gaps=self.text(node, "gaps", ident, optional=True),
            path=self.path,
            line=line_of(node, 0) or 0,
        )


def _invariant_ids(invariants: Any) -> frozenset[str]:
    """The ids declared in an invariants.yaml document (its conditions are read by ``rules verify``)."""
    items = invariants.get("invariants") if isinstance(invariants, Mapping) else None
    if not isinstance(items, list):
        return frozenset()
    return frozenset(node["id"] for node in items if isinstance(node, Mapping) and isinstance(node.get("id"), str))


def _read_cases(folder: Traversable | None, label: str) -> dict[str, ClinicalCase]:
    """The clinical cases of ``folder`` by id; two files with one id are an error."""
    if folder is None or not folder.is_dir():
        return {}
    cases: dict[str, ClinicalCase] = {}
    for case in load_clinical_cases(folder, label):
        if case.id in cases:
            raise KnowledgeBaseError(
                f"clinical case id '{case.id}' is also used by {cases[case.id].path}", path=case.path
            )
        cases[case.id] = case
    return cases


def parse_hazard_log(
    data: Any,
    path: str,
    *,
    rules: Mapping[str, RuleLike],
    recommendations: Collection[str],
    sources: Collection[str],
    invariants: Any = None,
    cases_folder: Traversable | None = None,
    cases_label: str = "cases",
) -> HazardLog:
    """Read a parsed ``hazards.yaml`` (``version`` already checked) and check every reference.

    ``invariants`` is the parsed ``invariants.yaml`` (None when there is
    none). The case files in ``cases_folder`` are read only when a hazard
    names a test.

    Raises:
        KnowledgeBaseError: naming the file, line, hazard and the bad reference.
    """
    reader = _Reader(
        path, rules=rules, recommendations=recommendations, invariants=_invariant_ids(invariants), sources=sources
    )
    top = reader.mapping(data, "hazards.yaml", line_of(data))
    reader.keys(top, ["version", "hazards"], [], "hazards.yaml")
    items = top["hazards"]
    if not isinstance(items, list):
        raise reader.error(f"'hazards' must be a list, not {brief(items)}", reader.key_line(top, "hazards"))
    hazards: list[Hazard] = []
    for index, raw in enumerate(items):
        node = reader.mapping(raw, "a hazard", reader.item_line(items, index, line_of(items)))
        hazard = reader.hazard(node)
        if any(h.id == hazard.id for h in hazards):
            first = next(h for h in hazards if h.id == hazard.id)
            raise reader.error(f"duplicate hazard id (first defined at {first.location})", hazard.line, hazard.id)
        hazards.append(hazard)

    cases: dict[str, ClinicalCase] = {}
    if any(h.tests for h in hazards):
        cases = _read_cases(cases_folder, cases_label)
        for hazard, node in zip(hazards, items, strict=True):
            tests = node["tests"]
            for index, name in enumerate(hazard.tests):
                line = reader.item_line(tests, index, reader.key_line(node, "tests"))
                if name not in cases:
                    where = "" if cases else f" ({cases_label} holds no case files)"
                    shown = name if len(name) <= 60 else brief(name)
                    detail = f"unknown clinical case '{shown}'{did_you_mean(shown, cases)}{where}"
                    raise reader.error(detail, line, hazard.id)
    return HazardLog(tuple(hazards), MappingProxyType(cases), path)

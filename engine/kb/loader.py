"""Reading a knowledge base from YAML and checking it is whole and consistent.

Every problem is reported as a :class:`KnowledgeBaseError` naming the file,
the line and, for rules, the rule id. Checks include: unknown keys, wrong
types, duplicate ids, references to unknown facts, findings, catalogue ids or
sources, comparisons that do not fit a fact's type, and findings that depend
on their own absence (rules that cannot be stratified). The invariants file,
when there is one, is checked in the same load (see :mod:`spasm_advisor.kb.invariants`);
what conditions mean is defined in :mod:`spasm_advisor.kb.conditions`.

Hostile files are bounded: besides the YAML limits of :mod:`spasm_advisor.kb.yamlfile`
(size, number of values, nesting, no aliases), a condition's text is at most
:data:`MAX_CONDITION_TEXT` characters and its disjunctive normal form at most
:data:`MAX_BRANCHES` branches, so no rule can make loading slow or large.
Values quoted in messages are shortened.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import ConditionSyntaxError, KnowledgeBaseError, brief
from spasm_advisor.errors import kind_of as _kind
from spasm_advisor.kb.conditions import (
    ConditionNameError,
    FindingRef,
    dnf_size,
    negation_normal_form,
    parse_condition,
    resolve,
    to_dnf,
)
from spasm_advisor.kb.files import CASES_FOLDER, KNOWLEDGE_FILES, MANIFEST_NAME, KnowledgeBaseFiles, find_files
from spasm_advisor.kb.hazards import parse_hazard_log
from spasm_advisor.kb.invariants import parse_invariants
from spasm_advisor.kb.manifest import (
    Difference,
    check_manifest,
    digest_of,
    file_hashes,
    manifest_differences,
    read_manifest,
    write_manifest,
)
from spasm_advisor.kb.model import (
    CATEGORIES,
    EVIDENCE_LEVELS,
    FACT_ROLES,
    RULE_STATUSES,
    TRIAGE_LEVELS,
    Action,
    Citation,
    Evidence,
    FactSpec,
    KnowledgeBase,
    Provenance,
    RecommendationSpec,
    Region,
    RuleSpec,
    Source,
)
from spasm_advisor.kb.person_text import PLACEHOLDERS, placeholders_in
from spasm_advisor.kb.yamlfile import SCHEMA_CORE, decode, line_of, load_yaml_text

__all__ = [
    "MAX_BRANCHES",
    "MAX_CONDITION_TEXT",
    "SealResult",
    "load_knowledge_base",
    "seal_knowledge_base",
    "verify_seal",
]

#: Longest condition atom (``age >= 50``) in characters.
MAX_CONDITION_TEXT = 200
#: Most branches a rule's condition may have in disjunctive normal form.
MAX_BRANCHES = 256


class _Doc:
    """One parsed file: its display name and a helper to raise located errors."""

    def __init__(self, name: str, data: Any) -> None:
        self.name = name
        self.data = data

    def error(
        self, detail: str, node: object = None, *, key: str | None = None, rule_id: str | None = None
    ) -> KnowledgeBaseError:
        line = None
        if key is not None and hasattr(node, "key_lines"):
            line = node.key_lines.get(key)
        if line is None:
            line = line_of(node, line_of(self.data))
        return KnowledgeBaseError(detail, path=self.name, line=line, rule_id=rule_id)


def _parse(data: bytes, name: str) -> _Doc:
    doc = _Doc(name, load_yaml_text(decode(data, name), name))
    if not isinstance(doc.data, Mapping):
        raise doc.error("expected a mapping with 'version' at the top of the file")
    version = doc.data.get("version")
    if type(version) is not int or version != 1:
        raise doc.error("expected 'version: 1' at the top of the file", doc.data, key="version")
    return doc


def _mapping(doc: _Doc, value: object, what: str, rule_id: str | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise doc.error(f"{what} must be a mapping, not {_kind(value)}", value, rule_id=rule_id)
    return value


def _list(
    doc: _Doc, parent: Mapping[str, Any], key: str, *, required: bool = True, rule_id: str | None = None
) -> list[Any]:
    if key not in parent:
        if required:
            raise doc.error(f"missing '{key}'", parent, rule_id=rule_id)
        return []
    value = parent[key]
    if not isinstance(value, list):
        raise doc.error(f"'{key}' must be a list, not {_kind(value)}", parent, key=key, rule_id=rule_id)
    return value


def _check_keys(
    doc: _Doc,
    node: Mapping[str, Any],
    required: Iterable[str],
    optional: Iterable[str],
    what: str,
    rule_id: str | None = None,
) -> None:
    allowed = set(required) | set(optional)
    for key in node:
        if key not in allowed:
            shown = key if len(key) <= 60 else key[:57] + "..."
            hint = did_you_mean(shown, allowed)
            raise doc.error(f"unknown key '{shown}' in {what}{hint}", node, key=key, rule_id=rule_id)
    for key in required:
        if key not in node:
            raise doc.error(f"{what} is missing '{key}'", node, rule_id=rule_id)


def _text(
    doc: _Doc, node: Mapping[str, Any], key: str, *, rule_id: str | None = None, optional: bool = False
) -> str | None:
    value = node.get(key)
    if value is None and optional:
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise doc.error(f"'{key}' must be text, not {_kind(value)}", node, key=key, rule_id=rule_id)
    text = str(value).strip()
    if not text and not optional:
        raise doc.error(f"'{key}' must not be empty", node, key=key, rule_id=rule_id)
    _check_no_controls(doc, node, key, text, rule_id)
    return text or None


# C0 and C1 control characters but newline and tab: YAML lets a double-quoted
# string spell them ("\e[2J"), and shown on a terminal they would control it.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _check_no_controls(doc: _Doc, node: object, key: str, text: str, rule_id: str | None = None) -> None:
    found = _CONTROL.search(text)
    if found is not None:
        raise doc.error(
            f"'{key}' holds the control character U+{ord(found.group()):04X}: remove it", node, key=key, rule_id=rule_id
        )


def _ident(doc: _Doc, node: Mapping[str, Any], key: str = "id", rule_id: str | None = None) -> str:
    value = node.get(key)
    if (
        not isinstance(value, str)
        or not value.replace("_", "a").isalnum()
        or not value[:1].isalpha()
        or value != value.lower()
    ):
        detail = f"'{key}' must be a snake_case identifier, got {brief(value)}"
        raise doc.error(detail, node, key=key, rule_id=rule_id)
    return value


def _choice(
    doc: _Doc,
    node: Mapping[str, Any],
    key: str,
    choices: Iterable[str],
    default: str | None = None,
    rule_id: str | None = None,
) -> str:
    value = node.get(key, default)
    options = tuple(choices)
    if value not in options:
        hint = did_you_mean(value, options) if isinstance(value, str) and len(value) <= 60 else ""
        detail = f"'{key}' must be one of {', '.join(options)}, got {brief(value)}{hint}"
        raise doc.error(detail, node, key=key, rule_id=rule_id)
    return str(value)


def _unique(doc: _Doc, seen: dict[str, Any], ident: str, node: object, what: str) -> None:
    if ident in seen:
        raise doc.error(f"duplicate {what} id '{ident}'", node)
    seen[ident] = node


def _person_text(doc: _Doc, node: Mapping[str, Any], key: str, text: str, *, rule_id: str | None = None) -> str:
    """Check the placeholders of a person-facing text: only the known ones, spelt exactly."""
    names = placeholders_in(text)
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for name in names:
        if name not in PLACEHOLDERS:
            shown = name if len(name) <= 40 else name[:37] + "..."
            raise doc.error(
                f"unknown placeholder '{{{shown}}}' in '{key}' (person-facing text may use {known})"
                + did_you_mean(shown, PLACEHOLDERS),
                node,
                key=key,
                rule_id=rule_id,
            )
    if text.count("{") != len(names) or text.count("}") != len(names):
        raise doc.error(
            f"unbalanced braces in '{key}' (person-facing text may use {known})", node, key=key, rule_id=rule_id
        )
    return text


# --- sources -----------------------------------------------------------------


def _load_sources(doc: _Doc) -> dict[str, Source]:
    _check_keys(doc, doc.data, ["version", "sources"], [], "sources.yaml")
    sources: dict[str, Source] = {}
    for raw in _list(doc, doc.data, "sources"):
        node = _mapping(doc, raw, "a source")
        _check_keys(
            doc,
            node,
            ["id", "title"],
            ["label", "publisher", "year", "updated", "url", "status", "notes", "verified"],
            "a source",
        )
        ident = _ident(doc, node)
        year = node.get("year")
        if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
            raise doc.error("'year' must be an integer", node, key="year")
        _unique(doc, sources, ident, node, "source")
        sources[ident] = Source(
            id=ident,
            title=_text(doc, node, "title") or ident,
            label=_text(doc, node, "label", optional=True),
            publisher=_text(doc, node, "publisher", optional=True),
            year=year,
            url=_text(doc, node, "url", optional=True),
            status=_choice(doc, node, "status", ("current", "withdrawn", "superseded", "archived"), "current"),
            notes=_text(doc, node, "notes", optional=True),
        )
    return sources


def _source_id(
    doc: _Doc,
    node: object,
    value: object,
    sources: Mapping[str, Source],
    rule_id: str | None = None,
    key: str | None = None,
) -> str:
    if not isinstance(value, str) or value not in sources:
        hint = did_you_mean(value, sources) if isinstance(value, str) and len(value) <= 60 else ""
        shown = value if isinstance(value, str) and len(value) <= 60 else brief(value)
        raise doc.error(f"unknown source '{shown}'{hint}", node, key=key, rule_id=rule_id)
    return value


def _verified(doc: _Doc, node: Mapping[str, Any], rule_id: str | None = None) -> bool:
    value = node.get("verified", True)
    if not isinstance(value, bool):
        raise doc.error("'verified' must be true or false", node, key="verified", rule_id=rule_id)
    return value


# --- regions -------------------------------------------------------------------


def _load_regions(doc: _Doc) -> tuple[dict[str, Region], str]:
    """``regions.yaml``: the emergency number of each region, and the default region."""
    _check_keys(doc, doc.data, ["version", "default", "regions"], [], "regions.yaml")
    regions: dict[str, Region] = {}
    for raw in _list(doc, doc.data, "regions"):
        node = _mapping(doc, raw, "a region")
        _check_keys(doc, node, ["id", "name", "emergency_number"], [], "a region")
        ident = _ident(doc, node)
        _unique(doc, regions, ident, node, "region")
        number = _text(doc, node, "emergency_number") or ""
        if not any(ch.isdigit() for ch in number) or "{" in number:
            raise doc.error(f"'emergency_number' must be a telephone number, got {brief(number)}", node)
        regions[ident] = Region(id=ident, name=_text(doc, node, "name") or ident, emergency_number=number)
    if not regions:
        raise doc.error("'regions' is empty: name at least the default region", doc.data, key="regions")
    default = _choice(doc, doc.data, "default", regions)
    return regions, default


# --- facts -------------------------------------------------------------------


def _load_facts(doc: _Doc) -> dict[str, FactSpec]:
    _check_keys(doc, doc.data, ["version", "facts"], ["release"], "facts.yaml")
    facts: dict[str, FactSpec] = {}
    for raw in _list(doc, doc.data, "facts"):
        node = _mapping(doc, raw, "a fact")
        _check_keys(
            doc,
            node,
            ["id", "type", "question", "description", "role"],
            ["min", "max", "values", "unit", "help", "answers", "dont_know_for", "provenance", "child_question"],
            "a fact",
        )
        ident = _ident(doc, node)
        _unique(doc, facts, ident, node, "fact")
        kind = _choice(doc, node, "type", ("boolean", "integer", "enum"))
        minimum, maximum, values = node.get("min"), node.get("max"), node.get("values")
        if kind == "integer":
            for key, bound in (("min", minimum), ("max", maximum)):
                if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                    raise doc.error(f"'{key}' must be an integer", node, key=key)
            if minimum is not None and maximum is not None and minimum > maximum:
                raise doc.error("'min' is above 'max'", node, key="min")
        elif minimum is not None or maximum is not None:
            raise doc.error(f"'min'/'max' apply only to integer facts, not {kind}", node)
        if kind == "enum":
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise doc.error("an enum fact needs 'values': a non-empty list of names", node, key="values")
            if len(set(values)) != len(values):
                raise doc.error("'values' has duplicates", node, key="values")
            for value in values:
                _check_no_controls(doc, node, "values", value)
        elif values is not None:
            raise doc.error(f"'values' applies only to enum facts, not {kind}", node, key="values")
        answers = _fact_answers(doc, node, kind, tuple(values or ()))
        help_text = _text(doc, node, "help", optional=True)
        child_question = _text(doc, node, "child_question", optional=True)
        history = _parse_provenance(doc, node.get("provenance"), Provenance(), None).history
        facts[ident] = FactSpec(
            id=ident,
            type=kind,  # type: ignore[arg-type]
            question=_text(doc, node, "question") or "",
            description=_text(doc, node, "description") or "",
            role=_choice(doc, node, "role", FACT_ROLES),
            minimum=minimum,
            maximum=maximum,
            values=tuple(values or ()),
            unit=_text(doc, node, "unit", optional=True),
            path=doc.name,
            line=line_of(node, 0) or 0,
            help=" ".join(help_text.split()) if help_text else None,
            answers=answers,
            dont_know_for=_text(doc, node, "dont_know_for", optional=True),
            history=" ".join(history.split()) if history else None,
            child_question=" ".join(child_question.split()) if child_question else None,
        )
    _check_dont_know(doc, facts)
    return facts


# Replies the interview itself understands; a choice question cannot redefine them.
_RESERVED_REPLIES = frozenset({"dk", "idk", "?", "skip", "unknown", "back", "b", "help", "h", "don't know"})


def _fact_answers(
    doc: _Doc, node: Mapping[str, Any], kind: str, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """``answers:``, natural replies to a choice question: ``{yes: poor, no: good}``."""
    raw = node.get("answers")
    if raw is None:
        return ()
    if kind != "enum":
        raise doc.error(f"'answers' applies only to enum facts, not {kind}", node, key="answers")
    if not isinstance(raw, Mapping) or not raw:
        raise doc.error("'answers' must map replies to values, e.g. {yes: poor, no: good}", node, key="answers")
    pairs = []
    for said, value in raw.items():
        # Keys are always text here: the YAML reader refuses a bare yes (true) as a key.
        if not isinstance(said, str) or not said.strip() or said.strip().lower() in _RESERVED_REPLIES:
            raise doc.error(f"'answers': {brief(said)} cannot be a reply", node, key="answers")
        if value not in values:
            raise doc.error(
                f"'answers': {brief(said)} maps to {brief(value)}, which is not one of {', '.join(values)}",
                node,
                key="answers",
            )
        if said.strip().lower() in {v.lower() for v in values}:
            raise doc.error(f"'answers': {brief(said)} is already a value", node, key="answers")
        pairs.append((said.strip().lower(), str(value)))
    return tuple(pairs)


def _check_dont_know(doc: _Doc, facts: Mapping[str, FactSpec]) -> None:
    """A "don't know" fact is yes/no and records the answer of one other yes/no question."""
    owners: dict[str, str] = {}
    for spec in facts.values():
        base = spec.dont_know_for
        if base is None:
            continue
        where = f"fact '{spec.id}': 'dont_know_for'"
        if base not in facts:
            raise KnowledgeBaseError(f"{where} names '{base}', which is not a fact", path=doc.name, line=spec.line)
        if spec.type != "boolean" or facts[base].type != "boolean":
            raise KnowledgeBaseError(f"{where}: both facts must be yes/no facts", path=doc.name, line=spec.line)
        if facts[base].dont_know_for is not None or base in owners:
            raise KnowledgeBaseError(
                f"{where}: '{base}' already has a \"don't know\" fact or is one", path=doc.name, line=spec.line
            )
        owners[base] = spec.id


# --- catalogue ---------------------------------------------------------------


def _load_catalogue(doc: _Doc, sources: Mapping[str, Source]) -> dict[str, RecommendationSpec]:
    _check_keys(doc, doc.data, ["version", "recommendations"], [], "recommendations.yaml")
    catalogue: dict[str, RecommendationSpec] = {}
    for raw in _list(doc, doc.data, "recommendations"):
        node = _mapping(doc, raw, "a recommendation")
        _check_keys(
            doc,
            node,
            ["id", "category", "title", "advice", "evidence", "sources"],
            ["cautions", "because", "safety_net", "withheld_title"],
            "a recommendation",
        )
        ident = _ident(doc, node)
        _unique(doc, catalogue, ident, node, "recommendation")
        evidence = []
        for item in _list(doc, node, "evidence"):
            ev = _mapping(doc, item, "an evidence entry")
            _check_keys(doc, ev, ["source", "level"], ["summary", "ref", "verified"], "an evidence entry")
            evidence.append(
                Evidence(
                    source=_source_id(doc, ev, ev.get("source"), sources, key="source"),
                    level=_choice(doc, ev, "level", EVIDENCE_LEVELS),
                    summary=_text(doc, ev, "summary", optional=True),
                    ref=_text(doc, ev, "ref", optional=True),
                    verified=_verified(doc, ev),
                )
            )
        cautions, caution_because = _cautions(doc, node)
        safety_net = node.get("safety_net", False)
        if not isinstance(safety_net, bool):
            raise doc.error("'safety_net' must be true or false", node, key="safety_net")
        because = _text(doc, node, "because", optional=True)
        title = _person_text(doc, node, "title", _text(doc, node, "title") or ident)
        withheld_title = _text(doc, node, "withheld_title", optional=True)
        if withheld_title is not None:
            withheld_title = _person_text(doc, node, "withheld_title", withheld_title)
        advice = _person_text(doc, node, "advice", " ".join((_text(doc, node, "advice") or "").split()))
        cited = tuple(_source_id(doc, node, s, sources, key="sources") for s in _list(doc, node, "sources"))
        if not cited:
            raise doc.error(f"recommendation '{ident}' cites no source", node, key="sources")
        catalogue[ident] = RecommendationSpec(
            id=ident,
            category=_choice(doc, node, "category", CATEGORIES),
            title=title,
            advice=advice,
            evidence=tuple(evidence),
            cautions=cautions,
            sources=cited,
            path=doc.name,
            line=line_of(node, 0) or 0,
            because=" ".join(because.split()) if because else None,
            caution_because=caution_because,
            safety_net=safety_net,
            withheld_title=withheld_title,
        )
    if sum(spec.safety_net for spec in catalogue.values()) > 1:
        extra = [spec for spec in catalogue.values() if spec.safety_net][1]
        raise KnowledgeBaseError(
            f"recommendation '{extra.id}': only one entry may be the safety net (safety_net: true)",
            path=doc.name,
            line=extra.line,
        )
    return catalogue


def _cautions(doc: _Doc, node: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """``cautions:``: each a text for the person, or ``{text: ..., because: ...}`` with a note for the clinician."""
    texts: list[str] = []
    notes: list[str | None] = []
    for item in _list(doc, node, "cautions", required=False):
        if isinstance(item, str) and item.strip():
            _check_no_controls(doc, node, "cautions", item)
            text, note = item, None
        elif isinstance(item, Mapping):
            _check_keys(doc, item, ["text"], ["because"], "a caution")
            text, note = _text(doc, item, "text") or "", _text(doc, item, "because", optional=True)
        else:
            raise doc.error(
                "each caution is a text, or a mapping with 'text' (and optional 'because')", node, key="cautions"
            )
        texts.append(_person_text(doc, node, "cautions", " ".join(text.split())))
        notes.append(" ".join(note.split()) if note else None)
    return tuple(texts), tuple(notes)


# --- rules -------------------------------------------------------------------

_RULE_KEYS = ("id", "title", "when", "then", "because", "sources")


def _parse_actions(
    doc: _Doc, node: Mapping[str, Any], rule_id: str, catalogue: Mapping[str, RecommendationSpec]
) -> tuple[Action, ...]:
    actions: list[Action] = []
    raw_actions = _list(doc, node, "then", rule_id=rule_id)
    if not raw_actions:
        raise doc.error("'then' is empty", node, key="then", rule_id=rule_id)
    for item in raw_actions:
        act = _mapping(doc, item, "an action", rule_id)
        kinds = [k for k in act if k in ("derive", "triage", "recommend", "withhold", "caution")]
        if len(kinds) != 1:
            raise doc.error(
                "each action has exactly one of derive, triage, recommend, withhold, caution", act, rule_id=rule_id
            )
        kind = kinds[0]
        text_key = {"withhold": "reason", "caution": "message"}.get(kind)
        _check_keys(doc, act, [kind] + ([text_key] if text_key else []), [], f"a '{kind}' action", rule_id)
        target = act[kind]
        if not isinstance(target, str):
            raise doc.error(f"'{kind}' takes a name, not {_kind(target)}", act, key=kind, rule_id=rule_id)
        if kind == "derive":
            _ident(doc, act, "derive", rule_id)
        if kind == "triage" and target not in TRIAGE_LEVELS:
            raise doc.error(
                f"unknown triage level '{target}' (expected one of {', '.join(TRIAGE_LEVELS)})"
                + did_you_mean(target, TRIAGE_LEVELS),
                act,
                key=kind,
                rule_id=rule_id,
            )
        if kind in ("recommend", "withhold", "caution") and target not in catalogue:
            raise doc.error(
                f"unknown recommendation '{target}'{did_you_mean(target, catalogue)}", act, key=kind, rule_id=rule_id
            )
        text = _text(doc, act, text_key, rule_id=rule_id) if text_key else None
        if text_key and text:
            _person_text(doc, act, text_key, text, rule_id=rule_id)
        actions.append(Action(kind, target, " ".join(text.split()) if text else None))
    return tuple(actions)


def _parse_citations(
    doc: _Doc, node: Mapping[str, Any], sources: Mapping[str, Source], rule_id: str
) -> tuple[Citation, ...]:
    citations = []
    for item in _list(doc, node, "sources", rule_id=rule_id):
        if isinstance(item, str):
            citations.append(Citation(_source_id(doc, node, item, sources, rule_id, key="sources")))
            continue
        cite = _mapping(doc, item, "a citation", rule_id)
        _check_keys(doc, cite, ["source"], ["ref", "verified"], "a citation", rule_id)
        citations.append(
            Citation(
                source=_source_id(doc, cite, cite.get("source"), sources, rule_id, key="source"),
                ref=_text(doc, cite, "ref", optional=True, rule_id=rule_id),
                verified=_verified(doc, cite, rule_id),
            )
        )
    if not citations:
        raise doc.error("the rule cites no source", node, key="sources", rule_id=rule_id)
    return tuple(citations)


def _parse_provenance(doc: _Doc, raw: object, base: Provenance, rule_id: str | None) -> Provenance:
    if raw is None:
        return base
    node = _mapping(doc, raw, "'provenance'", rule_id)
    _check_keys(
        doc, node, [], ["author", "reviewer", "version", "status", "last_reviewed", "history"], "'provenance'", rule_id
    )
    return Provenance(
        author=_text(doc, node, "author", optional=True, rule_id=rule_id) if "author" in node else base.author,
        reviewer=_text(doc, node, "reviewer", optional=True, rule_id=rule_id) if "reviewer" in node else base.reviewer,
        version=_text(doc, node, "version", optional=True, rule_id=rule_id) if "version" in node else base.version,
        status=_choice(doc, node, "status", RULE_STATUSES, base.status, rule_id) if "status" in node else base.status,
        last_reviewed=_text(doc, node, "last_reviewed", optional=True, rule_id=rule_id)
        if "last_reviewed" in node
        else base.last_reviewed,
        history=_text(doc, node, "history", optional=True, rule_id=rule_id) if "history" in node else base.history,
    )


def _load_rule_files(
    docs: list[_Doc],
    facts: Mapping[str, FactSpec],
    catalogue: Mapping[str, RecommendationSpec],
    sources: Mapping[str, Source],
) -> list[RuleSpec]:
    # First pass: which findings exist (any rule deriving them), so names resolve.
    raw_rules: list[tuple[_Doc, Mapping[str, Any], Provenance]] = []
    findings: set[str] = set()
    seen: dict[str, tuple[str, int | None]] = {}
    for doc in docs:
        _check_keys(doc, doc.data, ["version", "rules"], ["provenance", "description"], doc.name)
        base = _parse_provenance(doc, doc.data.get("provenance"), Provenance(), None)
        for raw in _list(doc, doc.data, "rules"):
            node = _mapping(doc, raw, "a rule")
            rule_id = _ident(doc, node)
            if rule_id in seen:
                where = f"{seen[rule_id][0]}:{seen[rule_id][1]}"
                raise doc.error(f"duplicate rule id (first defined at {where})", node, rule_id=rule_id)
            seen[rule_id] = (doc.name, line_of(node))
            _check_keys(doc, node, _RULE_KEYS, ["evidence", "provenance", "description"], "a rule", rule_id)
            for action in _list(doc, node, "then", rule_id=rule_id):
                if isinstance(action, Mapping) and isinstance(action.get("derive"), str):
                    findings.add(action["derive"])
            raw_rules.append((doc, node, base))
    clash = findings & set(facts)
    if clash:
        name = sorted(clash)[0]
        for doc, node, _ in raw_rules:
            for action in node.get("then") or ():
                if isinstance(action, Mapping) and action.get("derive") == name:
                    raise doc.error(
                        f"derives '{name}', which is already a fact (defined at {facts[name].path}:{facts[name].line})",
                        action,
                        rule_id=node["id"],
                    )

    rules: list[RuleSpec] = []
    for doc, node, base in raw_rules:
        rule_id = node["id"]
        _check_condition_shape(doc, node, rule_id)
        try:
            parsed = parse_condition(node["when"])
        except ConditionSyntaxError as exc:
            raise doc.error(f"in 'when': {exc}", node, key="when", rule_id=rule_id) from exc
        try:
            resolved = resolve(parsed, facts, findings)
        except ConditionNameError as exc:
            raise doc.error(str(exc), node, key="when", rule_id=rule_id) from exc
        branches = dnf_size(negation_normal_form(resolved))
        if branches > MAX_BRANCHES:
            raise doc.error(
                f"the condition has {brief(branches)} branches when expanded (the limit is {MAX_BRANCHES}): "
                "split the rule",
                node,
                key="when",
                rule_id=rule_id,
            )
        actions = _parse_actions(doc, node, rule_id, catalogue)
        rules.append(
            RuleSpec(
                id=rule_id,
                title=_text(doc, node, "title", rule_id=rule_id) or rule_id,
                condition=resolved,
                dnf=to_dnf(negation_normal_form(resolved)),
                actions=actions,
                because=" ".join((_text(doc, node, "because", rule_id=rule_id) or "").split()),
                sources=_parse_citations(doc, node, sources, rule_id),
                evidence=_text(doc, node, "evidence", optional=True, rule_id=rule_id),
                provenance=_parse_provenance(doc, node.get("provenance"), base, rule_id),
                path=doc.name,
                line=line_of(node, 0) or 0,
            )
        )
    return _stratify(rules)


def _check_condition_shape(doc: _Doc, node: Mapping[str, Any], rule_id: str) -> None:
    """Reject condition text that is too long or values of the wrong kind before parsing."""
    stack = [node.get("when")]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_CONDITION_TEXT:
                raise doc.error(
                    f"in 'when': condition text of {len(item):,} characters (the limit is {MAX_CONDITION_TEXT})",
                    node,
                    key="when",
                    rule_id=rule_id,
                )
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            raise doc.error(
                f"in 'when': a condition is text or a mapping of all/any/not, not {_kind(item)} ({brief(item)})",
                node,
                key="when",
                rule_id=rule_id,
            )


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(graph.get(node, ()))
    return False


def _stratify(rules: list[RuleSpec]) -> list[RuleSpec]:
    """Give each rule a stratum so that a finding is complete before its absence is read.

    A rule reading finding F (positively) sits at or above every rule deriving F;
    reading its absence, strictly above. A finding that depends on its own
    absence has no stratification and is rejected, naming the rule that reads it.
    """
    derivers: dict[str, list[RuleSpec]] = {}
    for rule in rules:
        for name in rule.derives:
            derivers.setdefault(name, []).append(rule)
    # Edges run from a deriving rule to each rule reading what it derives.
    graph: dict[str, set[str]] = {}
    negative: list[tuple[RuleSpec, RuleSpec, str]] = []
    for rule in rules:
        for conj in rule.dnf:
            for lit in conj:
                if isinstance(lit, FindingRef):
                    for other in derivers.get(lit.name, ()):
                        graph.setdefault(other.id, set()).add(rule.id)
                        if lit.negated:
                            negative.append((other, rule, lit.name))
    for deriver, reader, finding in negative:
        if _reaches(graph, reader.id, deriver.id):
            raise KnowledgeBaseError(
                f"reads the absence of '{finding}', which depends on this rule itself "
                f"(through rule '{deriver.id}'): findings cannot depend on their own absence",
                path=reader.path,
                line=reader.line,
                rule_id=reader.id,
            )
    stratum = {rule.id: 0 for rule in rules}
    changed = True
    while changed:
        changed = False
        for rule in rules:
            need = 0
            for conj in rule.dnf:
                for lit in conj:
                    if isinstance(lit, FindingRef):
                        step = 1 if lit.negated else 0
                        for other in derivers.get(lit.name, ()):
                            need = max(need, stratum[other.id] + step)
            if need > stratum[rule.id]:
                stratum[rule.id] = need
                changed = True
    ordered = [replace(rule, stratum=stratum[rule.id]) for rule in rules]
    ordered.sort(key=lambda r: (r.stratum, r.id))
    return ordered


# --- whole knowledge base ----------------------------------------------------


def _read_all(files: KnowledgeBaseFiles) -> dict[str, bytes]:
    """The bytes of every file the manifest lists, by manifest key."""
    return {f.key: f.read() for f in files.listed()}


def _find(
    rules_dir: Traversable | Path | str,
    knowledge_dir: Traversable | Path | str,
    rules_label: str | None,
    knowledge_label: str | None,
) -> KnowledgeBaseFiles:
    rules_root = Path(rules_dir) if isinstance(rules_dir, str) else rules_dir
    knowledge_root = Path(knowledge_dir) if isinstance(knowledge_dir, str) else knowledge_dir
    return find_files(rules_root, knowledge_root, rules_label or str(rules_dir), knowledge_label or str(knowledge_dir))


def load_knowledge_base(
    rules_dir: Traversable | Path | str,
    knowledge_dir: Traversable | Path | str,
    *,
    rules_label: str | None = None,
    knowledge_label: str | None = None,
    sealed: bool = True,
) -> KnowledgeBase:
    """Load and validate a knowledge base from a rules folder and a knowledge folder.

    Every entry of the folders must be a file of the knowledge base (see
    :mod:`spasm_advisor.kb.files`). With ``sealed`` (the default) the files
    must be exactly those ``knowledge/manifest.yaml`` lists, with the same
    content (see :mod:`spasm_advisor.kb.manifest`); ``sealed=False`` skips
    that check, for authoring a knowledge base before sealing it. The digest
    is the same either way: the SHA-256 of the manifest the files make.

    ``*_label`` name the folders in messages (e.g. ``rules`` for the bundled
    one); by default the path as given is used.

    Raises:
        SealError: a file is missing, extra or changed, or there is no manifest.
        KnowledgeBaseError: naming the file, line and rule of any other problem.
    """
    files = _find(rules_dir, knowledge_dir, rules_label, knowledge_label)
    contents = _read_all(files)
    hashes = file_hashes(files, contents)
    if sealed:
        check_manifest(files, hashes, files.manifest.read() if files.manifest is not None else None)
    return _build(files, contents, digest_of(hashes), sealed)


def _build(files: KnowledgeBaseFiles, contents: Mapping[str, bytes], digest: str, sealed: bool) -> KnowledgeBase:
    docs: dict[str, _Doc] = {}
    for name in (*KNOWLEDGE_FILES, "invariants.yaml", "regions.yaml"):
        found = files.knowledge_file(name)
        if found is not None:
            docs[name] = _parse(contents[found.key], found.display)
    rule_docs = [_parse(contents[f.key], f.display) for f in files.rules]
    invariants_doc = docs.get("invariants.yaml")
    regions: dict[str, Region] = {}
    default_region = None
    if "regions.yaml" in docs:
        regions, default_region = _load_regions(docs["regions.yaml"])

    sources = _load_sources(docs["sources.yaml"])
    facts = _load_facts(docs["facts.yaml"])
    catalogue = _load_catalogue(docs["recommendations.yaml"], sources)
    rules = _load_rule_files(rule_docs, facts, catalogue, sources)
    findings = frozenset(name for rule in rules for name in rule.derives)
    invariants = (
        parse_invariants(invariants_doc.data, invariants_doc.name, facts, findings, catalogue, sources)
        if invariants_doc is not None
        else ()
    )
    hazard_doc = docs["hazards.yaml"]
    hazards = parse_hazard_log(
        hazard_doc.data,
        hazard_doc.name,
        rules={r.id: r for r in rules},
        recommendations=catalogue,
        sources=sources,
        invariants=invariants_doc.data if invariants_doc is not None else None,
        cases_folder=files.knowledge_root / CASES_FOLDER,
        cases_label=f"{files.knowledge_display}/{CASES_FOLDER}",
    )
    version = str(docs["facts.yaml"].data.get("release", "0"))
    return KnowledgeBase(
        facts=MappingProxyType(facts),
        recommendations=MappingProxyType(catalogue),
        sources=MappingProxyType(sources),
        rules=tuple(rules),
        findings=findings,
        version=version,
        digest=digest,
        invariants=invariants,
        rules_location=files.rules_display,
        knowledge_location=files.knowledge_display,
        rule_index=MappingProxyType({r.id: r for r in rules}),
        hazards=hazards,
        regions=MappingProxyType(regions),
        default_region=default_region,
        sealed=sealed,
    )


@dataclass(frozen=True, slots=True)
class SealResult:
    """What :func:`seal_knowledge_base` did.

    Attributes:
        manifest: the manifest's path.
        files: how many files it lists.
        digest: the knowledge base's digest (the manifest's SHA-256).
        written: False when the manifest already said exactly this.
    """

    manifest: Path
    files: int
    digest: str
    written: bool


def seal_knowledge_base(
    rules_dir: Path | str,
    knowledge_dir: Path | str,
    *,
    rules_label: str | None = None,
    knowledge_label: str | None = None,
) -> SealResult:
    """Write ``knowledge/manifest.yaml`` for the files of a knowledge base, after checking it loads.

    A knowledge base that does not load, or whose clinical case files are not
    YAML, is not sealed: the error says why, and the old manifest stays.

    Raises:
        KnowledgeBaseError: naming the first problem; nothing is written then.
    """
    files = _find(rules_dir, knowledge_dir, rules_label, knowledge_label)
    contents = _read_all(files)
    hashes = file_hashes(files, contents)
    _build(files, contents, digest_of(hashes), sealed=False)  # validates every rule and knowledge file
    for case in files.cases:
        load_yaml_text(decode(contents[case.key], case.display), case.display, schema=SCHEMA_CORE)
    written = write_manifest(Path(knowledge_dir), hashes)
    return SealResult(Path(knowledge_dir) / MANIFEST_NAME, len(hashes), digest_of(hashes), written)


def verify_seal(
    rules_dir: Traversable | Path | str,
    knowledge_dir: Traversable | Path | str,
    *,
    rules_label: str | None = None,
    knowledge_label: str | None = None,
) -> list[Difference]:
    """Every difference between a knowledge base's files and its manifest (empty when sealed and unchanged).

    Raises:
        KnowledgeBaseError: if the folders cannot be walked or a file or the manifest cannot be read.
    """
    files = _find(rules_dir, knowledge_dir, rules_label, knowledge_label)
    hashes = file_hashes(files, _read_all(files))
    listed = None if files.manifest is None else read_manifest(files.manifest.read(), files.manifest_display)
    return manifest_differences(files, hashes, listed)

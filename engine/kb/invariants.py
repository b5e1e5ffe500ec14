"""Reading ``knowledge/invariants.yaml`` into typed :class:`~spasm_advisor.kb.model.Invariant` values.

The loader calls :func:`parse_invariants` when the knowledge base loads, so
a broken invariants file fails the load as a broken rule does. Conditions use
the rule language (:mod:`spasm_advisor.kb.conditions`) plus the outcome atoms
``triage OP LEVEL``, ``recommends REC_ID``, ``recommends any CATEGORY`` and
``withholds REC_ID``. Each invariant has ``given`` (optional, default: every
case) and ``require``; it holds when every case whose ``given`` is true has a
true ``require``. Fact atoms keep three-valued meaning: ``{not: numbness}``
means answered no.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from spasm_advisor.errors import KnowledgeBaseError, brief
from spasm_advisor.kb.conditions import Condition, ConditionSyntaxError, parse_condition, resolve
from spasm_advisor.kb.model import CATEGORIES, FactSpec, Invariant, RecommendationSpec, Source
from spasm_advisor.kb.yamlfile import line_of

__all__ = ["parse_invariants"]

_KEYS = ("id", "title", "given", "require", "because", "sources")


def _condition(
    raw: object,
    facts: Mapping[str, FactSpec],
    findings: Collection[str],
    recommendations: Mapping[str, RecommendationSpec],
) -> Condition:
    return resolve(parse_condition(raw, outcomes=True), facts, findings, recommendations, CATEGORIES)


def _text(node: Mapping[str, Any], key: str, ident: str, path: str, line: int) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeBaseError(f"invariant '{ident}': '{key}' must be text", path=path, line=line)
    return value


def parse_invariants(
    data: Any,
    path: str,
    facts: Mapping[str, FactSpec],
    findings: Collection[str],
    recommendations: Mapping[str, RecommendationSpec],
    sources: Mapping[str, Source],
) -> tuple[Invariant, ...]:
    """Check a parsed ``invariants.yaml`` against the knowledge base and type its invariants.

    Raises:
        KnowledgeBaseError: naming the file, line and invariant of the first problem.
    """
    unknown_top = sorted(set(data) - {"version", "invariants"})
    if unknown_top:
        raise KnowledgeBaseError(f"unknown key {brief(unknown_top[0])}", path=path, line=line_of(data))
    items = data.get("invariants")
    if not isinstance(items, list):
        raise KnowledgeBaseError("expected 'invariants': a list", path=path, line=line_of(data))
    seen: set[str] = set()
    result = []
    for node in items:
        line = line_of(node, line_of(data)) or 0
        if not isinstance(node, Mapping):
            raise KnowledgeBaseError("an invariant is a mapping", path=path, line=line)
        extra = sorted(set(node) - set(_KEYS))
        if extra:
            raise KnowledgeBaseError(f"unknown key {brief(extra[0])} in an invariant", path=path, line=line)
        ident = node.get("id")
        if not isinstance(ident, str) or not ident or ident in seen:
            raise KnowledgeBaseError(f"invariant id {brief(ident)} is missing or repeated", path=path, line=line)
        seen.add(ident)
        if "require" not in node:
            raise KnowledgeBaseError(f"invariant '{ident}' has no 'require'", path=path, line=line)
        cited = node.get("sources") or []
        if not isinstance(cited, list):
            raise KnowledgeBaseError(f"invariant '{ident}': 'sources' must be a list", path=path, line=line)
        for source in cited:
            if not isinstance(source, str) or source not in sources:
                raise KnowledgeBaseError(f"invariant '{ident}': unknown source {brief(source)}", path=path, line=line)
        try:
            given = (
                _condition(node["given"], facts, findings, recommendations) if node.get("given") is not None else None
            )
            require = _condition(node["require"], facts, findings, recommendations)
        except ConditionSyntaxError as exc:
            raise KnowledgeBaseError(f"invariant '{ident}': {exc}", path=path, line=line) from exc
        result.append(
            Invariant(
                id=ident,
                title=_text(node, "title", ident, path, line) or ident,
                given=given,
                require=require,
                because=_text(node, "because", ident, path, line),
                path=path,
                line=line,
                sources=tuple(cited),
            )
        )
    return tuple(result)

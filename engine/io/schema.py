"""JSON Schemas (draft 2020-12) generated from a knowledge base.

* :func:`input_schema`: what a case may hold: every fact with its type,
  range or values, question and description; ``null`` is allowed and means
  unknown, ``"dont_know"`` where a question records it; any other key is an
  error (``additionalProperties: false``).
* :func:`output_schema`: the JSON contract of :meth:`Assessment.to_dict`
  (``assess --json``), with every id (rules, recommendations, findings,
  facts, sources) restricted to those of the knowledge base.

JSON Schema's ``integer`` also admits ``40.0``; the case validator does not.
Everything else the schema accepts, the validator accepts, and the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spasm_advisor.inference.assessment import NOTICE
from spasm_advisor.io.case import DONT_KNOW
from spasm_advisor.kb.model import CATEGORIES, EVIDENCE_LEVELS, TRIAGE_LEVELS, FactSpec, KnowledgeBase

__all__ = ["DRAFT", "input_schema", "output_schema"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _fact_value(spec: FactSpec, *, nullable: bool, dont_know: bool = False) -> dict[str, Any]:
    """The schema of one fact's value (``dont_know``: the question also takes ``"dont_know"``)."""
    null = ["null"] if nullable else []
    if spec.type == "boolean" and dont_know and nullable:
        schema: dict[str, Any] = {"type": ["boolean", "string", "null"], "enum": [True, False, DONT_KNOW, None]}
    elif spec.type == "boolean":
        schema = {"type": ["boolean", *null]}
    elif spec.type == "integer":
        schema = {"type": ["integer", *null]}
        if spec.minimum is not None:
            schema["minimum"] = spec.minimum
        if spec.maximum is not None:
            schema["maximum"] = spec.maximum
    else:
        schema = {"type": ["string", *null], "enum": [*spec.values, *([None] if nullable else [])]}
    return schema


def _fact_properties(kb: KnowledgeBase, *, nullable: bool, documented: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    dont_know = kb.dont_know_facts()
    for spec in kb.facts.values():
        schema = _fact_value(spec, nullable=nullable, dont_know=spec.id in dont_know)
        if documented:
            schema = {
                "title": spec.question,
                "description": spec.description + (f" Unit: {spec.unit}." if spec.unit else ""),
                **schema,
                "x-role": spec.role,
            }
        properties[spec.id] = schema
    return properties


def input_schema(kb: KnowledgeBase) -> dict[str, Any]:
    """The JSON Schema of a case for ``kb``: every fact, its type, range or values, and meaning."""
    return {
        "$schema": DRAFT,
        "title": "Spasm Advisor case",
        "description": (
            "A mapping of fact names to values. Every fact is optional; a fact left out or null is "
            "unknown, never 'no'. The questions that take \"dont_know\" record it: asked, and the "
            "person could not say. Unknown keys are an error."
        ),
        "$comment": f"Generated from knowledge base {kb.version} ({kb.digest}).",
        "type": "object",
        "properties": _fact_properties(kb, nullable=True, documented=True),
        "additionalProperties": False,
    }


def _names(values: Iterable[str]) -> dict[str, Any]:
    """A string that is one of ``values`` (nothing at all when there are none)."""
    items = sorted(set(values))
    return {"type": "string", "enum": items} if items else {"not": {}}


def _array(items: dict[str, Any], *, unique: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if unique:
        schema["uniqueItems"] = True
    return schema


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_TEXT = {"type": "string"}
_OPTIONAL_TEXT = {"type": ["string", "null"]}
_BOOL = {"type": "boolean"}


def output_schema(kb: KnowledgeBase) -> dict[str, Any]:
    """The JSON Schema of an assessment (``Assessment.to_dict()``, ``assess --json``) for ``kb``."""
    rules = _names(r.id for r in kb.rules)
    facts = _names(kb.facts)
    findings = _names(kb.findings)
    recommendations = _names(kb.recommendations)
    sources = _names(kb.sources)
    defs: dict[str, Any] = {
        "answers": {
            "description": "Input facts with their (known) values.",
            "type": "object",
            "properties": _fact_properties(kb, nullable=False, documented=False),
            "additionalProperties": False,
        },
        "cited_source": _object({"id": sources, "title": _TEXT, "ref": _OPTIONAL_TEXT, "verified": _BOOL}),
        "derivation": {
            "description": "One rule in an explanation, down to the input facts through derived_from.",
            **_object(
                {
                    "rule": rules,
                    "title": _TEXT,
                    "because": _TEXT,
                    "sources": _array({"$ref": "#/$defs/cited_source"}),
                    "conditions": _array(_TEXT),
                    "facts": {"$ref": "#/$defs/answers"},
                    "unanswered": _array(facts, unique=True),
                    "findings": _array(findings, unique=True),
                    "absent_findings": _array(findings, unique=True),
                    "derived_from": _array({"$ref": "#/$defs/derivation"}),
                }
            ),
        },
        "evidence": _object(
            {
                "source": sources,
                "source_title": _TEXT,
                "level": {"type": "string", "enum": list(EVIDENCE_LEVELS)},
                "ref": _OPTIONAL_TEXT,
                "summary": _OPTIONAL_TEXT,
                "verified": _BOOL,
            }
        ),
        "recommendation": _object(
            {
                "id": recommendations,
                "category": {"type": "string", "enum": list(CATEGORIES)},
                "title": _TEXT,
                "advice": _TEXT,
                "evidence": _array({"$ref": "#/$defs/evidence"}),
                "sources": _array(sources),
                "cautions": _array(_TEXT),
                "warnings": _array(_object({"rule": rules, "message": _TEXT})),
                "explanation": _array({"$ref": "#/$defs/derivation"}),
            }
        ),
        "withheld": _object(
            {
                "id": recommendations,
                "title": _TEXT,
                "reason": _TEXT,
                "rule": rules,
                "recommended_by": _array(rules, unique=True),
                "explanation": {"$ref": "#/$defs/derivation"},
            }
        ),
    }
    return {
        "$schema": DRAFT,
        "title": "Spasm Advisor assessment",
        "description": "The result of assessing one case: triage, recommendations, withheld items and why.",
        "$comment": f"Generated from knowledge base {kb.version} ({kb.digest}).",
        **_object(
            {
                "triage": {"type": "string", "enum": list(TRIAGE_LEVELS)},
                "recommendations": _array({"$ref": "#/$defs/recommendation"}),
                "withheld": _array({"$ref": "#/$defs/withheld"}),
                "unanswered_red_flags": _array(_names(kb.red_flags()), unique=True),
                "fired_rules": _array(rules, unique=True),
                "findings": _array(findings, unique=True),
                "triage_explanation": _array({"$ref": "#/$defs/derivation"}),
                "case": {"$ref": "#/$defs/answers"},
                "knowledge_base": _object(
                    {
                        "version": _TEXT,
                        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
                    }
                ),
                "notice": {"const": NOTICE},
            }
        ),
        "$defs": defs,
    }

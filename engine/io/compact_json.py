"""Compact JSON of an assessment, byte for byte ``json.dumps(to_dict())``, faster for many assessments.

Most of an assessment's JSON is the same from one case to the next: a rule's
title, reasons, sources and rendered conditions, a recommendation's advice.
:class:`CompactJSON` keeps those pieces as JSON text and splices in what
depends on the case (fact values, derivation chains, evidence, warnings), so
encoding costs a fraction of building and dumping the whole dictionary. A
cached piece is reused only when the parts it was made from are the very same
objects (an :class:`~spasm_advisor.inference.assessment.Assembler` hands out the same objects
for every case), so the output always equals::

    json.dumps(assessment.to_dict(), ensure_ascii=False, separators=(",", ":"))

``tests/unit/test_compact_json.py`` checks that on generated cases.
"""

from __future__ import annotations

import json
import operator
from json.encoder import encode_basestring
from typing import Any

from spasm_advisor.inference.assessment import NOTICE, Assessment, Derivation, Recommendation

__all__ = ["CompactJSON"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: Cached pieces kept at most: enough for any knowledge base's rules and
#: catalogue; assessments made without a shared assembler just miss.
_MAX_CACHED = 8192


def _strings(items: tuple[str, ...]) -> str:
    return "[" + ",".join(map(encode_basestring, items)) + "]"


def _value(value: Any) -> str:
    """One fact value, as ``json.dumps`` writes it."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is str:
        return encode_basestring(value)
    return _dumps(value)


def _same(cached: tuple[Any, ...], parts: tuple[Any, ...]) -> bool:
    return all(map(operator.is_, cached, parts))


class CompactJSON:
    """Encodes assessments as compact JSON (one instance per thread: it caches as it goes)."""

    def __init__(self) -> None:
        """Start with empty caches."""
        self._derivations: dict[int, tuple[tuple[Any, ...], str, str]] = {}
        self._recommendations: dict[str, tuple[tuple[Any, ...], str, str]] = {}

    def encode(self, assessment: Assessment, line: int | None = None) -> str:
        """The assessment's JSON contract as compact text; with ``line``, ``{"line": N, ...}`` first."""
        if len(self._derivations) > _MAX_CACHED or len(self._recommendations) > _MAX_CACHED:
            self._derivations.clear()
            self._recommendations.clear()
        done: dict[int, str] = {}  # a derivation shared by several chains is encoded once
        derivation = self._derivation
        parts = ['{"line":', int.__repr__(line), ',"triage":'] if line is not None else ['{"triage":']
        parts += [
            encode_basestring(assessment.triage),
            ',"recommendations":[',
            ",".join(self._recommendation(r, done) for r in assessment.recommendations),
            '],"withheld":[',
            ",".join(
                '{"id":'
                + encode_basestring(w.id)
                + ',"title":'
                + encode_basestring(w.title)
                + ',"reason":'
                + encode_basestring(w.reason)
                + ',"rule":'
                + encode_basestring(w.rule)
                + ',"recommended_by":'
                + _strings(w.recommended_by)
                + ',"explanation":'
                + derivation(w.explanation, done)
                + "}"
                for w in assessment.withheld
            ),
            '],"unanswered_red_flags":',
            _strings(assessment.unanswered_red_flags),
            ',"fired_rules":',
            _strings(assessment.fired_rules),
            ',"findings":',
            _strings(assessment.findings),
            ',"triage_explanation":[',
            ",".join(derivation(d, done) for d in assessment.triage_explanation),
            '],"case":{',
            ",".join(encode_basestring(k) + ":" + _value(v) for k, v in dict(assessment.case).items()),
            '},"knowledge_base":{"version":',
            encode_basestring(assessment.kb_version),
            ',"digest":',
            encode_basestring(assessment.kb_digest),
            '},"notice":',
            encode_basestring(NOTICE),
            "}",
        ]
        return "".join(parts)

    def _derivation(self, node: Derivation, done: dict[int, str]) -> str:
        text = done.get(id(node))
        if text is not None:
            return text
        parts = (
            node.rule,
            node.title,
            node.because,
            node.sources,
            node.conditions,
            node.unanswered,
            node.findings,
            node.absent_findings,
        )
        cached = self._derivations.get(id(node.conditions))
        if cached is None or not _same(cached[0], parts):
            head = (
                '{"rule":'
                + _dumps(node.rule)
                + ',"title":'
                + _dumps(node.title)
                + ',"because":'
                + _dumps(node.because)
                + ',"sources":'
                + _dumps([s.to_dict() for s in node.sources])
                + ',"conditions":'
                + _dumps(list(node.conditions))
                + ',"facts":{'
            )
            tail = (
                '},"unanswered":'
                + _dumps(list(node.unanswered))
                + ',"findings":'
                + _dumps(list(node.findings))
                + ',"absent_findings":'
                + _dumps(list(node.absent_findings))
                + ',"derived_from":['
            )
            cached = self._derivations[id(node.conditions)] = (parts, head, tail)
        text = (
            cached[1]
            + ",".join(encode_basestring(k) + ":" + _value(v) for k, v in dict(node.facts).items())
            + cached[2]
            + ",".join([self._derivation(child, done) for child in node.derived_from])
            + "]}"
        )
        done[id(node)] = text
        return text

    def _recommendation(self, rec: Recommendation, done: dict[int, str]) -> str:
        parts = (rec.id, rec.category, rec.title, rec.advice, rec.sources, rec.cautions)
        cached = self._recommendations.get(rec.id)
        if cached is None or not _same(cached[0], parts):
            head = (
                '{"id":'
                + _dumps(rec.id)
                + ',"category":'
                + _dumps(rec.category)
                + ',"title":'
                + _dumps(rec.title)
                + ',"advice":'
                + _dumps(rec.advice)
                + ',"evidence":'
            )
            middle = ',"sources":' + _dumps(list(rec.sources)) + ',"cautions":' + _dumps(list(rec.cautions))
            cached = self._recommendations[rec.id] = (parts, head, middle)
        warnings = ",".join(
            '{"rule":' + encode_basestring(w.rule) + ',"message":' + encode_basestring(w.message) + "}"
            for w in rec.warnings
        )
        return (
            cached[1]
            # Evidence entries are the assessment's own dicts: always encoded afresh.
            + _dumps([dict(e) for e in rec.evidence])
            + cached[2]
            + ',"warnings":['
            + warnings
            + '],"explanation":['
            + ",".join([self._derivation(d, done) for d in rec.explanation])
            + "]}"
        )

"""The records ``batch`` writes to JSON Lines: ``full`` or ``summary``, one line per input record.

A **full** record is ``{"line": N, ...}`` followed by the whole JSON contract
of the assessment (:meth:`~spasm_advisor.Assessment.to_dict`), explanation
trees included: about 25 KB a case. It is what ``batch`` has always written.

A **summary** record keeps what screening a population needs, well under
1 KB a case::

    {"line":2,"triage":"urgent",
     "recommendations":[{"id":"gp_review","category":"referral"}],
     "withheld":[{"id":"nsaid_pain_relief","rule":88}],
     "unanswered_red_flags":["fever"],
     "findings":[3,17],"fired_rules":[0,12,88],
     "knowledge_base":{"version":"2026.11.2","digest":"sha256:..."}}

(one line in the file). ``triage``, ``recommendations`` (with their
category) and ``unanswered_red_flags`` read as in the full record. The rest
refers to the knowledge base named by ``knowledge_base.digest`` by number,
because spelling every rule and finding out would take 2-3 KB a case: a rule
is its position in the knowledge base's rule list
(:attr:`~spasm_advisor.kb.model.KnowledgeBase.rules`, counting from 0), a
finding its position in the sorted list of the knowledge base's findings.
``fired_rules`` are in firing order and ``findings`` in name order, as in the
full record; each ``withheld`` item names the rule that withholds it, whose
reason is the one the full record gives. :func:`expand_summary` turns the
numbers back into ids and reasons, given the same knowledge base (it refuses
any other).

A record that could not be assessed is ``{"line": N, "error": MESSAGE}`` in
both kinds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from spasm_advisor.inference.assessment import Assessment, AssessmentSummary
from spasm_advisor.io.compact_json import CompactJSON
from spasm_advisor.kb.model import KnowledgeBase

__all__ = [
    "RECORDS",
    "FullRecords",
    "SummaryRecords",
    "error_record",
    "expand_summary",
    "finding_numbers",
    "record_kind",
    "rule_numbers",
]

#: The kinds of JSON Lines record, the default first.
RECORDS = ("full", "summary")


def rule_numbers(kb: KnowledgeBase) -> dict[str, int]:
    """Each rule's number in summary records: its position in ``kb.rules``."""
    return {rule.id: number for number, rule in enumerate(kb.rules)}


def finding_numbers(kb: KnowledgeBase) -> dict[str, int]:
    """Each finding's number in summary records: its position in the sorted findings of ``kb``."""
    return {name: number for number, name in enumerate(sorted(kb.findings))}


def error_record(line: int, message: str) -> str:
    """The record (with its newline) of an input record that could not be assessed."""
    return json.dumps({"line": line, "error": message}, ensure_ascii=False, separators=(",", ":")) + "\n"


def record_kind(text: str | bytes) -> str:
    """``full``, ``summary`` or ``error``: which kind of record one output line of ``batch`` is."""
    data = text.encode() if isinstance(text, str) else text
    if data.startswith(b'{"line":') and b',"error":' in data[:40]:
        return "error"
    return "full" if b',"triage_explanation":' in data else "summary"


class FullRecords:
    """Encodes full records: the line, then the assessment's JSON contract (one per thread: it caches)."""

    def __init__(self) -> None:
        """Start with an empty cache."""
        self._json = CompactJSON()

    def encode(self, assessment: Assessment, line: int) -> str:
        """The full record (with its newline) of an assessment."""
        return self._json.encode(assessment, line) + "\n"

    def contract(self, assessment: Assessment) -> str:
        """The assessment's JSON contract alone: ``json.dumps(assessment.to_dict())``, compact."""
        return self._json.encode(assessment)


class SummaryRecords:
    """Encodes summary records of one knowledge base's assessments (see the module's description).

    The JSON of everything that depends only on the knowledge base (a
    recommendation with its category, a withholding, a red flag's name, the
    knowledge-base tail) is made once, so encoding a record joins strings.
    """

    def __init__(self, kb: KnowledgeBase) -> None:
        """Prepare the pieces of ``kb``'s records."""
        self.digest = kb.digest
        self._rule = {rule_id: str(number) for rule_id, number in rule_numbers(kb).items()}
        self._finding = {name: str(number) for name, number in finding_numbers(kb).items()}
        self._recommendation = {
            rec_id: '{"id":' + encode_basestring(rec_id) + ',"category":' + encode_basestring(spec.category) + "}"
            for rec_id, spec in kb.recommendations.items()
        }
        self._withheld = {
            (action.target, rule.id): f'{{"id":{encode_basestring(action.target)},"rule":{self._rule[rule.id]}}}'
            for rule in kb.rules
            for action in rule.actions
            if action.kind == "withhold"
        }
        self._flag = {name: encode_basestring(name) for name in kb.red_flags()}
        self._tail = (
            '],"knowledge_base":{"version":'
            + encode_basestring(kb.version)
            + ',"digest":'
            + encode_basestring(kb.digest)
            + "}}\n"
        )

    def encode(self, summary: AssessmentSummary, line: int) -> str:
        """The summary record (with its newline) of an assessment of this knowledge base.

        Raises:
            ValueError: for an assessment of another knowledge base, whose
                rules and findings these numbers do not describe.
        """
        if summary.kb_digest != self.digest:
            raise ValueError(f"an assessment of knowledge base {summary.kb_digest}, not {self.digest}")
        rule = self._rule
        return "".join(
            (
                '{"line":',
                int.__repr__(line),
                ',"triage":',
                encode_basestring(summary.triage),
                ',"recommendations":[',
                ",".join([self._recommendation[rec_id] for rec_id, _ in summary.recommendations]),
                '],"withheld":[',
                ",".join([self._withheld[rec_id, rule_id] for rec_id, rule_id, _ in summary.withheld]),
                '],"unanswered_red_flags":[',
                ",".join([self._flag[name] for name in summary.unanswered_red_flags]),
                '],"findings":[',
                ",".join([self._finding[name] for name in summary.findings]),
                '],"fired_rules":[',
                ",".join([rule[rule_id] for rule_id in summary.fired_rules]),
                self._tail,
            )
        )


def expand_summary(record: Mapping[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    """A summary record with its numbers turned back into names, using the knowledge base it was made with.

    ``withheld`` items get the ``reason`` and ``rule`` (id) of the full
    record; ``findings`` and ``fired_rules`` become ids. Every key then holds
    what the full record holds under it. An error record comes back as it is.

    Raises:
        ValueError: if the record was made with another knowledge base (its
            digest differs), or a number is not one of ``kb``'s.
    """
    if "error" in record:
        return dict(record)
    digest = record.get("knowledge_base", {}).get("digest")
    if digest != kb.digest:
        raise ValueError(f"the record was made with knowledge base {digest}, not {kb.digest}")
    rules = kb.rules
    findings = sorted(kb.findings)
    reasons = {
        (action.target, rule.id): action.text or ""
        for rule in rules
        for action in rule.actions
        if action.kind == "withhold"
    }

    def rule_id(number: int) -> str:
        if not isinstance(number, int) or not 0 <= number < len(rules):
            raise ValueError(f"rule number {number!r} is not one of this knowledge base's {len(rules)} rules")
        return rules[number].id

    def finding(number: int) -> str:
        if not isinstance(number, int) or not 0 <= number < len(findings):
            raise ValueError(f"finding number {number!r} is not one of this knowledge base's {len(findings)}")
        return findings[number]

    withheld = []
    for item in record["withheld"]:
        rule = rule_id(item["rule"])
        withheld.append({"id": item["id"], "reason": reasons[item["id"], rule], "rule": rule})
    return {
        "line": record["line"],
        "triage": record["triage"],
        "recommendations": [dict(item) for item in record["recommendations"]],
        "withheld": withheld,
        "unanswered_red_flags": list(record["unanswered_red_flags"]),
        "findings": [finding(number) for number in record["findings"]],
        "fired_rules": [rule_id(number) for number in record["fired_rules"]],
        "knowledge_base": dict(record["knowledge_base"]),
    }

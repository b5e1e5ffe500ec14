"""Safety invariants: clinician-declared properties every case must satisfy.

``knowledge/invariants.yaml`` lists them in the rule condition language, with
three more atoms about the outcome:

- ``triage OP LEVEL`` (e.g. ``triage >= urgent``, ``triage == emergency``);
- ``recommends REC_ID``: the recommendation is given;
- ``recommends any CATEGORY``: some recommendation of that category
  (relief, therapy, referral) is given;
- ``withholds REC_ID``: a rule withholds it.

Each invariant has ``given`` (optional, default: every case) and ``require``.
It holds when every case satisfying ``given`` satisfies ``require``. Fact
atoms keep three-valued meaning: ``{not: numbness}`` means answered no.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import ConditionSyntaxError, KnowledgeBaseError
from spasm_advisor.inference.assessment import Assessment
from spasm_advisor.kb.conditions import (
    All,
    Any_,
    Comparison,
    FindingRef,
    Known,
    Name,
    Not,
    literal_holds,
    parse_condition,
    render,
)
from spasm_advisor.kb.model import CATEGORIES, TRIAGE_LEVELS, KnowledgeBase, triage_rank
from spasm_advisor.kb.yamlfile import line_of

__all__ = ["Invariant", "Outcome", "holds", "load_invariants"]

_OUTCOME = re.compile(
    r"^\s*(?:(?P<verb>recommends|withholds)\s+(?:any\s+(?P<category>[a-z]+)|(?P<rec>[a-z][a-z0-9_]*))"
    r"|triage\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<level>[a-z_]+))\s*$"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """An atom about the assessment: ``kind`` is triage, recommends or withholds."""

    kind: str
    target: str
    op: str = "=="


@dataclass(frozen=True, slots=True)
class Invariant:
    """One declared invariant."""

    id: str
    title: str
    given: Any
    require: Any
    because: str | None
    path: str
    line: int

    def describe(self) -> str:
        """``if GIVEN then REQUIRE`` in readable form."""
        return f"if {_render(self.given)} then {_render(self.require)}"


def _render(cond: Any) -> str:
    if isinstance(cond, Outcome):
        if cond.kind == "triage":
            return f"triage {cond.op} {cond.target}"
        return f"{cond.kind} {cond.target}"
    if isinstance(cond, All | Any_):
        joiner = " and " if isinstance(cond, All) else " or "
        return "(" + joiner.join(_render(c) for c in cond.items) + ")"
    if isinstance(cond, Not):
        return f"not {_render(cond.item)}"
    if cond is None:
        return "any case"
    return render(cond)


def _parse(raw: object, kb: KnowledgeBase, where: str) -> Any:
    if isinstance(raw, str):
        match = _OUTCOME.match(raw)
        if match:
            if match["category"]:
                category = match["category"]
                if category not in CATEGORIES:
                    raise ConditionSyntaxError(
                        f"unknown category '{category}' (expected one of {', '.join(CATEGORIES)})"
                    )
                members = tuple(r for r, spec in kb.recommendations.items() if spec.category == category)
                outcomes: tuple[Any, ...] = tuple(Outcome(match["verb"], r) for r in members)
                return Any_(outcomes) if members else Outcome("none", category)
            if match["verb"]:
                rec = match["rec"]
                if rec not in kb.recommendations:
                    raise ConditionSyntaxError(f"unknown recommendation '{rec}'{did_you_mean(rec, kb.recommendations)}")
                return Outcome(match["verb"], rec)
            level = match["level"]
            if level not in TRIAGE_LEVELS:
                raise ConditionSyntaxError(f"unknown triage level '{level}'{did_you_mean(level, TRIAGE_LEVELS)}")
            return Outcome("triage", level, match["op"])
        atom = parse_condition(raw)
        if isinstance(atom, Name):
            if atom.name in kb.facts:
                if kb.facts[atom.name].type != "boolean":
                    raise ConditionSyntaxError(f"'{atom.name}' is not a yes/no fact")
                return Comparison(atom.name, "==", True)
            if atom.name in kb.findings:
                return FindingRef(atom.name)
            raise ConditionSyntaxError(
                f"unknown fact or finding '{atom.name}'{did_you_mean(atom.name, set(kb.facts) | kb.findings)}"
            )
        if isinstance(atom, Comparison | Known) and atom.name not in kb.facts:
            raise ConditionSyntaxError(f"unknown fact '{atom.name}'{did_you_mean(atom.name, kb.facts)}")
        return atom
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((key, value),) = raw.items()
        if key in ("all", "any") and isinstance(value, list) and value:
            items = tuple(_parse(v, kb, where) for v in value)
            return All(items) if key == "all" else Any_(items)
        if key == "not":
            return Not(_parse(value, kb, where))
    return parse_condition(raw)  # raises the standard syntax error


def load_invariants(kb: KnowledgeBase) -> list[Invariant]:
    """Parse the knowledge base's ``invariants.yaml`` (empty when it has none)."""
    if not kb.invariants:
        return []
    doc = kb.invariants[0]
    data, path = doc.data, doc.name  # type: ignore[attr-defined]
    items = data.get("invariants")
    if not isinstance(items, list):
        raise KnowledgeBaseError("expected 'invariants': a list", path=path, line=line_of(data))
    unknown_top = set(data) - {"version", "invariants"}
    if unknown_top:
        raise KnowledgeBaseError(f"unknown key '{sorted(unknown_top)[0]}'", path=path, line=line_of(data))
    seen: set[str] = set()
    result = []
    for node in items:
        line = line_of(node, 0) or 0
        if not isinstance(node, Mapping):
            raise KnowledgeBaseError("an invariant is a mapping", path=path, line=line)
        extra = set(node) - {"id", "title", "given", "require", "because", "sources"}
        if extra:
            raise KnowledgeBaseError(f"unknown key '{sorted(extra)[0]}' in an invariant", path=path, line=line)
        ident = node.get("id")
        if not isinstance(ident, str) or ident in seen:
            raise KnowledgeBaseError(f"invariant id {ident!r} is missing or repeated", path=path, line=line)
        seen.add(ident)
        if "require" not in node:
            raise KnowledgeBaseError(f"invariant '{ident}' has no 'require'", path=path, line=line)
        for source in node.get("sources", []) or []:
            if source not in kb.sources:
                raise KnowledgeBaseError(f"invariant '{ident}': unknown source '{source}'", path=path, line=line)
        try:
            given = _parse(node["given"], kb, path) if node.get("given") is not None else None
            require = _parse(node["require"], kb, path)
        except ConditionSyntaxError as exc:
            raise KnowledgeBaseError(f"invariant '{ident}': {exc}", path=path, line=line) from exc
        result.append(Invariant(ident, str(node.get("title", ident)), given, require, node.get("because"), path, line))
    return result


def _holds(cond: Any, assessment: Assessment, values: Mapping[str, Any], findings: set[str]) -> bool | None:
    """Three-valued truth of an invariant condition for one concrete assessment."""
    if cond is None:
        return True
    if isinstance(cond, Outcome):
        if cond.kind == "triage":
            actual, wanted = triage_rank(assessment.triage), triage_rank(cond.target)
            return {
                "==": actual == wanted,
                "!=": actual != wanted,
                "<": actual < wanted,
                "<=": actual <= wanted,
                ">": actual > wanted,
                ">=": actual >= wanted,
            }[cond.op]
        if cond.kind == "recommends":
            return cond.target in assessment.recommendation_ids()
        if cond.kind == "none":
            return False
        return cond.target in assessment.withheld_ids()
    if isinstance(cond, All):
        parts = [_holds(c, assessment, values, findings) for c in cond.items]
        return False if False in parts else (None if None in parts else True)
    if isinstance(cond, Any_):
        parts = [_holds(c, assessment, values, findings) for c in cond.items]
        return True if True in parts else (None if None in parts else False)
    if isinstance(cond, Not):
        inner = _holds(cond.item, assessment, values, findings)
        return None if inner is None else not inner
    if isinstance(cond, Comparison) and values.get(cond.name) is None:
        return None
    return literal_holds(cond, values, findings)


def holds(invariant: Invariant, assessment: Assessment) -> bool:
    """Whether one assessment satisfies the invariant (``given`` not true, or ``require`` true)."""
    values = dict(assessment.case)
    findings = set(assessment.findings)
    if _holds(invariant.given, assessment, values, findings) is not True:
        return True
    return _holds(invariant.require, assessment, values, findings) is True

"""A case: the facts a person gave, validated against the fact vocabulary.

Validation collects every problem before raising, each naming the field,
the value given (shortened, so a huge or deeply nested value cannot blow up
the message) and what was expected. Only exact types are accepted: ``true``
is not a number, ``1`` and ``"yes"`` are not booleans, ``40.0`` is not an
integer, and dates, binary data, lists and mappings are never a fact's value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import CaseError, CaseProblem, brief, kind_of
from spasm_advisor.kb.conditions import Value
from spasm_advisor.kb.model import FactSpec, KnowledgeBase

__all__ = ["DONT_KNOW", "Case", "validate_case"]

#: The answer a case gives for a question the person was asked but could not
#: answer. Accepted for the questions whose "don't know" the knowledge base
#: records in a fact of its own (``dont_know_for`` in ``facts.yaml``), where it
#: differs from leaving the question out (not asked).
DONT_KNOW = "dont_know"


def _problem_for(spec: FactSpec, value: Any) -> str | None:
    """Why ``value`` does not fit ``spec``, or None when it does."""
    name = spec.id
    if spec.type == "boolean":
        if isinstance(value, bool):
            return None
        hint = " (write true or false, not a string)" if isinstance(value, str) else ""
        if value == DONT_KNOW:
            hint = " (write null when the answer is not known)"
        return f"{name}: expected true or false, got {brief(value)}{hint}"
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            hint = ""
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                hint = f" (write {int(value)} without a decimal point)"
            return f"{name}: expected {spec.domain_text()}, got {brief(value)}{hint}"
        if spec.minimum is not None and value < spec.minimum:
            return f"{name}: {brief(value)} is below the minimum {spec.minimum}"
        if spec.maximum is not None and value > spec.maximum:
            return f"{name}: {brief(value)} is above the maximum {spec.maximum}"
        return None
    if isinstance(value, str) and value in spec.values:
        return None
    return f"{name}: expected {spec.domain_text()}, got {brief(value)}"


def validate_case(data: object, kb: KnowledgeBase, *, source: str | None = None) -> dict[str, Value]:
    """Check a mapping of facts against ``kb`` and return the answered ones.

    ``None`` (JSON ``null``) is the same as leaving the fact out: unknown.
    ``"dont_know"`` is accepted for the questions that have a "don't know"
    fact: the question stays unknown and that fact becomes true. Every
    problem is collected; :class:`CaseError` names them all.
    """
    if not isinstance(data, Mapping):
        raise CaseError(
            [CaseProblem("", f"a case must be a mapping of fact names to values, not {kind_of(data)}")], source=source
        )
    problems: list[CaseProblem] = []
    values: dict[str, Value] = {}
    dont_know = kb.dont_know_facts()
    not_known: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            text = f"fact names are text, not {type(key).__name__} ({brief(key)})"
            problems.append(CaseProblem(brief(key), text))
            continue
        spec = kb.facts.get(key)
        if spec is None:
            shown = key if len(key) <= 60 else key[:57] + "..."
            hint = did_you_mean(key, kb.facts) if len(key) <= 60 and len(problems) < 50 else ""
            problems.append(CaseProblem(shown, f"unknown fact '{shown}'{hint}"))
            continue
        if value is None:
            continue
        if value == DONT_KNOW and key in dont_know:
            not_known[dont_know[key]] = key
            continue
        message = _problem_for(spec, value)
        if message is not None:
            problems.append(CaseProblem(key, message))
        else:
            values[key] = value
    for recorder, question in not_known.items():
        if values.get(recorder) is False:
            problems.append(CaseProblem(recorder, f"{recorder}: false contradicts {question}: {DONT_KNOW}"))
        values[recorder] = True
    if problems:
        raise CaseError(problems, source=source)
    return values


@dataclass(frozen=True, slots=True, init=False)
class Case(Mapping[str, Value]):
    """The answered facts of a case, validated; unanswered facts are absent (unknown).

    Build one with :meth:`from_mapping`. It behaves as a read-only mapping.
    """

    _values: Mapping[str, Value]

    def __init__(self, values: Mapping[str, Value]) -> None:
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    @classmethod
    def from_mapping(cls, data: object, kb: KnowledgeBase, *, source: str | None = None) -> Case:
        """Validate ``data`` against the knowledge base's vocabulary.

        Raises:
            CaseError: naming every unknown fact, wrong type and out-of-range value.
        """
        return cls(validate_case(data, kb, source=source))

    def __getitem__(self, key: str) -> Value:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when it is unanswered."""
        # Mapping.get goes through __getitem__ and a caught KeyError: slow for
        # the many unanswered facts the engine asks about on every assessment.
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        return f"Case({dict(self._values)!r})"

    def to_dict(self) -> dict[str, Value]:
        """The answered facts as a plain dict."""
        return dict(self._values)

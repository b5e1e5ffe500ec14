"""The exceptions Spasm Advisor raises.

Every error derives from :class:`EngineError`, and also from the builtin it
most resembles, so callers can catch either::

    EngineError
    ├── KnowledgeBaseError (ValueError)   a rule, fact or catalogue file is wrong
    └── CaseError (ValueError)            a case does not fit the fact vocabulary

Each error carries where it happened (``path``, ``line``, ``field``) as
attributes as well as in its one-line message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CaseError", "CaseProblem", "EngineError", "KnowledgeBaseError"]


class EngineError(Exception):
    """Root of every error that Spasm Advisor raises on purpose."""


class KnowledgeBaseError(EngineError, ValueError):
    """A knowledge-base file is missing, malformed or inconsistent.

    Attributes:
        path: the file, when one is known.
        line: the 1-based line in that file, when one is known.
        rule_id: the rule concerned, when there is one.
        detail: the message without the location prefix.
    """

    def __init__(
        self,
        detail: str,
        *,
        path: str | None = None,
        line: int | None = None,
        rule_id: str | None = None,
    ) -> None:
        self.detail = detail
        self.path = path
        self.line = line
        self.rule_id = rule_id
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.rule_id is not None:
            where = f"{where}: rule '{self.rule_id}'" if where else f"rule '{self.rule_id}'"
        return f"{where}: {self.detail}" if where else self.detail


@dataclass(frozen=True, slots=True)
class CaseProblem:
    """One thing wrong with a case: the field, the value given and what was expected."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


class CaseError(EngineError, ValueError):
    """A case does not fit the knowledge base's fact vocabulary.

    All problems are collected before raising, so one error names every
    field that is wrong. ``problems`` holds them one by one.
    """

    def __init__(self, problems: Sequence[CaseProblem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        text = "; ".join(p.message for p in self.problems) or "invalid case"
        super().__init__(f"{source}: {text}" if source else text)

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the fields that are wrong, in the order found."""
        return tuple(p.field for p in self.problems)

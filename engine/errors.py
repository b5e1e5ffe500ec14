"""The exceptions Spasm Advisor raises, and the exit codes of its command line.

Every error derives from :class:`EngineError`, and also from the builtin it
most resembles, so callers can catch either::

    EngineError
    ├── KnowledgeBaseError (ValueError)       a rule, fact or catalogue file is wrong
    │   └── SealError                         the files differ from the knowledge base's manifest
    ├── CircularDerivationError               findings derive each other in a circle
    ├── ConditionSyntaxError (ValueError)     a condition does not follow the grammar
    │   └── ConditionNameError                an unknown name, or a comparison that does not fit
    ├── CaseError (ValueError)                a case cannot be read or does not fit the fact vocabulary
    ├── JSONContentError (ValueError)         JSON that parses but is not a case's (duplicate key, NaN)
    ├── AnswerError (ValueError)              an interview answer does not fit its question
    ├── CellError (ValueError)                a CSV cell is not a value of its column's fact
    ├── BatchError                            a batch cannot run or go on (input, header, resume, output)
    ├── FhirResourceError (ValueError)        a FHIR resource given to the service does not parse
    ├── FeedbackError                         the service's feedback database cannot be used
    ├── NotARegularFileError (OSError)        a case or knowledge file is a FIFO, device or folder
    ├── ApiError                              an HTTP error answer of the service (status, fields)
    ├── UnknownRegionError (ValueError)       a region the knowledge base does not define
    ├── UsageError                            the command line was called wrongly
    └── DependencyError (ImportError)         experta is missing or not the pinned release

Each error carries where it happened (``path``, ``line``, ``field``) as
attributes as well as in its one-line message. The string form of every
error goes through :func:`escape_controls`: a newline in a key, or an escape
sequence in a file name, is shown escaped, so a message is always one line
and nothing a file contains can control the terminal that shows it.

Each error also carries the :class:`ExitCode` the command line ends with when
it reaches the top (``exit_code``): every error raised on purpose is a usage
or input error, exit 2, except a broken installation, exit 3 like a bug.
Any other exception is a bug: exit 3.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "MAX_LISTED_PROBLEMS",
    "AnswerError",
    "ApiError",
    "BatchError",
    "CaseError",
    "CaseProblem",
    "CellError",
    "CircularDerivationError",
    "ConditionNameError",
    "ConditionSyntaxError",
    "DependencyError",
    "EngineError",
    "ExitCode",
    "FeedbackError",
    "FhirResourceError",
    "JSONContentError",
    "KnowledgeBaseError",
    "NotARegularFileError",
    "SealError",
    "UnknownRegionError",
    "UsageError",
    "brief",
    "escape_controls",
    "kind_of",
    "one_line",
]

#: A :class:`CaseError` message lists at most this many problems, then says how many more.
MAX_LISTED_PROBLEMS = 50


def escape_controls(text: str, *, multiline: bool = False, json: bool = False) -> str:
    r"""``text`` with every character that could control a terminal escaped.

    This is the one escaping function for text that came from a file or a
    user (fact names, CSV headers, ids, paths, values): every character
    Python does not consider printable is escaped, which covers the C0 and
    C1 control characters (so every ANSI escape sequence, which starts with
    ESC or CSI), DEL, line and paragraph separators, and invisible format
    characters such as bidirectional overrides.

    Args:
        text: the text to show.
        multiline: keep newlines and tabs (for reports); otherwise they are
            escaped too, so the result is one line.
        json: ``text`` is JSON (as ``json.dumps`` writes it): escape as
            ``\uXXXX``, which JSON reads back as the same character, and keep
            its line breaks.

    Returns:
        ``text`` unchanged when every character is printable, else a copy with
        each unprintable character written as ``repr`` would (``\x1b``,
        ``\u202e``) or, with ``json``, as a JSON escape.
    """
    if text.isprintable():
        return text
    keep = "\n" if json else "\n\t" if multiline else ""
    out = []
    for ch in text:
        if ch.isprintable() or ch in keep:
            out.append(ch)
        elif json:
            code = ord(ch)
            if code > 0xFFFF:  # JSON spells characters beyond the BMP as a surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def one_line(text: str) -> str:
    """``text`` with line breaks and every other unprintable character escaped (see :func:`escape_controls`)."""
    return escape_controls(text)


def brief(value: object, limit: int = 60) -> str:
    """A short, safe ``repr`` of any value for a one-line message.

    Never raises and never grows with the input: long texts and containers
    are cut with ``...``, deep nesting is elided, integers too long to print
    are described by their number of digits, dates and bytes are named.
    """
    try:
        if isinstance(value, bool | float) or value is None:
            return repr(value)
        if isinstance(value, int):
            digits = int(value.bit_length() * 0.30103)
            text = repr(value) if value.bit_length() < 200 else f"an integer of about {digits} digits"
        elif isinstance(value, datetime.datetime):
            return f"the timestamp {value.isoformat()}"
        elif isinstance(value, datetime.date):
            return f"the date {value.isoformat()}"
        elif isinstance(value, bytes | bytearray):
            return f"binary data ({len(value):,} bytes)"
        elif isinstance(value, str):
            text = repr(value[: limit + 1])
        else:
            text = _bounded_repr(value, limit)
    except Exception:  # a message must never fail
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def kind_of(value: object) -> str:
    """The JSON/YAML name of a value's type, for messages: ``a mapping``, ``a list``, ``text``, ``a number``..."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, datetime.date):
        return "a date"
    names = {int: "a number", float: "a number", str: "text", bytes: "binary data"}
    return names.get(type(value), type(value).__name__)


def _bounded_repr(value: object, limit: int, depth: int = 0) -> str:
    """``repr`` of containers that stops at ``limit`` characters or three levels."""
    if isinstance(value, str | int | float | bool) or value is None:
        return brief(value, limit)
    if depth >= 3:
        return "..."
    if isinstance(value, dict):
        parts, opener, closer = [], "{", "}"
        for key, item in value.items():
            parts.append(f"{_bounded_repr(key, limit, depth + 1)}: {_bounded_repr(item, limit, depth + 1)}")
            if sum(map(len, parts)) > limit:
                break
    elif isinstance(value, list | tuple | set | frozenset):
        if isinstance(value, list):
            opener, closer = "[", "]"
        else:
            opener, closer = ("(", ")") if isinstance(value, tuple) else ("{", "}")
        parts = []
        for item in value:
            parts.append(_bounded_repr(item, limit, depth + 1))
            if sum(map(len, parts)) > limit:
                break
    else:
        return repr(value)[: limit + 1]
    return opener + ", ".join(parts) + closer


class ExitCode(enum.IntEnum):
    """The exit codes of ``spasm-advisor``: a contract scripts rely on (docs/architecture.md)."""

    #: The command did what was asked and found nothing to report.
    OK = 0
    #: The command ran and found something: a difference, a violated invariant, a failed case, a record error.
    FINDINGS = 1
    #: The command was called wrongly, or its input (case, knowledge base, file) is wrong: one line on stderr.
    USAGE = 2
    #: A bug: one line on stderr, the traceback only with ``--debug``.
    INTERNAL = 3
    #: Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    INTERRUPTED = 130


class EngineError(Exception):
    """Root of every error that Spasm Advisor raises on purpose.

    Its string form is always one line with control characters escaped
    (:func:`escape_controls`), whatever text the message quotes.
    """

    #: How the command line exits when this error reaches it.
    exit_code: ClassVar[ExitCode] = ExitCode.USAGE

    def __str__(self) -> str:
        return escape_controls(super().__str__())


class UsageError(EngineError):
    """The command line was called wrongly (arguments, options, a file it cannot write)."""


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
        return one_line(f"{where}: {self.detail}" if where else self.detail)


class CircularDerivationError(EngineError):
    """Findings derive each other in a circle, so completion is not exact."""


class ConditionSyntaxError(EngineError, ValueError):
    """A condition does not follow the grammar (the loader adds file and line)."""


class ConditionNameError(ConditionSyntaxError):
    """A condition names something the knowledge base does not have, or compares a fact wrongly."""


class SealError(KnowledgeBaseError):
    """The files of a knowledge base are not the ones its manifest lists.

    Raised when a listed file is missing, a file is not listed, a file's
    content changed since ``spasm-advisor rules seal`` wrote the manifest,
    or there is no manifest. Load with ``sealed=False`` (``--unsealed``)
    while authoring; reseal when the change is intended.

    Attributes:
        problem: ``missing``, ``extra``, ``changed`` or ``unsealed``.
    """

    def __init__(self, detail: str, *, path: str, problem: str) -> None:
        self.problem = problem
        super().__init__(detail, path=path)

    def _format(self) -> str:
        # Reads as a sentence about the file: "rules/x.yaml is missing; ...".
        return one_line(f"{self.path} {self.detail}")


@dataclass(frozen=True, slots=True)
class CaseProblem:
    """One thing wrong with a case: the field, the value given and what was expected."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


class CaseError(EngineError, ValueError):
    """A case cannot be read, or does not fit the knowledge base's fact vocabulary.

    All problems are collected before raising, so one error names every
    field that is wrong. ``problems`` holds them one by one; ``source`` and
    ``line`` say where, when known (the message starts ``source:line:``).
    """

    def __init__(self, problems: Sequence[CaseProblem], *, source: str | None = None, line: int | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        self.line = line
        listed = [p.message for p in self.problems[:MAX_LISTED_PROBLEMS]]
        if len(self.problems) > MAX_LISTED_PROBLEMS:
            listed.append(f"and {len(self.problems) - MAX_LISTED_PROBLEMS:,} more problems")
        text = "; ".join(listed) or "invalid case"
        where = source if source is None or line is None else f"{source}:{line}"
        super().__init__(one_line(f"{where}: {text}" if where else text))

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the fields that are wrong, in the order found."""
        return tuple(p.field for p in self.problems)


class JSONContentError(EngineError, ValueError):
    """A JSON document that parses but is not acceptable (duplicate key, NaN, huge number)."""


class AnswerError(EngineError, ValueError):
    """An answer that does not fit the question; the message says what is expected."""


class CellError(EngineError, ValueError):
    """A CSV cell that is not a value of its column's fact (the message names the column)."""


class BatchError(EngineError):
    """A batch cannot run or cannot go on.

    Unreadable input, a bad CSV header, an output ``resume`` cannot continue
    (with the reason), or an output that cannot be written.
    """


class FhirResourceError(EngineError, ValueError):
    """A FHIR resource that does not parse; ``field`` names where (``prefetch.patient.birthDate``)."""

    def __init__(self, field: str, message: str, expected: str) -> None:
        self.field = field
        self.expected = expected
        super().__init__(f"{field}: {message}")


class NotARegularFileError(EngineError, OSError):
    """A path to read names a folder, a FIFO, a socket or a device, not a regular file.

    Attributes:
        kind: what it is instead, in words (``a FIFO (named pipe)``).
    """

    def __init__(self, kind: str) -> None:
        super().__init__(f"it is {kind}, not a regular file")
        self.kind = kind
        self.strerror = f"it is {kind}, not a regular file"


class FeedbackError(EngineError):
    """The service's feedback database cannot be opened, read or written."""


class ApiError(EngineError):
    """An HTTP error of the service: a status and a body naming each field and what was expected."""

    def __init__(
        self, status: int, title: str, errors: list[dict[str, str]], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The JSON body: ``{"status", "title", "errors": [{"field", "message", "expected"}]}``."""
        return {"status": self.status, "title": self.title, "errors": self.errors}


class UnknownRegionError(EngineError, ValueError):
    """A region was asked for that the knowledge base does not define (``knowledge/regions.yaml``)."""


class DependencyError(EngineError, ImportError):
    """A dependency is missing or not the release the package is built on; the message says what to install."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

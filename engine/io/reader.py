"""The case reader: JSON or YAML, from bytes, text, a file or a stream, to a mapping of fact names to values.

This is the one reader of cases. ``assess``, ``explain`` and ``why-not``
read case files and standard input with it, ``batch`` reads each JSON Lines
record with it, the interview's saved files are read back with it, and a
service hands it a request body with :func:`parse_case_text`. It reads a
case exactly as documented:

* **JSON** (RFC 8259): ``NaN``, ``Infinity``, integers of more than
  100 digits, duplicate keys and nesting deeper than :data:`MAX_CASE_DEPTH`
  levels are errors naming the line and the field.
* **YAML** by the YAML 1.2 core schema (see :mod:`spasm_advisor.kb.yamlfile`):
  only ``true``/``false`` are booleans, so ``yes`` or ``on`` is text and
  ``1:30`` is text, and the fact's validation then names the field and what
  it expects. Duplicate keys, aliases and more than :data:`MAX_CASE_NODES`
  values are errors with their line.
* The document must be a mapping ("a case must be a mapping of fact names
  to values"); it is at most :data:`MAX_CASE_BYTES` bytes of UTF-8 (a byte
  order mark at the start is allowed); empty input and binary data are
  named as such.
* A case file must be a regular file: a FIFO, a device or a folder is
  refused before anything is read, so nothing blocks (``-`` reads standard
  input instead); a missing file and an empty path are named.

Every problem is a :class:`~spasm_advisor.errors.CaseError` whose ``source``
and ``line`` say where (the message starts ``source:line:``) and whose
problem's ``field`` names the field when there is one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, overload

from spasm_advisor._regular_file import read_regular_file
from spasm_advisor.errors import (
    CaseError,
    CaseProblem,
    JSONContentError,
    KnowledgeBaseError,
    NotARegularFileError,
    brief,
    kind_of,
)
from spasm_advisor.kb.yamlfile import SCHEMA_CORE, load_yaml_text

__all__ = [
    "MAX_CASE_BYTES",
    "MAX_CASE_DEPTH",
    "MAX_CASE_NODES",
    "SYNTAXES",
    "parse_case_text",
    "read_case_file",
    "read_case_stream",
]

#: Largest case accepted, in bytes.
MAX_CASE_BYTES = 1_000_000
#: Most YAML values in a case.
MAX_CASE_NODES = 20_000
#: Deepest nesting in a case, the case's own mapping counting as the first level (a valid case has depth 1).
MAX_CASE_DEPTH = 32
#: How :func:`parse_case_text` may read its input: JSON or YAML as the text looks, JSON only, YAML only.
SYNTAXES = ("auto", "json", "yaml")
# Longest integer literal read from JSON (ages and days have a handful of digits).
_MAX_DIGITS = 100
_STDIN_HINT = "give a case file, or '-' to read standard input"


def _reject_constant(name: str) -> Any:
    raise JSONContentError(f"{name} is not a valid value")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise JSONContentError(f"a number with {len(text.lstrip('-')):,} digits is too long")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # only then look for the key that came twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONContentError(f"duplicate key {_quoted(key)}")
            seen.add(key)
    return result


def _quoted(key: str) -> str:
    return "'" + (key if len(key) <= 60 else key[:57] + "...") + "'"


def _fail(source: str | None, message: str, *, line: int | None = None, field: str = "") -> CaseError:
    return CaseError([CaseProblem(field, message)], source=source, line=line)


# --- locating a JSON problem --------------------------------------------------
#
# json.loads reports a syntax error's position but not which value its hooks
# refused, so when a hook refuses one the text is scanned once more, token by
# token, for the first problem in document order: its line, the path of the
# field it is in, and what it is. Valid cases never pay for this.

_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
      ("[^"\\]*(?:\\.[^"\\]*)*")              # 1 string
    | ([\[{])                                 # 2 open
    | ([\]}])                                 # 3 close
    | (,)                                     # 4 comma
    | (:)                                     # 5 colon
    | (-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)  # 6 number
    | (-?[A-Za-z]+)                           # 7 word: true, false, null, NaN, Infinity
    )""",
    re.VERBOSE,
)


@dataclass
class _Container:
    path: tuple[str | int, ...]
    is_object: bool
    key: str = ""
    index: int = 0
    expect_key: bool = True
    keys: dict[str, int] = field(default_factory=dict)

    def child(self) -> tuple[str | int, ...]:
        return (*self.path, self.key if self.is_object else self.index)


@dataclass(frozen=True)
class _Located:
    line: int
    path: tuple[str | int, ...]
    message: str | None  # None: no problem found before the stop position


def _path_text(path: tuple[str | int, ...]) -> str:
    """``age``, ``a.b[2]``: the field a value is in, its first four steps at most."""
    text = ""
    for step in path[:4]:
        name = step if isinstance(step, int) or len(step) <= 40 else step[:37] + "..."
        text += f"[{name}]" if isinstance(name, int) else (f".{name}" if text else name)
    return text + ("..." if len(path) > 4 else "")


def _locate(text: str, stop: int | None = None) -> _Located:
    """The first problem in JSON text (or, with ``stop``, the line and field at that offset)."""
    stack: list[_Container] = []
    pos, line, counted = 0, 1, 0
    while (match := _TOKEN.match(text, pos)) is not None:
        kind = match.lastindex or 0
        start = match.start(kind)
        if stop is not None and start >= stop:
            break
        line += text.count("\n", counted, start)
        counted = start
        token = match.group(kind)
        top = stack[-1] if stack else None
        here = top.child() if top is not None else ()
        if kind == 1 and top is not None and top.is_object and top.expect_key:
            try:
                key = json.loads(token)
            except ValueError:
                break
            if key in top.keys:
                first = top.keys[key]
                return _Located(line, (*top.path, key), f"duplicate key {_quoted(key)} (first at line {first})")
            top.keys[key], top.key, top.expect_key = line, key, False
        elif kind == 2:
            if len(stack) >= MAX_CASE_DEPTH:
                return _Located(line, here, f"nested too deeply (the limit is {MAX_CASE_DEPTH} levels)")
            stack.append(_Container(here, token == "{"))
        elif kind == 3 and stack:
            stack.pop()
        elif kind == 4 and top is not None:
            if top.is_object:
                top.expect_key = True
            else:
                top.index += 1
        elif kind == 6 and not re.search(r"[.eE]", token) and len(token.lstrip("-")) > _MAX_DIGITS:
            return _Located(line, here, f"a number with {len(token.lstrip('-')):,} digits is too long")
        elif kind == 7 and token in ("NaN", "Infinity", "-Infinity"):
            return _Located(line, here, f"{token} is not a valid value")
        pos = match.end()
    if stop is not None:
        line += text.count("\n", counted, stop)
    top = stack[-1] if stack else None
    inside_value = top is not None and (not top.is_object or not top.expect_key)
    return _Located(line, top.child() if top is not None and inside_value else (), None)


def _depth(value: object) -> int:
    """How deeply lists and mappings nest in ``value`` (a scalar is 0), level by level, without recursion.

    ``value`` comes from ``json.loads``, so its containers are plain ``dict`` and ``list``.
    """
    level = [value] if type(value) is dict or type(value) is list else []
    deepest = 0
    while level:
        deepest += 1
        if deepest > MAX_CASE_DEPTH:
            return deepest
        below: list[Any] = []
        for item in level:
            children = item.values() if type(item) is dict else item
            below += [c for c in children if type(c) is dict or type(c) is list]
        level = below
    return deepest


def _json_error(source: str | None, found: _Located, fallback: str) -> CaseError:
    where = _path_text(found.path)
    message = f"invalid JSON: {found.message or fallback}"
    return _fail(source, f"{where}: {message}" if where else message, line=found.line, field=where)


def _parse_json(text: str, source: str | None) -> tuple[Any, CaseError | None]:
    """``(data, None)``; or ``(None, error)`` when the text is not JSON at all (the caller may try YAML).

    Raises:
        CaseError: for JSON that parses but is not acceptable (NaN, a huge number, a duplicate key, deep nesting).
    """
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        found = _locate(text, stop=exc.pos)
        where = _path_text(found.path)
        message = f"invalid JSON: {exc.msg} (column {exc.colno})"
        return None, _fail(source, f"{where}: {message}" if where else message, line=exc.lineno, field=where)
    except (JSONContentError, RecursionError, ValueError) as exc:
        fallback = "nested too deeply" if isinstance(exc, RecursionError) else str(exc) or "unreadable value"
        raise _json_error(source, _locate(text), fallback) from None
    if _depth(data) > MAX_CASE_DEPTH:
        raise _json_error(source, _locate(text), f"nested too deeply (the limit is {MAX_CASE_DEPTH} levels)")
    return data, None


def _parse_yaml(text: str, source: str | None) -> Any:
    try:
        return load_yaml_text(
            text, source or "<case>", max_nodes=MAX_CASE_NODES, max_depth=MAX_CASE_DEPTH, schema=SCHEMA_CORE
        )
    except KnowledgeBaseError as exc:
        raise _fail(source, exc.detail, line=exc.line) from exc


@overload
def parse_case_text(
    data: bytes | str,
    source: str | None = None,
    *,
    syntax: str = "auto",
    max_bytes: int = MAX_CASE_BYTES,
    mapping: Literal[True] = True,
) -> dict[str, Any]: ...


@overload
def parse_case_text(
    data: bytes | str,
    source: str | None = None,
    *,
    syntax: str = "auto",
    max_bytes: int = MAX_CASE_BYTES,
    mapping: Literal[False],
) -> object: ...


def parse_case_text(
    data: bytes | str,
    source: str | None = None,
    *,
    syntax: str = "auto",
    max_bytes: int = MAX_CASE_BYTES,
    mapping: bool = True,
) -> object:
    """The case in a JSON or YAML document: a mapping of fact names to values, not yet validated.

    Args:
        data: the document, as bytes (UTF-8) or text.
        source: where it came from (a file name, ``<stdin>``), for messages;
            None leaves the location out of the message (the ``line``
            attribute still has it).
        syntax: ``auto`` reads text starting with ``{`` or ``[`` as JSON, and
            as YAML when it is not JSON but is YAML (``{numbness: true}``),
            and anything else as YAML; ``json`` and ``yaml`` read only that.
        max_bytes: the largest document accepted (``batch --max-record-bytes``).
        mapping: refuse a document that is not a mapping (the default); a
            caller that reports the shape as a validation problem (the
            service, with its own status codes) passes False.

    Returns:
        The case: a mapping of fact names to values (any JSON or YAML value with ``mapping=False``).

    Raises:
        CaseError: for empty input, binary data, bytes that are not UTF-8,
            malformed JSON or YAML, NaN/Infinity, duplicate keys, input over
            the size limit, or a document that is not a mapping; with the
            line (and field) where there is one.
    """
    if syntax not in SYNTAXES:
        raise ValueError(f"syntax must be one of {', '.join(SYNTAXES)}, not {syntax!r}")
    if len(data) > max_bytes:
        unit = "bytes" if isinstance(data, bytes) else "characters"
        raise _fail(source, f"the case is {len(data):,} {unit}; the limit is {max_bytes:,}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise _fail(source, "not UTF-8 text (a case is a JSON or YAML mapping)", line=line) from exc
    else:
        text = data
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise _fail(source, "binary data, not a JSON or YAML mapping")
    if not text.strip():
        raise _fail(source, "empty input (a case is a JSON or YAML mapping of fact names to values)")
    looks_json = text.lstrip().startswith(("{", "["))
    if syntax == "yaml" or (syntax == "auto" and not looks_json):
        case = _parse_yaml(text, source)
    else:
        case, not_json = _parse_json(text, source)
        if not_json is not None:
            if syntax == "json":
                raise not_json
            try:  # a YAML flow mapping such as {numbness: true} is fine too
                case = _parse_yaml(text, source)
            except CaseError:
                raise not_json from None
    if mapping and not isinstance(case, Mapping):
        raise _fail(source, f"a case must be a mapping of fact names to values, not {kind_of(case)} ({brief(case)})")
    return case


def read_case_stream(stream: BinaryIO, source: str) -> dict[str, Any]:
    """Read and parse a case from a binary stream (standard input), reading no more than the size limit allows."""
    try:
        data = stream.read(MAX_CASE_BYTES + 1)
    except OSError as exc:
        raise _fail(source, f"cannot read case: {exc.strerror or exc}") from exc
    return parse_case_text(data, source)


def read_case_file(path: str | Path) -> dict[str, Any]:
    """Read and parse a case file: a regular file, never read past the size limit (safe for ``/dev/zero``).

    Raises:
        CaseError: naming the path when it is empty, missing, unreadable or
            not a regular file (a FIFO, a device, a folder), or any problem of
            :func:`parse_case_text`.
    """
    name = str(path)
    if not name:
        raise _fail(None, f"the case file path is empty: {_STDIN_HINT}")
    try:
        data = read_regular_file(path, MAX_CASE_BYTES)
    except NotARegularFileError as exc:
        raise _fail(name, f"cannot read case file: it is {exc.kind}, not a regular file ({_STDIN_HINT})") from exc
    except FileNotFoundError as exc:
        raise _fail(name, "cannot read case file: no such file") from exc
    except OSError as exc:
        raise _fail(name, f"cannot read case file: {exc.strerror or exc}") from exc
    return parse_case_text(data, name)

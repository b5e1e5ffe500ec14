"""Reading case files: JSON or YAML, from a path or standard input.

A case is small (a few dozen facts), so the limits are tight: at most
:data:`MAX_CASE_BYTES` bytes, :data:`MAX_CASE_NODES` YAML values and
:data:`MAX_CASE_DEPTH` levels of nesting. Anything that is not a JSON or YAML
document (empty input, binary data, bytes that are not UTF-8, NaN or
Infinity, duplicate keys, numbers too long to read) is a
:class:`~spasm_advisor.errors.CaseError` naming the source and, where known, the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

from spasm_advisor.errors import CaseError, CaseProblem, JSONContentError, KnowledgeBaseError
from spasm_advisor.kb.yamlfile import load_yaml_text

__all__ = [
    "MAX_CASE_BYTES",
    "MAX_CASE_DEPTH",
    "MAX_CASE_NODES",
    "parse_case_text",
    "read_case_file",
    "read_case_stream",
]

#: Largest case accepted, in bytes.
MAX_CASE_BYTES = 1_000_000
#: Most YAML values in a case.
MAX_CASE_NODES = 20_000
#: Deepest nesting in a YAML case (a valid case has depth 2).
MAX_CASE_DEPTH = 32
# Longest integer literal read from JSON (ages and days have a handful of digits).
_MAX_DIGITS = 100


def _reject_constant(name: str) -> Any:
    raise JSONContentError(f"{name} is not a valid value")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise JSONContentError(f"a number with {len(text.lstrip('-')):,} digits is too long")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = key if len(key) <= 60 else key[:57] + "..."
            raise JSONContentError(f"duplicate key '{shown}'")
        result[key] = value
    return result


def _fail(source: str, message: str) -> CaseError:
    return CaseError([CaseProblem("", message)], source=source)


def parse_case_text(data: bytes, source: str) -> object:
    """Parse the bytes of a case file (JSON, or YAML) into plain data.

    Text starting with ``{`` or ``[`` is read as JSON; if it is not valid
    JSON but is valid YAML (``{numbness: true}``), the YAML reading is used,
    otherwise the JSON error is reported.

    Raises:
        CaseError: for empty input, binary garbage, non-UTF-8 bytes, malformed
            JSON or YAML, NaN/Infinity, duplicate keys, or a file over the size limit.
    """
    if len(data) > MAX_CASE_BYTES:
        raise _fail(source, f"the case is {len(data):,} bytes; the limit is {MAX_CASE_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _fail(f"{source}:{line}", "not UTF-8 text (a case is a JSON or YAML mapping)") from exc
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise _fail(source, "binary data, not a JSON or YAML mapping")
    if not text.strip():
        raise _fail(source, "empty input (a case is a JSON or YAML mapping of fact names to values)")
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(
                text, parse_constant=_reject_constant, parse_int=_parse_int, object_pairs_hook=_unique_keys
            )
        except JSONContentError as exc:
            raise _fail(source, f"invalid JSON: {exc}") from exc
        except json.JSONDecodeError as exc:
            json_error = _fail(f"{source}:{exc.lineno}", f"invalid JSON: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            detail = "nested too deeply" if isinstance(exc, RecursionError) else "unreadable value"
            raise _fail(source, f"invalid JSON: {detail}") from exc
        try:  # a YAML flow mapping such as {numbness: true} is fine too
            return load_yaml_text(text, source, max_nodes=MAX_CASE_NODES, max_depth=MAX_CASE_DEPTH)
        except KnowledgeBaseError:
            raise json_error from None
    try:
        return load_yaml_text(text, source, max_nodes=MAX_CASE_NODES, max_depth=MAX_CASE_DEPTH)
    except KnowledgeBaseError as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise _fail(where, exc.detail) from exc


def read_case_stream(stream: BinaryIO, source: str) -> object:
    """Read and parse a case from a binary stream, reading no more than the size limit allows."""
    try:
        data = stream.read(MAX_CASE_BYTES + 1)
    except OSError as exc:
        raise _fail(source, f"cannot read case: {exc.strerror or exc}") from exc
    return parse_case_text(data, source)


def read_case_file(path: str | Path) -> object:
    """Read and parse a case file, never reading more than the size limit (safe for ``/dev/zero``)."""
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            return read_case_stream(handle, name)
    except OSError as exc:
        raise _fail(name, f"cannot read case file: {exc.strerror or exc}") from exc

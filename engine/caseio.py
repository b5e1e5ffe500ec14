"""Reading case files: JSON or YAML, from a path or standard input."""

from __future__ import annotations

import json
from typing import Any

from .errors import CaseError, CaseProblem, KnowledgeBaseError
from .yamlfile import MAX_FILE_BYTES, load_yaml_text

__all__ = ["parse_case_text"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid value")


def parse_case_text(data: bytes, source: str) -> object:
    """Parse the bytes of a case file (JSON, or YAML) into plain data.

    Raises:
        CaseError: for empty input, binary garbage, non-UTF-8 bytes, malformed
            JSON or YAML, NaN/Infinity, or a file over the size limit.
    """

    def fail(message: str) -> CaseError:
        return CaseError([CaseProblem("", message)], source=source)

    if len(data) > MAX_FILE_BYTES:
        raise fail(f"the case is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail("not UTF-8 text (a case is a JSON or YAML mapping)") from exc
    if "\x00" in text:
        raise fail("binary data, not a JSON or YAML mapping")
    if not text.strip():
        raise fail("empty input (a case is a JSON or YAML mapping of fact names to values)")
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            where = f"line {exc.lineno}: " if isinstance(exc, json.JSONDecodeError) else ""
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise fail(f"{where}invalid JSON: {detail}") from exc
        except RecursionError as exc:
            raise fail("invalid JSON: nested too deeply") from exc
    try:
        return load_yaml_text(text, source)
    except KnowledgeBaseError as exc:
        raise CaseError([CaseProblem("", exc.detail)], source=f"{source}:{exc.line}" if exc.line else source) from exc

"""Safe, located YAML reading for knowledge-base and case files.

Only YAML's safe subset is read. On top of ``yaml.SafeLoader`` this rejects
what a knowledge base never needs and an attacker could use: aliases (the
"billion laughs" bomb), duplicate keys (the second silently wins in PyYAML),
files over a size limit, and bytes that are not UTF-8. Mappings and lists
come back as :class:`LocatedDict` / :class:`LocatedList`, which remember the
line they start on so that later errors can name it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import KnowledgeBaseError

__all__ = ["MAX_FILE_BYTES", "LocatedDict", "LocatedList", "line_of", "load_yaml_text", "read_yaml_file"]

MAX_FILE_BYTES = 2_000_000


class LocatedDict(dict[str, Any]):
    """A mapping that knows its 1-based starting line and each key's line."""

    line: int = 0
    key_lines: dict[str, int]


class LocatedList(list[Any]):
    """A list that knows its 1-based starting line and each item's line."""

    line: int = 0
    item_lines: list[int]


def line_of(value: object, default: int | None = None) -> int | None:
    """The line a located mapping or list starts on, else ``default``."""
    line = getattr(value, "line", 0)
    return line if line else default


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases or duplicate keys, building located containers."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed", problem_mark=event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_located_mapping(self, node: yaml.MappingNode) -> LocatedDict:
        self.flatten_mapping(node)
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise yaml.MarkedYAMLError(
                    problem=f"keys must be strings, not {type(key).__name__} ({key!r})",
                    problem_mark=key_node.start_mark,
                )
            if key in result:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_located_sequence(self, node: yaml.SequenceNode) -> LocatedList:
        result = LocatedList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_located_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_located_sequence)


def load_yaml_text(text: str, path: str) -> Any:
    """Parse YAML text safely; errors become :class:`KnowledgeBaseError` with file:line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (_Loader derives from SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise KnowledgeBaseError(f"invalid YAML: {problem}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"invalid YAML: {exc}", path=path) from exc
    except RecursionError as exc:
        raise KnowledgeBaseError("invalid YAML: nested too deeply", path=path) from exc


def decode(data: bytes, path: str) -> str:
    """Decode bytes as UTF-8 or fail with a message naming the file."""
    if len(data) > MAX_FILE_BYTES:
        raise KnowledgeBaseError(
            f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}", path=path
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise KnowledgeBaseError("not UTF-8 text", path=path, line=line) from exc


def read_yaml_file(path: Path, display: str | None = None) -> Any:
    """Read and parse one YAML file from disk."""
    name = display or str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read file: {exc.strerror}", path=name) from exc
    return load_yaml_text(decode(data, name), name)

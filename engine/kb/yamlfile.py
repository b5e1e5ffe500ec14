"""Safe, located YAML reading for knowledge-base and case files.

Only YAML's safe subset is read. On top of ``yaml.SafeLoader`` this rejects
what a knowledge base never needs and an attacker could use: aliases (the
"billion laughs" bomb), duplicate keys (the second silently wins in PyYAML),
files over a size limit, documents with more than :data:`MAX_NODES` values
or nested deeper than :data:`MAX_DEPTH` levels (bounded time and stack), and
bytes that are not UTF-8. Scalars PyYAML cannot construct (``2020-13-45``,
``!!int abc``, a 5,000-digit number) and characters YAML forbids are
reported like any other syntax error. Every failure is a
:class:`~spasm_advisor.errors.KnowledgeBaseError` with file and line. Mappings and
lists come back as :class:`LocatedDict` / :class:`LocatedList`, which
remember the line they start on so that later errors can name it.

Plain scalars are typed by one of two schemas. Knowledge-base files keep
PyYAML's YAML 1.1 rules (``SCHEMA_YAML11``). Case files use the YAML 1.2
core schema (``SCHEMA_CORE``), so a case means what the documentation says:
only ``true``/``false`` are booleans (``yes``, ``no``, ``on`` and ``off``
are text), ``1:30`` is text rather than the sexagesimal 90, ``012`` is
twelve, ``2020-01-01`` is text rather than a date, and ``<<`` is an ordinary
key rather than a merge. Explicit tags (``!!binary``, ``!!timestamp``) still
build their values.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from spasm_advisor.errors import KnowledgeBaseError, brief

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "SCHEMA_CORE",
    "SCHEMA_YAML11",
    "LocatedDict",
    "LocatedList",
    "line_of",
    "load_yaml_text",
    "read_yaml_file",
]

#: Largest file read, in bytes.
MAX_FILE_BYTES = 2_000_000
#: Most values (scalars, mappings and lists) in one document.
MAX_NODES = 100_000
#: Deepest nesting of mappings and lists in one document.
MAX_DEPTH = 64
#: The YAML 1.2 core schema: how case files are read.
SCHEMA_CORE = "core"
#: PyYAML's YAML 1.1 implicit types: how knowledge-base files are read.
SCHEMA_YAML11 = "yaml1.1"

# Exceptions PyYAML's constructors raise for values they cannot build.
_CONSTRUCT_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)


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
    """SafeLoader without aliases or duplicate keys, with size limits, building located containers."""

    max_nodes = MAX_NODES
    max_depth = MAX_DEPTH
    _nodes = 0
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed", problem_mark=mark)
        self._nodes += 1
        if self._nodes > self.max_nodes:
            raise yaml.MarkedYAMLError(problem=f"too many values (the limit is {self.max_nodes:,})", problem_mark=mark)
        if self._depth >= self.max_depth:
            raise yaml.MarkedYAMLError(
                problem=f"nested too deeply (the limit is {self.max_depth} levels)",
                problem_mark=mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except _CONSTRUCT_ERRORS as exc:
            kind = str(node.tag).rsplit(":", 1)[-1]
            detail = str(exc)
            if "sys.set_int_max_str_digits" in detail:
                detail = "too many digits"
            elif not (kind == "timestamp" and isinstance(exc, ValueError)) or len(detail) > 80:
                detail = ""  # the library's own wording would only confuse
            value = brief(node.value) if isinstance(node, yaml.ScalarNode) else f"this {kind}"
            problem = f"cannot read {value} as {'a' if kind[:1] not in 'aeiou' else 'an'} {kind}"
            raise yaml.MarkedYAMLError(
                problem=problem + (f" ({detail})" if detail else ""), problem_mark=node.start_mark
            ) from exc

    def construct_located_mapping(self, node: yaml.MappingNode) -> LocatedDict:
        self.flatten_mapping(node)
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                names = {LocatedDict: "mapping", LocatedList: "list", type(None): "null"}
                kind = names.get(type(key), type(key).__name__)
                raise yaml.MarkedYAMLError(
                    problem=f"keys must be strings, not {kind} ({brief(key)})",
                    problem_mark=key_node.start_mark,
                )
            if key in result:
                raise yaml.MarkedYAMLError(problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark)
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

_TAG = "tag:yaml.org,2002:"
# The YAML 1.2 core schema's plain scalars (YAML 1.2.2, section 10.3.2), with
# the first characters each can start with, as PyYAML's resolver wants them.
_CORE_TYPES = (
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+0123456789."),
    ),
)


class _CoreLoader(_Loader):
    """_Loader typing plain scalars by the YAML 1.2 core schema instead of YAML 1.1."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012  (PyYAML's layout)

    def construct_core_bool(self, node: yaml.ScalarNode) -> bool:
        value = self.construct_scalar(node)
        if value not in ("true", "True", "TRUE", "false", "False", "FALSE"):
            raise ValueError("not true or false")
        return value.lower() == "true"

    def construct_core_int(self, node: yaml.ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        if not re.fullmatch(r"[-+]?[0-9]+", value):
            raise ValueError("not an integer")
        return int(value)  # decimal even with leading zeros: 012 is twelve

    def construct_core_float(self, node: yaml.ScalarNode) -> float:
        value = str(self.construct_scalar(node))
        special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
        if value.lower() in special:
            return special[value.lower()]
        if "_" in value:
            raise ValueError("not a number")
        return float(value)


for _name, _pattern, _first in _CORE_TYPES:
    _CoreLoader.add_implicit_resolver(_TAG + _name, re.compile(f"^(?:{_pattern})$"), _first)
_CoreLoader.add_constructor(_TAG + "bool", _CoreLoader.construct_core_bool)
_CoreLoader.add_constructor(_TAG + "int", _CoreLoader.construct_core_int)
_CoreLoader.add_constructor(_TAG + "float", _CoreLoader.construct_core_float)

# libyaml's parser, when PyYAML was built with it.
_CParser: Any = getattr(yaml, "CParser", None) or getattr(getattr(yaml, "cyaml", None), "CParser", None)


def _fast(base: type[_Loader]) -> Any:
    """``base`` over libyaml's scanner and parser: the same nodes and checks, about five times faster.

    libyaml would also compose the nodes itself, skipping _Loader's alias,
    size and depth checks, so composing stays with PyYAML's composer.
    """
    if _CParser is None:
        return None

    def __init__(self: Any, stream: str) -> None:
        _CParser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)

    namespace = {
        "check_node": yaml.composer.Composer.check_node,
        "get_node": yaml.composer.Composer.get_node,
        "get_single_node": yaml.composer.Composer.get_single_node,
        "__init__": __init__,
        "__doc__": _fast.__doc__,
    }
    return type(f"_Fast{base.__name__.lstrip('_')}", (_CParser, base), namespace)


_LOADERS: dict[str, tuple[type[_Loader], Any]] = {
    SCHEMA_YAML11: (_Loader, _fast(_Loader)),
    SCHEMA_CORE: (_CoreLoader, _fast(_CoreLoader)),
}


def _load_fast(text: str, max_nodes: int, max_depth: int, fast_loader: Any) -> tuple[bool, Any]:
    """``(True, data)`` if libyaml reads ``text`` without any problem, else ``(False, None)``.

    Whatever it cannot read, or reads only with a problem, goes to the pure
    Python loader, whose messages are the ones users see: errors are reported
    exactly as without libyaml.
    """
    if fast_loader is None or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return False, None
    loader = fast_loader(text)
    loader.max_nodes, loader.max_depth = max_nodes, max_depth
    try:
        return True, loader.get_single_data()
    except Exception:  # reported by the pure Python loader below
        return False, None
    finally:
        loader.dispose()


def load_yaml_text(
    text: str,
    path: str,
    *,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
    schema: str = SCHEMA_YAML11,
) -> Any:
    """Parse YAML text safely; errors become :class:`KnowledgeBaseError` with file:line.

    ``max_nodes`` and ``max_depth`` bound the work one document can cause;
    ``schema`` (:data:`SCHEMA_YAML11` or :data:`SCHEMA_CORE`) types plain scalars.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    loader_class, fast_loader = _LOADERS[schema]
    done, data = _load_fast(text, max_nodes, max_depth, fast_loader)
    if done:
        return data
    loader: _Loader | None = None
    try:
        loader = loader_class(text)  # checks for forbidden characters
        loader.max_nodes, loader.max_depth = max_nodes, max_depth
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        if problem.startswith("but ") and exc.context:
            problem = f"{exc.context}, {problem}"
        raise KnowledgeBaseError(f"invalid YAML: {problem}", path=path, line=line) from exc
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise KnowledgeBaseError(
            f"invalid YAML: character U+{exc.character:04X} is not allowed in YAML text"
            if isinstance(exc.character, int)
            else f"invalid YAML: {exc.reason}",
            path=path,
            line=line,
        ) from exc
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"invalid YAML: {brief(str(exc), 200)}", path=path) from exc
    except RecursionError as exc:
        raise KnowledgeBaseError("invalid YAML: nested too deeply", path=path) from exc
    except _CONSTRUCT_ERRORS as exc:  # anything PyYAML lets escape outside a constructor
        raise KnowledgeBaseError(f"invalid YAML: {brief(str(exc), 120)}", path=path) from exc
    finally:
        if loader is not None:
            loader.dispose()


def decode(data: bytes, path: str) -> str:
    """Decode bytes as UTF-8 or fail with a message naming the file."""
    if len(data) > MAX_FILE_BYTES:
        raise KnowledgeBaseError(f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}", path=path)
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

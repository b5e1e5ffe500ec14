"""What the README and docs/ name exists: every import path, every dotted name, every file of the repository."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest
from locations import REPO

DOCUMENTS = [REPO / "README.md", REPO / "tests" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_PROMPT = r"(?:>>> |\.\.\. )?"

_FROM_IMPORT = re.compile(
    r"^\s*" + _PROMPT + r"from (spasm_advisor(?:\.\w+)*) import \(?([\w, ]+)\)?\s*(?:#.*)?$", re.M
)
_IMPORT = re.compile(r"^\s*" + _PROMPT + r"import (spasm_advisor(?:\.\w+)*)\s*(?:#.*)?$", re.M)
_DOTTED = re.compile(r"`(spasm_advisor(?:\.\w+)+)`")
# A path segment written in capitals (NAME, CASE.yaml) stands for any file of that kind.
_PLACEHOLDER = re.compile(r"[A-Z][A-Z_]*(?:\.\w+)?")
_PATH = re.compile(r"`((?:engine|tests|rules|knowledge|scripts|benchmarks|examples|docs)/[\w./-]*)`")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _documented(pattern: re.Pattern[str]) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for document in DOCUMENTS:
        if document.exists():
            for match in pattern.finditer(_text(document)):
                found.append((document.relative_to(REPO).as_posix(), match.groups()))
    return list(dict.fromkeys(found))


def _resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then look up the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            value = getattr(value, name)
        return value
    raise ModuleNotFoundError(dotted)


IMPORTS = _documented(_FROM_IMPORT) + [(doc, (module, "")) for doc, (module,) in _documented(_IMPORT)]
DOTTED = _documented(_DOTTED)
PATHS = _documented(_PATH)


def test_the_documents_name_import_paths():
    """The documents name the library's imports (so the tests below test something)."""
    assert any(module == "spasm_advisor" for _, (module, _) in IMPORTS)
    assert len(IMPORTS) >= 3


@pytest.mark.parametrize(("document", "statement"), IMPORTS, ids=[f"{d}:{m[0]}" for d, m in IMPORTS])
def test_every_documented_import_works(document, statement):
    """``from spasm_advisor... import ...`` and ``import spasm_advisor...`` in the docs import what they name."""
    module_name, names = statement
    module = importlib.import_module(module_name)
    for name in filter(None, (n.strip().split(" as ")[0] for n in names.split(","))):
        assert hasattr(module, name) or importlib.util.find_spec(f"{module_name}.{name}"), (document, name)


@pytest.mark.parametrize(("document", "dotted"), DOTTED, ids=[f"{d}:{m[0]}" for d, m in DOTTED])
def test_every_documented_dotted_name_exists(document, dotted):
    """Every ``spasm_advisor.x.y`` the docs name in code is a module or an attribute of one."""
    _resolve(dotted[0])


@pytest.mark.parametrize(("document", "path"), PATHS, ids=[f"{d}:{m[0]}" for d, m in PATHS])
def test_every_documented_file_exists(document, path):
    """Every repository path the docs name in code (``engine/io/interview.py``, ``tests/unit/``) exists."""
    target = path[0].split("::")[0]
    if not (REPO / target).exists() and any(_PLACEHOLDER.fullmatch(part) for part in target.split("/")):
        pytest.skip(f"{target} stands for any such file")
    assert (REPO / target).exists(), f"{document} names {target}, which does not exist"

"""Clinical case files (``knowledge/cases/*.yaml``): what a clinician expects for a case, as written.

A case file holds ``id``, ``title``, ``basis``, ``case`` (facts, exactly as
``assess`` reads them) and ``expect``: ``triage``, ``recommend`` (must be
given), ``not_recommend`` (must not be given), and optionally ``withheld``,
``findings``, ``warned`` and their ``not_`` forms. This module only reads
them (the hazard log names them when the knowledge base loads); running them
against an engine is :func:`spasm_advisor.analysis.clinical_cases.check_case`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from spasm_advisor.errors import KnowledgeBaseError
from spasm_advisor.kb.conditions import TRIAGE_LEVELS
from spasm_advisor.kb.files import case_files
from spasm_advisor.kb.yamlfile import SCHEMA_CORE, decode, load_yaml_text

__all__ = ["ClinicalCase", "load_clinical_cases"]

_EXPECT_KEYS = (
    "triage",
    "recommend",
    "not_recommend",
    "withheld",
    "not_withheld",
    "findings",
    "not_findings",
    "warned",
    "not_warned",
)


@dataclass(frozen=True, slots=True)
class ClinicalCase:
    """One clinical test case as written."""

    id: str
    title: str
    basis: str
    facts: Mapping[str, Any]
    triage: str | None
    recommend: tuple[str, ...]
    not_recommend: tuple[str, ...]
    withheld: tuple[str, ...]
    findings: tuple[str, ...]
    path: str
    not_withheld: tuple[str, ...] = ()
    not_findings: tuple[str, ...] = ()
    warned: tuple[str, ...] = ()
    not_warned: tuple[str, ...] = ()


def _names(doc: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeBaseError(f"expect.{key} must be a list of ids", path=path, line=getattr(doc, "line", None))
    return tuple(value)


def _parse(data: Any, path: str) -> ClinicalCase:
    if not isinstance(data, Mapping) or data.get("version") != 1:
        raise KnowledgeBaseError("a case file is a mapping starting with 'version: 1'", path=path)
    unknown = set(data) - {"version", "id", "title", "basis", "case", "expect"}
    if unknown:
        raise KnowledgeBaseError(f"unknown key '{sorted(unknown)[0]}' in a case file", path=path)
    expect = data.get("expect")
    if not isinstance(expect, Mapping) or not isinstance(data.get("case"), Mapping):
        raise KnowledgeBaseError("a case file needs a 'case' mapping and an 'expect' mapping", path=path)
    extra = set(expect) - set(_EXPECT_KEYS)
    if extra:
        raise KnowledgeBaseError(
            f"unknown key '{sorted(extra)[0]}' in expect (expected {', '.join(_EXPECT_KEYS)})", path=path
        )
    triage = expect.get("triage")
    if triage is not None and triage not in TRIAGE_LEVELS:
        raise KnowledgeBaseError(f"expect.triage must be one of {', '.join(TRIAGE_LEVELS)}, got {triage!r}", path=path)
    return ClinicalCase(
        id=str(data.get("id", Path(path).stem)),
        title=str(data.get("title", "")),
        basis=str(data.get("basis", "")),
        facts=dict(data["case"]),
        triage=triage,
        recommend=_names(expect, "recommend", path),
        not_recommend=_names(expect, "not_recommend", path),
        withheld=_names(expect, "withheld", path),
        findings=_names(expect, "findings", path),
        path=path,
        not_withheld=_names(expect, "not_withheld", path),
        not_findings=_names(expect, "not_findings", path),
        warned=_names(expect, "warned", path),
        not_warned=_names(expect, "not_warned", path),
    )


def load_clinical_cases(folder: Traversable | Path | str, label: str | None = None) -> list[ClinicalCase]:
    """Read every case file (``*.yaml``, ``*.yml``) in a folder, in name order.

    The folder fails closed like a knowledge base's (see
    :mod:`spasm_advisor.kb.files`): any entry that is not a case file, and not
    ignored (``README*``, hidden files, ``__init__.py``, ``__pycache__``), is
    an error naming it. Case files are YAML read by the 1.2 core schema, as
    ``assess`` reads a case.

    Raises:
        KnowledgeBaseError: naming the file (and line) of the first problem.
    """
    root = Path(folder) if isinstance(folder, str) else folder
    name = label or str(folder)
    if not root.is_dir():
        raise KnowledgeBaseError("not a folder", path=name)
    cases = []
    for file in case_files(root, name):
        data = load_yaml_text(decode(file.read(), file.display), file.display, schema=SCHEMA_CORE)
        cases.append(_parse(data, file.display))
    return cases

"""Which files make up a knowledge base: a walk of its folders that fails closed.

A knowledge base is a rules folder and a knowledge folder. Every entry in
them, and in ``knowledge/cases/``, is one of the files below or an error
naming it; nothing is skipped without a word, because a rule file that is
silently left out withholds nothing:

* ``rules/``: rule files, regular files named ``*.yaml`` or ``*.yml``
  (lowercase), read in name order.
* ``knowledge/``: the files of :data:`KNOWLEDGE_FILES` (required),
  :data:`OPTIONAL_KNOWLEDGE_FILES`, the manifest (:data:`MANIFEST_NAME`, see
  :mod:`spasm_advisor.kb.manifest`) and the folder ``cases/``.
* ``knowledge/cases/``: clinical test cases, ``*.yaml`` or ``*.yml``.

Entries whose names match :data:`IGNORED` are not part of the knowledge
base: notes for people (``README*``), hidden files (``.*``: editors' lock
and swap files, ``.gitkeep``), and what makes the folders Python packages
(``__init__.py``, ``__pycache__``). Anything else is an error: a dangling
symbolic link, a folder, a FIFO, a socket or device, ``RULES.YAML`` (the
suffix is lowercase), a file of another kind, a name with unprintable
characters. Symbolic links to regular files are followed.

A new kind of knowledge file is added to :data:`OPTIONAL_KNOWLEDGE_FILES`
(or :data:`KNOWLEDGE_FILES`) by the code that reads it.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.abc import Traversable
from pathlib import Path

from spasm_advisor._regular_file import file_kind, read_regular_file
from spasm_advisor.errors import KnowledgeBaseError, NotARegularFileError
from spasm_advisor.kb.yamlfile import MAX_FILE_BYTES

__all__ = [
    "CASES_FOLDER",
    "IGNORED",
    "KNOWLEDGE_FILES",
    "MANIFEST_NAME",
    "OPTIONAL_KNOWLEDGE_FILES",
    "KnowledgeBaseFile",
    "KnowledgeBaseFiles",
    "case_files",
    "find_files",
    "is_ignored",
]

#: Names (shell patterns, case-sensitive) that are not part of a knowledge base.
IGNORED: tuple[str, ...] = ("README*", ".*", "__init__.py", "__pycache__")
#: Files every knowledge folder holds (a knowledge base without its hazard log fails to load).
KNOWLEDGE_FILES: tuple[str, ...] = ("facts.yaml", "recommendations.yaml", "sources.yaml", "hazards.yaml")
#: Files a knowledge folder may hold: the invariants, the emergency numbers by region, the service's FHIR mapping.
OPTIONAL_KNOWLEDGE_FILES: tuple[str, ...] = ("invariants.yaml", "regions.yaml", "fhir-mapping.yaml")
#: The manifest: every file of the knowledge base with its SHA-256.
MANIFEST_NAME = "manifest.yaml"
#: The folder of clinical test cases inside the knowledge folder.
CASES_FOLDER = "cases"

_YAML_SUFFIXES = (".yaml", ".yml")


def is_ignored(name: str) -> bool:
    """Whether an entry of that name is left out of the knowledge base (see :data:`IGNORED`)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED)


@dataclass(frozen=True, slots=True)
class KnowledgeBaseFile:
    """One file of a knowledge base.

    Attributes:
        key: its name in the manifest: ``rules/NAME``, ``knowledge/NAME`` or
            ``knowledge/cases/NAME``, whatever the folders are called.
        display: its name in messages (the folder as given, then the file name).
        entry: where to read it.
    """

    key: str
    display: str
    entry: Traversable

    @property
    def name(self) -> str:
        """The file name."""
        return self.entry.name

    def read(self) -> bytes:
        """The file's bytes, refusing more than the size limit and anything but a regular file.

        Raises:
            KnowledgeBaseError: naming the file and why it cannot be read.
        """
        try:
            if isinstance(self.entry, Path):
                data = read_regular_file(self.entry, MAX_FILE_BYTES)
            else:
                with self.entry.open("rb") as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
        except NotARegularFileError as exc:
            raise KnowledgeBaseError(f"{exc.strerror}: expected a YAML file", path=self.display) from exc
        except OSError as exc:
            raise KnowledgeBaseError(f"cannot read file: {exc.strerror or exc}", path=self.display) from exc
        if len(data) > MAX_FILE_BYTES:
            raise KnowledgeBaseError(f"file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}", path=self.display)
        return data


@dataclass(frozen=True, slots=True)
class KnowledgeBaseFiles:
    """The files found in a knowledge base's folders, each checked to be a readable kind."""

    rules: tuple[KnowledgeBaseFile, ...]
    knowledge: tuple[KnowledgeBaseFile, ...]
    cases: tuple[KnowledgeBaseFile, ...]
    manifest: KnowledgeBaseFile | None
    rules_display: str
    knowledge_display: str
    knowledge_root: Traversable

    @property
    def manifest_display(self) -> str:
        """The manifest's name in messages (whether or not it exists)."""
        return f"{self.knowledge_display}/{MANIFEST_NAME}"

    def display(self, key: str) -> str:
        """The name in messages of the file with that manifest key, present or not."""
        if key.startswith("rules/"):
            return f"{self.rules_display}/{key.removeprefix('rules/')}"
        return f"{self.knowledge_display}/{key.removeprefix('knowledge/')}"

    def listed(self) -> tuple[KnowledgeBaseFile, ...]:
        """Every file the manifest lists (all but the manifest itself), in key order."""
        return tuple(sorted((*self.rules, *self.knowledge, *self.cases), key=lambda f: f.key))

    def knowledge_file(self, name: str) -> KnowledgeBaseFile | None:
        """The knowledge file of that name, if present."""
        return next((f for f in self.knowledge if f.name == name), None)


def _entries(folder: Traversable, display: str) -> Iterator[tuple[Traversable, str]]:
    """The entries of a folder in name order, with the kind of each (see :func:`_kind`), ignored ones left out."""
    try:
        entries = sorted(folder.iterdir(), key=lambda e: e.name)
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot list the folder: {exc.strerror or exc}", path=display) from exc
    for entry in entries:
        if not is_ignored(entry.name):
            yield entry, _kind(entry, f"{display}/{entry.name}")


def _kind(entry: Traversable, display: str) -> str:
    """``file`` or ``folder``; anything else raises a KnowledgeBaseError naming the entry."""
    if not entry.name.isprintable():
        raise KnowledgeBaseError("the name holds unprintable characters: rename it", path=display)
    if not isinstance(entry, Path):  # a zip or other resource reader: only files and folders exist
        return "folder" if entry.is_dir() else "file"
    try:
        mode = os.stat(entry).st_mode  # follows symbolic links
    except FileNotFoundError:
        try:
            target = os.readlink(entry)
        except OSError:
            target = None
        if target is not None:
            raise KnowledgeBaseError(
                f"a symbolic link to a missing file ({target}): restore its target or remove the link", path=display
            ) from None
        raise KnowledgeBaseError("disappeared while the folder was read", path=display) from None
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read: {exc.strerror or exc}", path=display) from exc
    if stat.S_ISDIR(mode):
        return "folder"
    if not stat.S_ISREG(mode):
        raise KnowledgeBaseError(f"is {file_kind(mode)}, not a file of the knowledge base", path=display)
    return "file"


def _yaml_files(folder: Traversable, display: str, key_prefix: str, what: str) -> tuple[KnowledgeBaseFile, ...]:
    """The YAML files of a folder that holds nothing else (rules, cases), in name order.

    Raises:
        KnowledgeBaseError: naming the first entry that is not one (a folder,
            another kind of file, ``X.YAML``), unless its name is ignored.
    """
    found = []
    for entry, kind in _entries(folder, display):
        where = f"{display}/{entry.name}"
        if kind == "folder":
            raise KnowledgeBaseError(f"is a folder; {what}s go directly in this folder", path=where)
        if not entry.name.endswith(_YAML_SUFFIXES):
            if entry.name.lower().endswith(_YAML_SUFFIXES):
                raise KnowledgeBaseError(f"{what} names end in lowercase .yaml or .yml: rename it", path=where)
            raise KnowledgeBaseError(
                f"not a {what} (those end in .yaml or .yml): move it out of the folder", path=where
            )
        found.append(KnowledgeBaseFile(f"{key_prefix}/{entry.name}", where, entry))
    return tuple(found)


def case_files(folder: Traversable, display: str, key_prefix: str = "knowledge/cases") -> tuple[KnowledgeBaseFile, ...]:
    """The clinical case files of a folder, failing closed on any other entry.

    Raises:
        KnowledgeBaseError: naming the first entry that is not a case file.
    """
    return _yaml_files(folder, display, key_prefix, "case file")


def find_files(
    rules_root: Traversable, knowledge_root: Traversable, rules_display: str, knowledge_display: str
) -> KnowledgeBaseFiles:
    """Walk a knowledge base's folders: every entry is a file of the knowledge base, ignored, or an error.

    Raises:
        KnowledgeBaseError: naming the first entry that is not a readable
            rule, knowledge or case file, or a required file that is absent.
    """
    for root, display in ((rules_root, rules_display), (knowledge_root, knowledge_display)):
        if not root.is_dir():
            raise KnowledgeBaseError("not a folder", path=display)

    rules = _yaml_files(rules_root, rules_display, "rules", "rule file")
    if not rules:
        raise KnowledgeBaseError("no rule files (*.yaml) found", path=rules_display)

    known = (*KNOWLEDGE_FILES, *OPTIONAL_KNOWLEDGE_FILES)
    knowledge: list[KnowledgeBaseFile] = []
    cases: tuple[KnowledgeBaseFile, ...] = ()
    manifest: KnowledgeBaseFile | None = None
    for entry, kind in _entries(knowledge_root, knowledge_display):
        where = f"{knowledge_display}/{entry.name}"
        if entry.name == CASES_FOLDER and kind == "folder":
            cases = case_files(entry, where)
        elif entry.name == MANIFEST_NAME and kind == "file":
            manifest = KnowledgeBaseFile(f"knowledge/{MANIFEST_NAME}", where, entry)
        elif entry.name in known and kind == "file":
            knowledge.append(KnowledgeBaseFile(f"knowledge/{entry.name}", where, entry))
        else:
            expected = ", ".join((*known, MANIFEST_NAME)) + f" and the folder {CASES_FOLDER}/"
            what = "a folder" if kind == "folder" else "a file"
            raise KnowledgeBaseError(
                f"{what} the knowledge base does not use (a knowledge folder holds {expected}): move it out",
                path=where,
            )
    present = {f.name for f in knowledge}
    for name in KNOWLEDGE_FILES:
        if name not in present:
            raise KnowledgeBaseError("missing file", path=f"{knowledge_display}/{name}")
    return KnowledgeBaseFiles(
        rules=rules,
        knowledge=tuple(knowledge),
        cases=cases,
        manifest=manifest,
        rules_display=rules_display,
        knowledge_display=knowledge_display,
        knowledge_root=knowledge_root,
    )

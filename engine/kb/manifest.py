"""The manifest: the knowledge base declares which files it consists of.

``knowledge/manifest.yaml`` lists every rule, knowledge and case file of the
knowledge base with the SHA-256 of its bytes. ``spasm-advisor rules seal``
writes it (:func:`seal_knowledge_base`); loading a knowledge base checks it
(:func:`check_manifest`), so a file that is missing, one that is not listed
and one whose content changed are each an error naming the file, never a
knowledge base that quietly lacks a rule. Authoring tools load with
``sealed=False`` instead and reseal when the change is done.

The knowledge base's digest (``knowledge_base.digest`` in every assessment)
is the SHA-256 of the manifest exactly as :func:`manifest_text` writes it, so
it names the whole set of files, and ``sha256sum knowledge/manifest.yaml``
gives the same value for a sealed base.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spasm_advisor.errors import KnowledgeBaseError, SealError
from spasm_advisor.kb.files import MANIFEST_NAME, KnowledgeBaseFiles
from spasm_advisor.kb.yamlfile import decode, load_yaml_text

__all__ = [
    "Difference",
    "check_manifest",
    "digest_of",
    "file_hashes",
    "manifest_differences",
    "manifest_text",
    "read_manifest",
    "write_manifest",
]

_HEADER = (
    "# The files of this knowledge base and the SHA-256 of each, written by 'spasm-advisor rules seal'.\n"
    "# Loading checks every file against this list: a missing, extra or changed file is an error.\n"
    "# After changing a rule, knowledge or case file, run 'spasm-advisor rules seal' again.\n"
)
_HEX = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"(?:rules|knowledge|knowledge/cases)/[^/]+")
_RESEAL = "run 'spasm-advisor rules seal'"
_UNSEALED = "load it unsealed while authoring (--unsealed, sealed=False)"


def file_hashes(files: KnowledgeBaseFiles, contents: Mapping[str, bytes]) -> dict[str, str]:
    """The SHA-256 (hex) of every listed file, by manifest key, from the bytes read."""
    return {f.key: hashlib.sha256(contents[f.key]).hexdigest() for f in files.listed()}


def manifest_text(hashes: Mapping[str, str]) -> str:
    """The manifest listing ``hashes`` (manifest key to SHA-256), as ``rules seal`` writes it."""
    lines = [_HEADER, "version: 1\n", "files:\n" if hashes else "files: {}\n"]
    # Keys as JSON strings, which YAML reads back unchanged whatever the file name.
    lines.extend(f"  {json.dumps(key, ensure_ascii=False)}: {hashes[key]}\n" for key in sorted(hashes))
    return "".join(lines)


def digest_of(hashes: Mapping[str, str]) -> str:
    """The knowledge base's digest: ``sha256:`` and the SHA-256 of its manifest text."""
    return "sha256:" + hashlib.sha256(manifest_text(hashes).encode("utf-8")).hexdigest()


def read_manifest(data: bytes, display: str) -> dict[str, str]:
    """The files a manifest lists, manifest key to SHA-256.

    Raises:
        KnowledgeBaseError: naming the manifest and what is wrong in it.
    """
    doc: Any = load_yaml_text(decode(data, display), display)
    if not isinstance(doc, Mapping) or type(doc.get("version")) is not int or doc.get("version") != 1:
        raise KnowledgeBaseError(f"expected 'version: 1' at the top of the manifest; {_RESEAL}", path=display)
    extra = sorted(set(doc) - {"version", "files"})
    if extra:
        raise KnowledgeBaseError(f"unknown key '{extra[0]}' in the manifest", path=display)
    listed = doc.get("files")
    if not isinstance(listed, Mapping):
        raise KnowledgeBaseError(f"'files' must map each file to its SHA-256; {_RESEAL}", path=display)
    for key, value in listed.items():
        line = getattr(listed, "key_lines", {}).get(key)
        if not _KEY.fullmatch(key):
            raise KnowledgeBaseError(
                f"'{key}' is not a file of a knowledge base (rules/NAME, knowledge/NAME or knowledge/cases/NAME)",
                path=display,
                line=line,
            )
        if not isinstance(value, str) or not _HEX.fullmatch(value):
            raise KnowledgeBaseError(f"'{key}' needs a SHA-256: 64 lowercase hex digits", path=display, line=line)
    return dict(listed)


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the files differ from the manifest.

    Attributes:
        problem: ``missing`` (listed, not present), ``extra`` (present, not
            listed), ``changed`` (content differs) or ``unsealed`` (no manifest).
        key: the file's manifest key (the manifest's own for ``unsealed``).
        display: the file's name in messages.
    """

    problem: str
    key: str
    display: str

    def message(self, manifest: str) -> str:
        """The sentence after the file name, saying what to do."""
        if self.problem == "unsealed":
            return f"is missing: the knowledge base is not sealed; {_RESEAL}, or {_UNSEALED}"
        if self.problem == "missing":
            return (
                f"is missing; the knowledge base lists it ({manifest}): restore it, "
                f"or {_RESEAL} if it was removed on purpose"
            )
        if self.problem == "extra":
            return f"is not in the knowledge base's manifest ({manifest}): remove it, or {_RESEAL} to add it"
        return f"has changed since the knowledge base was sealed ({manifest}): review the change, then {_RESEAL}"

    def error(self, manifest: str) -> SealError:
        """This difference as an error."""
        return SealError(self.message(manifest), path=self.display, problem=self.problem)


def manifest_differences(
    files: KnowledgeBaseFiles, hashes: Mapping[str, str], listed: Mapping[str, str] | None
) -> list[Difference]:
    """How the files found differ from the manifest: missing files first, then changed, then extra.

    ``listed`` is the manifest's content, or None when there is no manifest.
    """
    if listed is None:
        return [Difference("unsealed", f"knowledge/{MANIFEST_NAME}", files.manifest_display)]
    missing = sorted(set(listed) - set(hashes))
    changed = sorted(key for key in set(listed) & set(hashes) if listed[key] != hashes[key])
    extra = sorted(set(hashes) - set(listed))
    return [
        *(Difference("missing", key, files.display(key)) for key in missing),
        *(Difference("changed", key, files.display(key)) for key in changed),
        *(Difference("extra", key, files.display(key)) for key in extra),
    ]


def check_manifest(files: KnowledgeBaseFiles, hashes: Mapping[str, str], manifest: bytes | None) -> None:
    """Fail unless the files found are exactly those the manifest lists, with the same content.

    Raises:
        SealError: for the first difference (a missing file before a changed
            one before an extra one), saying how many more there are.
        KnowledgeBaseError: if the manifest itself is malformed.
    """
    listed = None if manifest is None else read_manifest(manifest, files.manifest_display)
    differences = manifest_differences(files, hashes, listed)
    if differences:
        first = differences[0]
        error = first.error(files.manifest_display)
        if len(differences) > 1:
            more = len(differences) - 1
            error = SealError(
                f"{first.message(files.manifest_display)} (and {more} more difference{'s' if more > 1 else ''})",
                path=first.display,
                problem=first.problem,
            )
        raise error


def write_manifest(knowledge_dir: Path, hashes: Mapping[str, str]) -> bool:
    """Write the manifest for ``hashes`` into ``knowledge_dir`` atomically; False if it was already that text.

    Raises:
        KnowledgeBaseError: if the folder cannot be written.
    """
    target = knowledge_dir / MANIFEST_NAME
    text = manifest_text(hashes)
    try:
        if target.is_file() and target.read_bytes() == text.encode("utf-8"):
            return False
        fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.", dir=knowledge_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot write the manifest: {exc.strerror or exc}", path=str(target)) from exc
    return True

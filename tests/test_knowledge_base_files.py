"""The knowledge base fails closed: every entry of its folders is a file of it or an error, and its manifest says which.

Hostile entries (a dangling link, RULES.YAML, a FIFO, a folder, an
unreadable file) are made in a copy of the bundled knowledge base, where
skipping one would withhold nothing: the anticoagulant case below is the
issue's own example.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from cli_runner import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spasm_advisor import Advisor, KnowledgeBaseError, SealError, load_knowledge_base
from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.kb.files import IGNORED, is_ignored
from spasm_advisor.kb.loader import seal_knowledge_base, verify_seal

REPO = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
ANTICOAGULATED = '{"age": 40, "duration_days": 3, "on_anticoagulants": true}'


@pytest.fixture(name="kb")
def _kb(tmp_path: Path) -> Path:
    """A copy of the bundled knowledge base (sealed, with its manifest)."""
    shutil.copytree(REPO / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "knowledge", tmp_path / "knowledge", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _load(kb: Path, *, sealed: bool = True):
    return load_knowledge_base(
        kb / "rules", kb / "knowledge", rules_label="rules", knowledge_label="knowledge", sealed=sealed
    )


def _assess(kb: Path, *extra: str):
    return run(
        "assess", "-", "--rules", str(kb / "rules"), "--knowledge", str(kb / "knowledge"), *extra, stdin=ANTICOAGULATED
    )


def test_copy_loads_and_withholds(kb):
    """The control: the copy loads sealed and withholds the NSAID from an anticoagulated patient."""
    out = _assess(kb, "--json")
    assert out.returncode == 0, out.stderr
    assert '"nsaid_pain_relief"' in out.stdout.split('"withheld"')[1]


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.yaml")


def _uppercase(path: Path) -> None:
    path.rename(path.with_suffix(".YAML"))


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "rules.yaml").write_text("version: 1\nrules: []\n")


def _other_suffix(path: Path) -> None:
    path.rename(path.with_name(path.name + ".bak"))


def _unprintable_name(path: Path) -> None:
    path.rename(path.with_name("contra\x1b[2Jindications.yaml"))


HOSTILE = [
    (_dangling, "rules/contraindications.yaml: a symbolic link to a missing file"),
    (_uppercase, "rules/contraindications.YAML: rule file names end in lowercase .yaml or .yml: rename it"),
    (_folder, "rules/contraindications.yaml: is a folder; rule files go directly in this folder"),
    (_other_suffix, "rules/contraindications.yaml.bak: not a rule file (those end in .yaml or .yml)"),
    (_unprintable_name, "rules/contra\\x1b[2Jindications.yaml: the name holds unprintable characters"),
]
if hasattr(os, "mkfifo"):
    HOSTILE.append((_fifo, "rules/contraindications.yaml: is a FIFO (named pipe), not a file of the knowledge base"))


@pytest.mark.parametrize(("make", "message"), HOSTILE, ids=[m.__name__.strip("_") for m, _ in HOSTILE])
def test_hostile_entry_fails_the_load(kb, make, message):
    """A rule file replaced by a dangling link, RULES.YAML, a folder, a FIFO...: an error naming it, sealed or not."""
    make(kb / "rules" / "contraindications.yaml")
    for sealed in (True, False):
        with pytest.raises(KnowledgeBaseError) as info:
            _load(kb, sealed=sealed)
        assert str(info.value).startswith(message), str(info.value)
    out = _assess(kb)
    assert out.returncode == 2
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1
    assert "\x1b" not in out.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_fails_the_load(kb):
    """A rule file without read permission is named."""
    path = kb / "rules" / "contraindications.yaml"
    path.chmod(0)
    try:
        with pytest.raises(KnowledgeBaseError, match=r"rules/contraindications\.yaml: cannot read file: Permission"):
            _load(kb)
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("folder", ["rules", "knowledge", "knowledge/cases"])
def test_ignored_entries_do_not_count(kb, folder):
    """README*, hidden files, __init__.py and __pycache__ are not part of the knowledge base, anywhere."""
    where = kb / folder
    (where / "README.md").write_text("notes\n")
    (where / ".contraindications.yaml.swp").write_bytes(b"\x00swap")
    (where / ".#lock").symlink_to("/nonexistent/editor-lock")  # emacs' lock files are dangling links
    (where / "__init__.py").write_text('"""Package."""\n')
    (where / "__pycache__").mkdir(exist_ok=True)
    (where / "__pycache__" / "x.pyc").write_bytes(b"\x00")
    assert _load(kb).digest == Advisor.default().knowledge_base.digest
    assert all(is_ignored(name) for name in ("README", "README.txt", ".x", "__init__.py", "__pycache__"))
    assert IGNORED == ("README*", ".*", "__init__.py", "__pycache__")


def test_unknown_knowledge_file_fails(kb):
    """A knowledge file the loader does not read (a second facts file, say) is not quietly ignored."""
    shutil.copyfile(kb / "knowledge" / "facts.yaml", kb / "knowledge" / "more_facts.yaml")
    with pytest.raises(
        KnowledgeBaseError, match=r"^knowledge/more_facts\.yaml: a file the knowledge base does not use"
    ):
        _load(kb, sealed=False)


def test_case_folder_fails_closed(kb):
    """A case file the cases command would skip is an error there too."""
    (kb / "knowledge" / "cases" / "01_desk_worker_acute_spasm_no_red_flags.yaml").rename(
        kb / "knowledge" / "cases" / "01.YAML"
    )
    with pytest.raises(KnowledgeBaseError, match=r"cases/01\.YAML: case file names end in lowercase"):
        load_clinical_cases(kb / "knowledge" / "cases")
    with pytest.raises(KnowledgeBaseError, match=r"cases/01\.YAML"):
        _load(kb)


# --- the manifest ------------------------------------------------------------


def test_missing_rule_file_fails_sealed_load(kb):
    """Deleting a rule file that the manifest lists fails the load with the issue's sentence."""
    (kb / "rules" / "contraindications.yaml").unlink()
    with pytest.raises(SealError) as info:
        _load(kb)
    assert info.value.problem == "missing"
    assert str(info.value).startswith(
        "rules/contraindications.yaml is missing; the knowledge base lists it (knowledge/manifest.yaml): restore it, "
        "or run 'spasm-advisor rules seal' if it was removed on purpose"
    )
    out = _assess(kb)
    assert out.returncode == 2
    assert "rules/contraindications.yaml is missing; the knowledge base lists it" in out.stderr
    # Unsealed (while authoring) the manifest is not read; the hazard log still names the rules it needs.
    unsealed = _assess(kb, "--unsealed")
    assert unsealed.returncode == 2
    assert "hazards.yaml" in unsealed.stderr


def test_missing_case_file_fails_sealed_load(kb):
    """Clinical cases are files of the knowledge base too: one fewer fails the load."""
    (kb / "knowledge" / "cases" / "04_anticoagulated_acute_spasm_no_red_flags.yaml").unlink()
    with pytest.raises(
        SealError, match=r"^knowledge/cases/04_anticoagulated_acute_spasm_no_red_flags\.yaml is missing"
    ):
        _load(kb)


def test_extra_and_changed_files_fail_sealed_load(kb):
    """A file not listed, and a file whose content changed, each fail; unsealed they load."""
    shutil.copyfile(kb / "rules" / "relief.yaml", kb / "rules" / "relief2.yaml")
    text = (kb / "rules" / "relief2.yaml").read_text()
    (kb / "rules" / "relief2.yaml").write_text(text.replace("id: ", "id: copy_of_"))
    with pytest.raises(SealError) as info:
        _load(kb)
    assert info.value.problem == "extra"
    assert str(info.value).startswith("rules/relief2.yaml is not in the knowledge base's manifest")
    (kb / "rules" / "relief2.yaml").unlink()
    path = kb / "rules" / "contraindications.yaml"
    path.write_text(path.read_text().replace("because:", "because: (edited)", 1))
    with pytest.raises(SealError) as info:
        _load(kb)
    assert info.value.problem == "changed"
    assert "rules/contraindications.yaml has changed since the knowledge base was sealed" in str(info.value)
    assert "run 'spasm-advisor rules seal'" in str(info.value)
    assert not _load(kb, sealed=False).sealed


def test_no_manifest_fails_sealed_load(kb):
    """Without a manifest, a sealed load says how to seal or how to load unsealed."""
    (kb / "knowledge" / "manifest.yaml").unlink()
    with pytest.raises(SealError) as info:
        _load(kb)
    assert str(info.value) == (
        "knowledge/manifest.yaml is missing: the knowledge base is not sealed; run 'spasm-advisor rules seal', "
        "or load it unsealed while authoring (--unsealed, sealed=False)"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("version: 2\nfiles: {}\n", "expected 'version: 1'"),
        ("version: 1\nfiles: {rules/x.yaml: abc}\n", "'rules/x.yaml' needs a SHA-256"),
        ("version: 1\nfiles: {../etc/passwd: " + "0" * 64 + "}\n", "is not a file of a knowledge base"),
        ("version: 1\nfiles: {}\nfiles: {}\n", "duplicate key 'files'"),
        ("version: 1\nfiles: {}\nsigned: yes\n", "unknown key 'signed'"),
    ],
)
def test_malformed_manifest(kb, text, fragment):
    """A manifest that is not one is an error naming it."""
    (kb / "knowledge" / "manifest.yaml").write_text(text)
    with pytest.raises(KnowledgeBaseError) as info:
        _load(kb)
    assert str(info.value).startswith("knowledge/manifest.yaml")
    assert fragment in str(info.value)


def test_digest_is_the_manifests(kb):
    """The digest reported in every assessment is the SHA-256 of the manifest, sealed or not."""
    manifest = (kb / "knowledge" / "manifest.yaml").read_bytes()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    assert _load(kb).digest == digest
    assert _load(kb, sealed=False).digest == digest
    assert Advisor.from_paths(kb / "rules", kb / "knowledge").assess({}).to_dict()["knowledge_base"]["digest"] == digest


def test_seal_writes_checks_and_refuses_a_broken_base(kb):
    """rules seal writes the manifest, --check lists differences, a broken base is not sealed."""
    args = ["--rules", str(kb / "rules"), "--knowledge", str(kb / "knowledge")]
    again = run("rules", "seal", *args)
    assert again.returncode == 0, again.stderr
    assert "already up to date" in again.stdout
    (kb / "rules" / "README.md").write_text("ignored\n")
    new_rule = kb / "rules" / "zz_new.yaml"
    new_rule.write_text((kb / "rules" / "relief.yaml").read_text().replace("id: ", "id: zz_"))
    case = kb / "knowledge" / "cases" / "01_desk_worker_acute_spasm_no_red_flags.yaml"
    case.write_text(case.read_text().replace("title: ", "title: (edited) ", 1))
    check = run("rules", "seal", "--check", *args)
    assert check.returncode == 1
    assert check.stdout.splitlines() == [
        f"{case} has changed since the knowledge base was sealed ({kb}/knowledge/manifest.yaml): review the change, "
        "then run 'spasm-advisor rules seal'",
        f"{new_rule} is not in the knowledge base's manifest ({kb}/knowledge/manifest.yaml): remove it, "
        "or run 'spasm-advisor rules seal' to add it",
    ]
    assert "run 'spasm-advisor rules seal'" in check.stderr
    assert _assess(kb).returncode == 2
    sealed = run("rules", "seal", *args)
    assert sealed.returncode == 0
    listed = [
        *(kb / "rules").glob("*.yaml"),
        *(kb / "knowledge").glob("*.yaml"),
        *(kb / "knowledge/cases").glob("*.yaml"),
    ]
    assert sealed.stdout.startswith(f"wrote {kb}/knowledge/manifest.yaml ({len(listed) - 1} files, sha256:")
    assert _assess(kb).returncode == 0
    assert verify_seal(kb / "rules", kb / "knowledge") == []
    before = (kb / "knowledge" / "manifest.yaml").read_bytes()
    new_rule.write_text(new_rule.read_text().replace("when:", "when: [", 1))
    broken = run("rules", "seal", *args)
    assert broken.returncode == 2
    assert "zz_new.yaml:" in broken.stderr
    assert (kb / "knowledge" / "manifest.yaml").read_bytes() == before


def test_seal_library_call(tmp_path):
    """seal_knowledge_base seals a base written by a program, which then loads sealed."""
    shutil.copytree(DATA / "mini", tmp_path / "kb")
    (tmp_path / "kb" / "knowledge" / "manifest.yaml").unlink()
    result = seal_knowledge_base(tmp_path / "kb" / "rules", tmp_path / "kb" / "knowledge")
    assert result.written
    assert result.files == len(list((tmp_path / "kb").glob("*/*.yaml"))) - 1  # all but the manifest
    assert Advisor.from_paths(tmp_path / "kb" / "rules", tmp_path / "kb" / "knowledge").knowledge_base.sealed


@pytest.mark.parametrize(
    ("rules", "knowledge"),
    [(REPO / "rules", REPO / "knowledge"), (DATA / "mini" / "rules", DATA / "mini" / "knowledge")],
    ids=["bundled", "mini"],
)
def test_committed_manifest_matches_the_files(rules, knowledge):
    """The committed manifests list exactly the committed files: a forgotten reseal fails here."""
    differences = verify_seal(rules, knowledge)
    listed = "; ".join(f"{d.display} ({d.problem})" for d in differences)
    assert not differences, (
        f"{knowledge / 'manifest.yaml'} does not match the files: {listed}. After reviewing the change, run "
        f"'spasm-advisor rules seal --rules {rules} --knowledge {knowledge}'"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('title: "Keep moving', 'title: "\\e[2JKeep moving'),
        ('title: "Keep moving', 'title: "Keep \\u009b31m moving'),
    ],
)
def test_control_characters_in_knowledge_text_refused(kb, old, new):
    """YAML can spell an escape sequence in a title or caution: the loader refuses it, naming the key."""
    path = kb / "knowledge" / "recommendations.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(KnowledgeBaseError, match=r"recommendations\.yaml:\d+: 'title' holds the control character U\+"):
        _load(kb, sealed=False)


# --- fuzzing the directory walk ----------------------------------------------

ENTRY_NAMES = st.one_of(
    st.sampled_from(
        [
            "extra.yaml",
            "extra.yml",
            "EXTRA.YAML",
            "extra.Yaml",
            "notes.txt",
            "README",
            "README.md",
            ".hidden",
            ".#lock",
            "__init__.py",
            "__pycache__",
            "cases",
            "main.yaml",
            "facts.yaml",
            "manifest.yaml",
            "x.yaml.bak",
        ]
    ),
    st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
        lambda n: n not in (".", "..")
    ),
)
ENTRY_KINDS = st.sampled_from(["rule", "garbage", "empty", "folder", "dangling", "link", "fifo"])
VALID_RULE = (
    "version: 1\nrules:\n  - id: fuzz_extra\n    title: Extra\n    when: fever\n    then:\n      - triage: urgent\n"
    "    because: Test.\n    sources: [test_source]\n"
)


def _make(path: Path, kind: str) -> None:
    if kind == "rule":
        path.write_text(VALID_RULE)
    elif kind == "garbage":
        path.write_bytes(b"\xff\x00 not: [yaml")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to(path.parent / "no such target")
    elif kind == "link":
        path.symlink_to(DATA / "mini" / "rules" / "main.yaml")
    elif hasattr(os, "mkfifo"):
        os.mkfifo(path)
    else:
        path.write_text("x")


@settings(max_examples=max(20, settings.default.max_examples // 2), suppress_health_check=[HealthCheck.too_slow])
@given(
    folder=st.sampled_from(["rules", "knowledge", "knowledge/cases"]),
    entries=st.lists(st.tuples(ENTRY_NAMES, ENTRY_KINDS), min_size=1, max_size=4, unique_by=lambda e: e[0]),
)
def test_fuzz_directory_walk(folder, entries):
    """Any entries added: the base loads only if each is ignored or a valid file of its folder, else the error names one."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(DATA / "mini", root / "kb")
        (root / "kb" / "knowledge" / "cases").mkdir()
        added = []
        for name, kind in entries:
            path = root / "kb" / folder / name
            if path.exists() or path.is_symlink():
                continue  # a name the base already has
            try:
                _make(path, kind)
            except OSError:
                continue  # a name this file system refuses
            added.append((name, kind))
        counted = [(name, kind) for name, kind in added if not is_ignored(name)]
        try:
            unsealed = load_knowledge_base(root / "kb" / "rules", root / "kb" / "knowledge", sealed=False)
        except KnowledgeBaseError as exc:
            assert exc.path is not None
            assert "\n" not in str(exc)
            assert counted, f"refused a base with only ignored entries added: {exc}"
        else:
            # Loaded: each entry is a regular file with a YAML name; outside cases/ (whose
            # files only the cases command reads) also a valid rule file.
            for name, kind in counted:
                assert name.endswith((".yaml", ".yml")), (name, kind)
                assert kind in ("rule", "link") or (folder == "knowledge/cases" and kind in ("garbage", "empty"))
                assert folder != "knowledge", (name, kind)
            assert unsealed.rules
        # Sealed, any counted entry is one the manifest does not list.
        try:
            load_knowledge_base(root / "kb" / "rules", root / "kb" / "knowledge")
        except KnowledgeBaseError:
            assert counted
        else:
            assert not counted

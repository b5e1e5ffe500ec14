"""The knowledge-base loader: a valid base loads; each broken file is named with its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from locations import DATA

from spasm_advisor import KnowledgeBaseError, load_knowledge_base
from spasm_advisor.kb.conditions import Comparison, FindingRef

MINI = DATA / "mini"


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "kb")
    return tmp_path / "kb"


def _load(kb_dir: Path):
    # A copy being edited: loaded unsealed, as while authoring.
    return load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_mini_loads(kb_dir):
    """The mini base loads with its rules resolved and stratified."""
    kb = _load(kb_dir)
    assert {r.id for r in kb.rules} == {"flag", "refer", "self_care", "older", "no_painkiller_on_anticoagulants"}
    assert kb.findings == {"red_flag_present"}
    rules = {r.id: r for r in kb.rules}
    assert rules["older"].dnf == ((Comparison("age", ">=", 50),),)
    assert rules["self_care"].dnf == ((FindingRef("red_flag_present", negated=True),),)
    # Reading a finding's absence puts a rule above every rule deriving it.
    assert rules["self_care"].stratum > rules["flag"].stratum
    assert kb.digest.startswith("sha256:")
    assert kb.version == "test-1"


def test_digest_follows_content(kb_dir):
    """Any change of content changes the digest."""
    before = _load(kb_dir).digest
    _edit(kb_dir / "rules" / "main.yaml", "because: Age.", "because: Older age.")
    assert _load(kb_dir).digest != before


BROKEN = [
    # (file, old, new, expected fragment, text on the line the error must name)
    (
        "rules/main.yaml",
        "when: age >= 50",
        "when: agee >= 50",
        "unknown fact or finding 'agee' (did you mean 'age'?)",
        None,
    ),
    ("rules/main.yaml", "when: age >= 50", "when: age >= old", "does not fit integer fact 'age'", None),
    ("rules/main.yaml", "when: age >= 50", "when: posture >= 3", "does not fit enum fact 'posture'", None),
    ("rules/main.yaml", "when: age >= 50", "when: age", "'age' is not a yes/no fact", None),
    ("rules/main.yaml", "when: age >= 50", "when: {xor: [age]}", "unknown condition operator 'xor'", None),
    (
        "rules/main.yaml",
        "- recommend: see_doctor\n    because: Age.",
        "- recommend: see_docter\n    because: Age.",
        "unknown recommendation 'see_docter' (did you mean 'see_doctor'?)",
        None,
    ),
    ("rules/main.yaml", "- triage: routine", "- triage: soon", "unknown triage level 'soon'", "triage: soon"),
    (
        "rules/main.yaml",
        'sources: [{source: test_source, ref: "1.2", verified: false}]',
        "sources: [nice]",
        "unknown source 'nice'",
        None,
    ),
    ("rules/main.yaml", "id: older", "id: flag", "duplicate rule id", "- id: flag\n    title: Older"),
    (
        "rules/main.yaml",
        "because: Age.",
        "becuase: Age.",
        "unknown key 'becuase' in a rule (did you mean 'because'?)",
        None,
    ),
    ("rules/main.yaml", "version: 1", "version: 2", "expected 'version: 1'", None),
    (
        "rules/main.yaml",
        "      - withhold: painkiller\n        reason: Bleeding risk.",
        "      - withhold: painkiller",
        "missing 'reason'",
        "- withhold",
    ),
    (
        "rules/main.yaml",
        "    when: {any: [numbness, fever]}",
        "    when: {all: [numbness, {not: red_flag_present}]}",
        "depend on their own absence",
        "- id: flag",
    ),
    ("knowledge/facts.yaml", "max: 120", "max: old", "'max' must be an integer", None),
    ("knowledge/facts.yaml", "role: caution", "role: worry", "'role' must be one of", None),
    (
        "knowledge/facts.yaml",
        "id: fever",
        "id: numbness",
        "duplicate fact id 'numbness'",
        '- id: numbness\n    type: boolean\n    question: "Fever',
    ),
    ("knowledge/recommendations.yaml", "level: weak", "level: strong", "'level' must be one of", None),
    ("knowledge/recommendations.yaml", "category: referral", "category: refer", "'category' must be one of", None),
    ("knowledge/sources.yaml", "id: test_source", "id: Test Source", "snake_case", None),
    ("knowledge/facts.yaml", "values: [good, poor]", "values: [good, good]", "'values' has duplicates", None),
]


@pytest.mark.parametrize(("file", "old", "new", "fragment", "anchor"), BROKEN, ids=[b[3][:40] for b in BROKEN])
def test_broken_file_is_named(kb_dir, file, old, new, fragment, anchor):
    """Each broken file gives one error naming the file, the line and what was expected."""
    _edit(kb_dir / file, old, new)
    text = (kb_dir / file).read_text()
    line = text[: text.index(anchor or new)].count("\n") + 1
    with pytest.raises(KnowledgeBaseError) as info:
        _load(kb_dir)
    message = str(info.value)
    assert fragment in message
    assert info.value.path is not None
    assert info.value.path.endswith(file)
    assert info.value.line == line, message
    assert "\n" not in message


def test_malformed_yaml(kb_dir):
    """Malformed YAML is reported with its line."""
    (kb_dir / "rules" / "main.yaml").write_text("version: 1\nrules:\n  - id: x\n    when: [unclosed\n")
    with pytest.raises(KnowledgeBaseError, match=r"main\.yaml:\d+: invalid YAML"):
        _load(kb_dir)


def test_missing_file(kb_dir):
    """A missing catalogue is named."""
    (kb_dir / "knowledge" / "recommendations.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"recommendations\.yaml: missing file"):
        _load(kb_dir)


def test_no_rules(kb_dir):
    """An empty rules folder is an error, not an empty knowledge base."""
    (kb_dir / "rules" / "main.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match="no rule files"):
        _load(kb_dir)


def test_not_a_folder(tmp_path):
    """A path that is not a folder is named."""
    with pytest.raises(KnowledgeBaseError, match="not a folder"):
        load_knowledge_base(tmp_path / "nope", tmp_path)

"""invariants.yaml is part of the knowledge base: checked when it loads, held as typed invariants."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_cli import run

from spasm_advisor import KnowledgeBaseError, load_knowledge_base
from spasm_advisor.kb.conditions import All, Any_, Comparison, FindingRef, Not, Recommends, TriageAtom, Withholds
from spasm_advisor.kb.model import Invariant

MINI = Path(__file__).parent.parent / "data" / "mini"


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    shutil.copytree(MINI, tmp_path / "kb")
    return tmp_path / "kb"


def _load(kb_dir: Path):
    return load_knowledge_base(kb_dir / "rules", kb_dir / "knowledge", sealed=False)


def _edit(kb_dir: Path, old: str, new: str) -> None:
    path = kb_dir / "knowledge" / "invariants.yaml"
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_invariants_are_typed(kb_dir):
    """The knowledge base holds resolved, typed invariants in file order."""
    kb = _load(kb_dir)
    assert all(isinstance(inv, Invariant) for inv in kb.invariants)
    by_id = {inv.id: inv for inv in kb.invariants}
    assert list(by_id) == ["red_flag_refers", "no_painkiller_on_anticoagulants", "older_at_least_routine"]
    refers = by_id["red_flag_refers"]
    assert refers.given == Any_((Comparison("numbness", "==", True), Comparison("fever", "==", True)))
    assert refers.require == All((TriageAtom(">=", "urgent"), Recommends("see_doctor")))
    assert by_id["no_painkiller_on_anticoagulants"].require == All(
        (Not(Recommends("painkiller")), Withholds("painkiller"))
    )
    assert refers.path.endswith("invariants.yaml")
    assert refers.line > 0
    assert by_id["older_at_least_routine"].describe() == "if age >= 50 then triage >= routine"


def test_findings_and_categories_resolve(kb_dir):
    """Bare names resolve to findings as in rules; 'recommends any CATEGORY' lists the category."""
    _edit(kb_dir, "given: {any: [numbness, fever]}", "given: red_flag_present")
    _edit(kb_dir, 'require: "triage >= routine"', "require: recommends any referral")
    by_id = {inv.id: inv for inv in _load(kb_dir).invariants}
    assert by_id["red_flag_refers"].given == FindingRef("red_flag_present")
    assert by_id["older_at_least_routine"].require == Any_((Recommends("see_doctor"),))


BROKEN = [
    ("given: {any: [numbness, fever]}", "given: {any: [numbess, fever]}", "unknown fact or finding 'numbess'"),
    ('require: "triage >= routine"', 'require: "triage >= soon"', "unknown triage level 'soon'"),
    ("recommends see_doctor", "recommends see_docter", "unknown recommendation 'see_docter'"),
    ('require: "triage >= routine"', "require: recommends any cure", "unknown category 'cure'"),
    ('given: "age >= 50"', 'given: "age >= old"', "does not fit integer fact 'age'"),
    ('given: "age >= 50"', 'given: "posture == slouched"', "does not fit enum fact 'posture'"),
    ('given: "age >= 50"', "given: age", "'age' is not a yes/no fact"),
    ('given: "age >= 50"', 'given: "red_flag_present is known"', "'red_flag_present' is a finding"),
    ('given: "age >= 50"', "given: {xor: [age]}", "unknown condition operator 'xor'"),
    ("  - id: older_at_least_routine", "  - id: red_flag_refers", "is missing or repeated"),
    ('require: "triage >= routine"', 'requires: "triage >= routine"', "unknown key 'requires' in an invariant"),
    ("invariants:", "invariant:", "unknown key 'invariant'"),
    ("version: 1", "version: 2", "expected 'version: 1'"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN)
def test_broken_invariants_fail_the_load(kb_dir, old, new, expected):
    """A broken invariants file is a load error naming the file and line, like a broken rule."""
    _edit(kb_dir, old, new)
    with pytest.raises(KnowledgeBaseError) as caught:
        _load(kb_dir)
    message = str(caught.value)
    assert expected in message
    assert "invariants.yaml:" in message


def test_unknown_source_fails_the_load(kb_dir):
    """An invariant citing a source sources.yaml does not have fails the load."""
    _edit(kb_dir, 'require: "triage >= routine"', 'require: "triage >= routine"\n    sources: [nice_ng00]')
    with pytest.raises(KnowledgeBaseError, match="unknown source 'nice_ng00'"):
        _load(kb_dir)


def test_assess_refuses_a_broken_invariants_file(kb_dir, tmp_path):
    """The command line no longer assesses against a base whose invariants are broken (exit 2, one line)."""
    _edit(kb_dir, "recommends see_doctor", "recommends see_docter")
    case = tmp_path / "case.json"
    case.write_text('{"age": 40}')
    out = run(
        "assess", str(case), "--rules", str(kb_dir / "rules"), "--knowledge", str(kb_dir / "knowledge"), "--unsealed"
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "invariants.yaml" in out.stderr
    assert "unknown recommendation 'see_docter'" in out.stderr
    assert "Traceback" not in out.stderr

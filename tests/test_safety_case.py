"""The clinical safety case: rules verify checks the hazard log, rules safety-case and the report show it.

A small base (the mini rules with a one-hazard log and one clinical case)
has each link broken in turn: verify must fail (exit 1) where the log loads,
and the load must fail (exit 2) where a reference is unknown. The bundled
base's log must cover the hazards the project committed to, and deleting any
of its withhold rules must fail the load or the verification.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import yaml
from cli_runner import run

from spasm_advisor import Advisor, KnowledgeBaseError, load_knowledge_base
from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.analysis.safety_case import build_safety_case
from spasm_advisor.analysis.verify import verify
from spasm_advisor.kb.hazards import risk_rating
from spasm_advisor.render.audit_report import build_audit, render_html, render_markdown

REPO = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"

LOG = """version: 1
hazards:
  - id: missed_red_flag
    title: A red flag is not referred
    cause: Numbness is answered yes but no referral is given.
    effect: Self-care instead of a clinician.
    harm: A serious cause is found late.
    initial: {severity: Major, likelihood: Medium}
    residual: {severity: Major, likelihood: Low}
    controls:
      - rule: refer
      - invariant: red_flag_refers
    tests: [numbness_is_referred]
    status: controlled
    sources: [test_source]
"""

CASE = """version: 1
id: numbness_is_referred
title: Numbness is referred
basis: The mini base refers every red flag.
case: {numbness: true}
expect:
  triage: urgent
  recommend: [see_doctor]
"""

# The hazards the project committed to cover, by their ids in knowledge/hazards.yaml.
REQUIRED_HAZARDS = {
    "missed_cauda_equina_syndrome",
    "missed_spinal_infection",
    "missed_malignancy_or_cord_compression",
    "missed_vertebral_fracture",
    "missed_aortic_aneurysm",
    "missed_progressive_neurological_deficit",
    "missed_spinal_haematoma_on_anticoagulants",
    "child_handled_as_adult",
    "missed_pregnancy_complication",
    "contraindicated_drug_advised",
    "contraindicated_manual_therapy_advised",
    "unanswered_question_treated_as_no",
    "unsafe_herbal_or_essential_oil_advice",
    "over_triage_of_stable_pain",
    "advice_for_wrong_duration_class",
    "knowledge_change_alters_behaviour",
}


@pytest.fixture(name="kb_dir")
def _kb_dir(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(DATA / "mini", root)
    (root / "knowledge" / "hazards.yaml").write_text(LOG)
    (root / "knowledge" / "cases").mkdir()
    (root / "knowledge" / "cases" / "numbness.yaml").write_text(CASE)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


def _advisor(kb_dir: Path) -> Advisor:
    return Advisor.from_paths(kb_dir / "rules", kb_dir / "knowledge", sealed=False)  # written here, never sealed


def _kb_args(kb_dir: Path) -> list[str]:
    return ["--rules", str(kb_dir / "rules"), "--knowledge", str(kb_dir / "knowledge"), "--unsealed"]


def _hazard_checks(kb_dir: Path) -> dict[str, list[str]]:
    """``rules verify``'s hazard anomalies, check -> messages."""
    found: dict[str, list[str]] = {}
    for anomaly in verify(_advisor(kb_dir)).anomalies:
        if anomaly.check.startswith("hazard_"):
            found.setdefault(anomaly.check, []).append(anomaly.message)
    return found


# --- rules verify checks each link --------------------------------------------------


def test_an_intact_log_verifies(kb_dir):
    """With its control, its proved invariant and its passing case, the hazard raises nothing."""
    assert _hazard_checks(kb_dir) == {}
    out = run("rules", "verify", *_kb_args(kb_dir))
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_hazard_without_a_control_fails_verify(kb_dir):
    """An empty control list loads, and rules verify exits 1 naming the hazard."""
    _edit(kb_dir / "knowledge" / "hazards.yaml", "      - rule: refer\n      - invariant: red_flag_refers\n", "")
    _edit(kb_dir / "knowledge" / "hazards.yaml", "controls:\n", "controls: []\n")
    checks = _hazard_checks(kb_dir)
    assert checks["hazard_without_control"] == [
        "hazard 'missed_red_flag': the hazard lists no rule, invariant or withhold that controls it"
    ]
    out = run("rules", "verify", *_kb_args(kb_dir))
    assert out.returncode == 1
    assert "hazard_without_control" in out.stdout


def test_a_process_alone_is_not_a_control(kb_dir):
    """A review or a tool named in words cannot be checked, so it does not count as a control."""
    _edit(
        kb_dir / "knowledge" / "hazards.yaml",
        "      - rule: refer\n      - invariant: red_flag_refers\n",
        "      - process: a clinician reads every case\n",
    )
    assert "hazard_without_control" in _hazard_checks(kb_dir)


def test_an_unproved_control_invariant_fails_verify(kb_dir):
    """A control invariant that the rules violate is a broken link of the hazard, not only a violation."""
    with (kb_dir / "knowledge" / "invariants.yaml").open("a") as handle:
        handle.write('  - id: nobody_is_urgent\n    title: Nobody is urgent\n    require: "triage <= routine"\n')
    _edit(kb_dir / "knowledge" / "hazards.yaml", "invariant: red_flag_refers", "invariant: nobody_is_urgent")
    checks = _hazard_checks(kb_dir)
    assert checks["hazard_control_unproved"] == [
        "hazard 'missed_red_flag': control invariant 'nobody_is_urgent' is violated, not proved"
    ]
    out = run("rules", "verify", *_kb_args(kb_dir))
    assert out.returncode == 1
    assert "hazard_control_unproved" in out.stdout


def test_a_failing_test_case_fails_verify(kb_dir):
    """A named clinical case that the advisor fails makes verify exit 1, with what differs."""
    _edit(kb_dir / "knowledge" / "cases" / "numbness.yaml", "triage: urgent", "triage: routine")
    (message,) = _hazard_checks(kb_dir)["hazard_test_failed"]
    assert message.startswith("hazard 'missed_red_flag': test case 'numbness_is_referred' fails: triage is urgent")
    out = run("rules", "verify", *_kb_args(kb_dir))
    assert out.returncode == 1
    assert "hazard_test_failed" in out.stdout


def test_a_hazard_with_neither_case_nor_proof_fails_verify(kb_dir):
    """Rules alone are not evidence: some case or proved invariant must test the hazard."""
    path = kb_dir / "knowledge" / "hazards.yaml"
    _edit(path, "      - invariant: red_flag_refers\n", "")
    _edit(path, "tests: [numbness_is_referred]", "tests: []")
    assert "hazard_untested" in _hazard_checks(kb_dir)


def test_an_open_hazard_is_a_warning_with_its_gap(kb_dir):
    """Open hazards do not fail verify; the warning gives the residual risk and the first gap."""
    path = kb_dir / "knowledge" / "hazards.yaml"
    _edit(path, "status: controlled", "status: open\n    gaps: Fever is not checked. Nor is age.")
    assert _hazard_checks(kb_dir) == {
        "hazard_open": ["hazard 'missed_red_flag': open, residual risk 3 (Major x Low): Fever is not checked."]
    }
    assert verify(_advisor(kb_dir)).ok


def test_an_empty_log_is_a_warning(kb_dir):
    """A knowledge base that identifies no hazards is told so."""
    (kb_dir / "knowledge" / "hazards.yaml").write_text("version: 1\nhazards: []\n")
    assert list(_hazard_checks(kb_dir)) == ["hazard_log_empty"]


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("rule: refer", "rule: refr", "unknown rule 'refr' (did you mean 'refer'?)"),
        ("invariant: red_flag_refers", "invariant: red_flags_refer", "unknown invariant 'red_flags_refer'"),
        ("tests: [numbness_is_referred]", "tests: [numbness]", "unknown clinical case 'numbness'"),
    ],
)
def test_an_unknown_reference_fails_the_load_in_one_line(kb_dir, old, new, named):
    """Unknown controls and tests stop the load itself: exit 2, one line naming file, line and hazard."""
    _edit(kb_dir / "knowledge" / "hazards.yaml", old, new)
    out = run("rules", "verify", *_kb_args(kb_dir))
    assert out.returncode == 2
    assert out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert "hazards.yaml:" in line
    assert "hazard 'missed_red_flag'" in line
    assert named in line


def test_a_knowledge_base_built_in_code_is_checked_too(kb_dir):
    """Without the loader's checks (a rule removed in code), the safety case still finds the dangling control."""
    kb = _advisor(kb_dir).knowledge_base
    rules = tuple(r for r in kb.rules if r.id != "refer")
    pruned = dataclasses.replace(kb, rules=rules, rule_index={r.id: r for r in rules})
    case = build_safety_case(Advisor(pruned), None)
    assert [f.check for f in case.errors] == ["hazard_unknown_reference", "hazard_test_failed"]
    assert "control rule refer: the knowledge base has no such rule" in case.errors[0].message


# --- the bundled log ----------------------------------------------------------------


def test_bundled_log_covers_the_committed_hazards_and_holds(advisor):
    """Every committed hazard is in the log with a real control and a test, and nothing is broken."""
    kb = advisor.knowledge_base
    assert {h.id for h in kb.hazards.hazards} >= REQUIRED_HAZARDS
    case = build_safety_case(advisor, {r.id: r.status for r in verify(advisor).invariants})
    assert case.errors == ()
    for row in case.hazards:
        assert any(c.control.checkable and c.ok for c in row.controls), row.hazard.id
        assert row.tests or row.proofs, row.hazard.id
        assert row.hazard.sources or row.hazard.gaps, row.hazard.id
    assert case.unlogged_withholds == ()


def test_bundled_log_is_honest_about_what_is_not_controlled(advisor):
    """An open hazard says what is missing; the aneurysm and pregnancy hazards are controlled by their rules.

    Both were open with no controlling rule until the knowledge base gained
    the rules named here; a hazard is marked controlled only with them.
    """
    log = advisor.knowledge_base.hazards
    for hazard in log.hazards:
        if hazard.status == "open":
            assert hazard.gaps, hazard.id
    for hazard_id, rule in (
        ("missed_aortic_aneurysm", "aortic_aneurysm_sudden_severe_pain"),
        ("missed_pregnancy_complication", "pregnancy_sudden_or_severe_pain_urgent"),
    ):
        hazard = log.hazard(hazard_id)
        assert hazard.status == "controlled"
        assert rule in {c.target for c in hazard.controls if c.kind == "rule"}
        assert hazard.gaps


def _withhold_rules() -> list[tuple[str, str]]:
    kb = Advisor.default().knowledge_base
    return sorted((r.id, Path(r.path).name) for r in kb.rules if any(a.kind == "withhold" for a in r.actions))


@pytest.fixture(scope="module", name="bundled_copy")
def _bundled_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bundled")
    shutil.copytree(REPO / "rules", root / "rules")
    shutil.copytree(REPO / "knowledge", root / "knowledge")
    return root


@pytest.mark.parametrize(("rule_id", "filename"), _withhold_rules())
def test_deleting_any_withhold_rule_fails_the_load_or_verify(bundled_copy, rule_id, filename):
    """No withhold can be lost silently: without it the base does not load, or verify fails."""
    path = bundled_copy / "rules" / filename
    original = path.read_text(encoding="utf-8")
    document = yaml.safe_load(original)
    document["rules"] = [r for r in document["rules"] if r["id"] != rule_id]
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    try:
        try:
            # Unsealed: sealed, any edit of a rule file already fails the load (see test_knowledge_base_files).
            advisor = Advisor.from_paths(bundled_copy / "rules", bundled_copy / "knowledge", sealed=False)
        except KnowledgeBaseError as exc:
            assert f"'{rule_id}'" in str(exc)
            assert exc.path is not None
            assert exc.path.endswith("hazards.yaml")
            return
        assert not verify(advisor).ok, f"deleting {rule_id} went unnoticed"
    finally:
        path.write_text(original, encoding="utf-8")


# --- rules safety-case ----------------------------------------------------------------


def test_cli_safety_case_text():
    """The text matrix lists every hazard with its risk, controls, proofs and tests, then the summary."""
    kb = load_knowledge_base(REPO / "rules", REPO / "knowledge")
    out = run("rules", "safety-case")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Clinical safety case: knowledge base {kb.version} ({kb.digest})")
    assert "initial  residual  controls  proofs  tests" in out.stdout
    for hazard in kb.hazards.hazards:
        assert f"\n{hazard.id}: {hazard.title} [{hazard.status}]\n" in out.stdout
        assert f"risk: initial {hazard.initial.describe()} -> residual {hazard.residual.describe()}" in out.stdout
    assert f"{'proved':<23} invariant ces_sign_means_emergency" in out.stdout
    assert f"{'passed':<23} saddle_numbness_alone" in out.stdout
    assert "Residual risk (hazards per rating" in out.stdout
    assert "Withhold rules the log does not name: none." in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("OK: ")


def test_cli_safety_case_json():
    """The JSON has every hazard with computed ratings, every control's evidence and a consistent summary."""
    kb = load_knowledge_base(REPO / "rules", REPO / "knowledge")
    out = run("rules", "safety-case", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True
    assert data["knowledge_base"] == {"version": kb.version, "digest": kb.digest}
    assert [h["id"] for h in data["hazards"]] == [h.id for h in kb.hazards.hazards]
    for hazard in data["hazards"]:
        for stage in ("initial", "residual"):
            risk = hazard[stage]
            assert risk["rating"] == risk_rating(risk["severity"], risk["likelihood"])
        assert {c["status"] for c in hazard["controls"]} <= {"in place", "proved", "not checked by software"}
        assert {t["status"] for t in hazard["tests"]} == ({"passed"} if hazard["tests"] else set())
    ratings = data["summary"]["ratings"]
    assert [r["rating"] for r in ratings] == [5, 4, 3, 2, 1]
    for stage in ("initial", "residual"):
        assert sorted(i for r in ratings for i in r[stage]) == sorted(h.id for h in kb.hazards.hazards)
    assert data["summary"]["status"]["open"] == [h.id for h in kb.hazards.hazards if h.status == "open"]


def test_cli_safety_case_markdown():
    """--format md is a document with the matrix table, the residual-risk table and a section per hazard."""
    kb = load_knowledge_base(REPO / "rules", REPO / "knowledge")
    out = run("rules", "safety-case", "--format", "md")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith(f"# Clinical safety case: knowledge base {kb.version}")
    assert "| Hazard | Title | Status | Initial | Residual | Controls | Proofs | Tests |" in text
    assert "## Residual risk" in text
    for hazard in kb.hazards.hazards:
        assert f"### `{hazard.id}`: " in text
    assert "| `invariant ces_sign_means_emergency` | proved |" in text


def test_cli_safety_case_fails_on_a_broken_link(kb_dir):
    """The command exits 1 when a link is broken, and says which."""
    _edit(kb_dir / "knowledge" / "cases" / "numbness.yaml", "triage: urgent", "triage: routine")
    out = run("rules", "safety-case", *_kb_args(kb_dir))
    assert out.returncode == 1
    assert f"{'failed':<23} numbness_is_referred" in out.stdout
    assert "- triage is urgent" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].startswith("FAILED: 1 broken link")
    data = json.loads(run("rules", "safety-case", "--json", *_kb_args(kb_dir)).stdout)
    assert data["ok"] is False
    assert [e["check"] for e in data["errors"]] == ["hazard_test_failed"]


def test_cli_safety_case_json_and_format_are_exclusive():
    """--json and --format together are a usage error."""
    out = run("rules", "safety-case", "--json", "--format", "md")
    assert out.returncode == 2
    assert "not allowed with argument" in out.stderr


# --- rules report ---------------------------------------------------------------------


@pytest.fixture(scope="module", name="audit")
def _audit():
    cases = load_clinical_cases(REPO / "knowledge" / "cases", "knowledge/cases")
    return build_audit(Advisor.default(), cases)


def test_report_has_a_clinical_safety_section(audit):
    """Both renderings carry the matrix, an entry per hazard and the residual-risk summary."""
    assert audit.safety is not None
    assert audit.safety.ok
    html_text, md_text = render_html(audit), render_markdown(audit)
    assert '<section id="safety"><h2>Clinical safety</h2>' in html_text
    assert '<a href="#safety">Clinical safety</a>' in html_text
    assert "<h3>Residual risk</h3>" in html_text
    assert "## Clinical safety" in md_text
    assert "### Residual risk" in md_text
    for row in audit.safety.hazards:
        assert f'<article id="hazard-{row.hazard.id}">' in html_text
        assert f'<a href="#hazard-{row.hazard.id}">' in html_text
        assert f"#### `{row.hazard.id}`: " in md_text


def test_report_without_proofs_shows_invariants_not_checked(audit):
    """Built without z3, the section says the proofs were not run and reports no unproved control."""
    unproved = dataclasses.replace(audit, safety=build_safety_case(Advisor.default(), None))
    assert unproved.safety is not None
    assert not unproved.safety.proofs_run
    assert unproved.safety.errors == ()
    statuses = {c.status for row in unproved.safety.hazards for c in row.proofs}
    assert statuses == {"not checked"}
    assert "The invariants were not proved in this run" in render_html(unproved)

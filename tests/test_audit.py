"""Clinician audit: verification, invariants, diff, explain, why-not and rule browsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import run

from spasm_advisor import Advisor
from spasm_advisor.analysis.diff import diff_knowledge_bases
from spasm_advisor.analysis.invariants import holds, load_invariants
from spasm_advisor.analysis.verify import verify
from spasm_advisor.analysis.whynot import why_not

DATA = Path(__file__).parent / "data"
MINI_KNOWLEDGE = DATA / "mini" / "knowledge"
ANOMALIES = DATA / "anomalies"
CHECKS = sorted(p.name for p in ANOMALIES.iterdir() if p.is_dir() and p.name != "clean")


def _verify(rules: Path):
    # Each anomaly's rules with the mini knowledge folder: not the sealed mini base.
    return verify(Advisor.from_paths(rules, MINI_KNOWLEDGE, sealed=False))


def test_clean_base_verifies_clean():
    """The clean test base has no anomaly and proves its invariants."""
    report = _verify(ANOMALIES / "clean")
    assert report.anomalies == ()
    assert [r.status for r in report.invariants] == ["proved"] * 3
    assert report.ok


@pytest.mark.parametrize("check", CHECKS)
def test_each_anomaly_is_found_alone(check):
    """Each broken base triggers exactly its anomaly, located at file:line."""
    report = _verify(ANOMALIES / check)
    assert {a.check for a in report.anomalies} == {check}
    for anomaly in report.anomalies:
        if anomaly.check != "gap":
            assert anomaly.locations
            assert all(":" in loc for loc in anomaly.locations)
    severity = report.anomalies[0].severity
    assert report.ok == (severity == "warning")


def test_gap_comes_with_an_example():
    """A gap is shown with a concrete case that gets no recommendation."""
    advisor = Advisor.from_paths(ANOMALIES / "gap", MINI_KNOWLEDGE, sealed=False)
    (gap,) = _verify(ANOMALIES / "gap").anomalies
    assert gap.example is not None
    assert advisor.assess(gap.example).recommendations == ()


def test_violated_invariant_has_counterexample_the_engine_reproduces():
    """A violation comes with a counterexample, and the experta engine really violates it there."""
    advisor = Advisor.from_paths(DATA / "violations" / "rules", MINI_KNOWLEDGE, sealed=False)
    report = verify(advisor)
    status = {r.id: r for r in report.invariants}
    violated = status["no_painkiller_on_anticoagulants"]
    assert violated.status == "violated"
    assert violated.counterexample == {"on_anticoagulants": True}
    assert violated.engine_confirms is True
    assert "painkiller" in advisor.assess(violated.counterexample).recommendation_ids()
    assert status["red_flag_refers"].status == "proved"
    assert not report.ok


def test_proved_invariants_hold_on_every_enumerated_case(mini):
    """Proof and engine agree: every proved invariant holds on every case of the small base's space."""
    invariants = load_invariants(mini.knowledge_base)
    report = verify(mini)
    assert all(r.status == "proved" for r in report.invariants)
    for numbness in (None, True, False):
        for fever in (None, True, False):
            for anticoag in (None, True, False):
                for age in (None, 0, 49, 50, 120):
                    for posture in (None, "good", "poor"):
                        case = {
                            k: v
                            for k, v in {
                                "numbness": numbness,
                                "fever": fever,
                                "on_anticoagulants": anticoag,
                                "age": age,
                                "posture": posture,
                            }.items()
                            if v is not None
                        }
                        result = mini.assess(case)
                        assert all(holds(inv, result) for inv in invariants), case


def test_bundled_knowledge_base_verifies_clean(advisor):
    """The bundled base proves at least 12 invariants and has no error anomaly."""
    report = verify(advisor)
    assert len(report.invariants) >= 12
    assert all(r.status == "proved" for r in report.invariants), [
        r.id for r in report.invariants if r.status != "proved"
    ]
    assert report.errors == ()
    assert report.ok


def test_diff_one_threshold():
    """Changing one threshold shows as a changed rule and a behavioural region with an example."""
    old = Advisor.from_paths(DATA / "mini" / "rules", MINI_KNOWLEDGE)
    new = Advisor.from_paths(DATA / "threshold_changed" / "rules", MINI_KNOWLEDGE, sealed=False)
    result = diff_knowledge_bases(old, new)
    assert result.rules_changed == (("older", ("when",)),)
    assert result.behaviour_changed
    triage = [c for c in result.behaviour if c.aspect == "triage"]
    assert triage
    assert all((c.old, c.new) == ("routine", "self_care") for c in triage)
    for change in result.behaviour:
        assert "age >= 50" in change.condition
        assert "age < 60" in change.condition
        example = change.example
        assert 50 <= example["age"] < 60
        # The example really is assessed differently by the two engines.
        assert old.assess(example).to_dict() != new.assess(example).to_dict()


def test_diff_identical_is_empty(mini):
    """A knowledge base compared with itself has no difference."""
    result = diff_knowledge_bases(mini, mini)
    assert not result.behaviour_changed
    assert result.rules_changed == ()


def test_why_not_withheld_and_smallest_change(mini):
    """why-not names the withholding rule and the smallest change that would give it."""
    answer = why_not(mini, {"on_anticoagulants": True, "numbness": False, "fever": False}, "painkiller")
    assert answer.status == "withheld"
    assert answer.withheld_by[0][0] == "no_painkiller_on_anticoagulants"
    assert answer.changes == (("on_anticoagulants", True, False),)


def test_why_not_from_the_advisor(mini):
    """advisor.why_not is the library entry point for why-not."""
    assert mini.why_not({"numbness": True}, "rest").status == "not_recommended"
    assert mini.why_not({}, "rest").status == "given"


def test_why_not_failed_conditions_show_values(mini):
    """Failing conditions show the fact values that made them fail, 'unknown' where unanswered."""
    answer = why_not(mini, {"age": 30}, "see_doctor")
    assert answer.status == "not_recommended"
    by_rule = {(b.rule, b.branch): b for b in answer.candidates}
    older = by_rule[("older", 0)]
    assert not older.holds
    assert older.literals[0].to_dict() == {"condition": "age >= 50", "holds": False, "fact": "age", "value": 30}
    # Making it happen needs one answer: age 50+, or a red flag.
    assert answer.changes is not None
    assert len(answer.changes) == 1


def test_cli_verify_exit_codes():
    """rules verify exits 0 when clean, 1 on a violation or error anomaly."""
    ok = run("rules", "verify", "--rules", str(ANOMALIES / "clean"), "--knowledge", str(MINI_KNOWLEDGE), "--unsealed")
    assert ok.returncode == 0, ok.stderr
    assert "PROVED" in ok.stdout
    assert "OK" in ok.stdout
    bad = run(
        "rules",
        "verify",
        "--rules",
        str(DATA / "violations" / "rules"),
        "--knowledge",
        str(MINI_KNOWLEDGE),
        "--unsealed",
    )
    assert bad.returncode == 1
    assert "VIOLATED no_painkiller_on_anticoagulants" in bad.stdout
    assert "counterexample: {on_anticoagulants: true}" in bad.stdout
    error = run(
        "rules",
        "verify",
        "--rules",
        str(ANOMALIES / "never_fires"),
        "--knowledge",
        str(MINI_KNOWLEDGE),
        "--json",
        "--unsealed",
    )
    assert error.returncode == 1
    assert json.loads(error.stdout)["errors"][0]["check"] == "never_fires"


def test_cli_bundled_verify_reports_coverage():
    """The bundled base verifies with exit 0 and says how much of the input space it covered."""
    out = run("rules", "verify")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Covered every possible case" in out.stdout
    assert "threshold classes" in out.stdout


def test_cli_diff(tmp_path):
    """rules diff exits 1 when behaviour changes and 0 when it does not."""
    for name, rules in (("old", DATA / "mini" / "rules"), ("new", DATA / "threshold_changed" / "rules")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "rules").symlink_to(rules)
        (tmp_path / name / "knowledge").symlink_to(MINI_KNOWLEDGE)
    # The new version is still being written: compared unsealed.
    changed = run("rules", "diff", str(tmp_path / "old"), str(tmp_path / "new"), "--unsealed")
    assert changed.returncode == 1
    assert "Rule changed: older (when)" in changed.stdout
    assert "triage: routine -> self_care" in changed.stdout
    same = run("rules", "diff", str(tmp_path / "old"), str(tmp_path / "old"))
    assert same.returncode == 0
    assert "unchanged for every possible case" in same.stdout


def test_cli_explain_and_why_not():
    """explain prints the derivation tree; why-not prints the failing conditions."""
    mini = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(MINI_KNOWLEDGE)]
    out = run("explain", "-", *mini, stdin='{"fever": true}')
    assert out.returncode == 0, out.stderr
    assert "└─ rule refer: Refer on red flag" in out.stdout
    assert "rule flag: Any red flag" in out.stdout
    assert "facts: fever = yes" in out.stdout
    tree = json.loads(run("explain", "-", "--json", *mini, stdin='{"fever": true}').stdout)
    assert tree["triage"]["derivations"][0]["derived_from"][0]["rule"] == "flag"
    out = run("why-not", "-", "painkiller", *mini, stdin='{"on_anticoagulants": true}')
    assert out.returncode == 0, out.stderr
    assert "'painkiller' is withheld" in out.stdout
    assert "on_anticoagulants: yes -> no" in out.stdout
    bad = run("why-not", "-", "painkillr", *mini, stdin="{}")
    assert bad.returncode == 2
    assert "did you mean 'painkiller'" in bad.stderr


def test_cli_rules_list_and_show():
    """rules list filters; rules show gives the rule, its provenance and dependencies."""
    listing = run("rules", "list", "--fact", "saddle_anaesthesia")
    assert listing.returncode == 0
    assert "ces_" in listing.stdout
    assert run("rules", "list", "--status", "testing").stdout.strip().endswith("rule(s)")
    shown = run("rules", "show", "referral_emergency")
    assert shown.returncode == 0
    assert "when:" in shown.stdout
    assert "provenance:" in shown.stdout
    assert "depends on:" in shown.stdout
    missing = run("rules", "show", "referral_emergenc")
    assert missing.returncode == 2
    assert "did you mean 'referral_emergency'" in missing.stderr

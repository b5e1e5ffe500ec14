"""The clinician audit commands through the console script: rules verify, diff, list and show; explain; why-not."""

from __future__ import annotations

import json

from cli_runner import run
from locations import DATA

MINI_KNOWLEDGE = DATA / "mini" / "knowledge"
ANOMALIES = DATA / "anomalies"


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
    changed = run("rules", "diff", str(tmp_path / "old"), str(tmp_path / "new"), "--unsealed")
    assert changed.returncode == 1
    assert "Rule changed: older (when)" in changed.stdout
    assert "triage: routine -> self_care" in changed.stdout
    same = run("rules", "diff", str(tmp_path / "old"), str(tmp_path / "old"), "--unsealed")
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

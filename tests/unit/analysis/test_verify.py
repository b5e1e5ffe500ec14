"""rules verify: each anomaly found on its own, invariants proved or refuted with a counterexample the engine reproduces."""

from __future__ import annotations

from pathlib import Path

import pytest
from locations import DATA

from spasm_advisor import Advisor
from spasm_advisor.analysis.invariants import holds, load_invariants
from spasm_advisor.analysis.verify import verify

MINI_KNOWLEDGE = DATA / "mini" / "knowledge"
ANOMALIES = DATA / "anomalies"
CHECKS = sorted(p.name for p in ANOMALIES.iterdir() if p.is_dir() and p.name != "clean")


def _verify(rules: Path):
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

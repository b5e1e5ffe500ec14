"""rules verify reports its progress and where the time goes, and refutes candidates on witness cases."""

from __future__ import annotations

from cli_runner import run
from locations import DATA

from spasm_advisor import Advisor
from spasm_advisor.analysis.verify import render_verification, verify

PHASES = [
    "structure",
    "encoding",
    "branches",
    "redundancy",
    "cautions and withholds",
    "gap",
    "invariants",
    "hazard log",
]


def test_progress_goes_phase_by_phase(mini):
    """Every phase is announced in order, counts never pass their totals, and each has its time."""
    calls: list[tuple[str, int, int]] = []
    report = verify(mini, progress=lambda phase, done, total: calls.append((phase, done, total)))
    assert list(dict.fromkeys(phase for phase, _, _ in calls)) == PHASES
    assert all(0 <= done <= total or total == 0 for _, done, total in calls)
    assert ("invariants", 3, 3) in calls
    assert calls[-1] == ("hazard log", 0, 0)
    assert [phase for phase, _ in report.timings] == PHASES
    assert all(seconds >= 0 for _, seconds in report.timings)
    assert set(report.to_dict()["timings"]) == set(PHASES)
    assert "Time by phase: structure" in render_verification(report)


def test_witness_refutation_keeps_the_findings():
    """Each anomaly base still triggers its anomaly (refuting on a witness case never hides a real one)."""
    for check in ("subsumed_rule", "duplicate_rule", "caution_never_shown", "always_withheld"):
        advisor = Advisor.from_paths(DATA / "anomalies" / check, DATA / "mini" / "knowledge", sealed=False)
        assert {a.check for a in verify(advisor).anomalies} == {check}, check


def test_cli_progress_on_stderr():
    """--progress shows the phases on stderr; stdout keeps the report alone."""
    out = run(
        "rules",
        "verify",
        "--progress",
        "--rules",
        str(DATA / "mini" / "rules"),
        "--knowledge",
        str(DATA / "mini" / "knowledge"),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    assert "verify: branches" in out.stderr
    assert out.stdout.lstrip().startswith("{")

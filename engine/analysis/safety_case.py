"""The clinical safety case: each hazard of the log traced to its controls, proofs and tests.

:func:`build_safety_case` takes the hazard log of an advisor's knowledge base
(:mod:`spasm_advisor.kb.hazards`), the proof status of the invariants (from
``rules verify``) and runs every clinical case the log names as a test. The
result is the hazard -> control -> proof/test matrix that ``rules
safety-case`` prints and the audit report shows, with a residual-risk
summary, and the findings that make ``rules verify`` fail:

===========================  ========  ============================================
check                        severity  meaning
===========================  ========  ============================================
``hazard_without_control``   error     the hazard lists no control the knowledge
                                       base can show (a ``process`` does not count)
``hazard_unknown_reference`` error     a control or test names something the
                                       knowledge base does not have
``hazard_control_unproved``  error     a control invariant is not proved
``hazard_test_failed``       error     a clinical case the hazard names fails
``hazard_untested``          error     no clinical case and no invariant tests it
``hazard_open``              warning   the controls are not yet enough (see gaps)
``hazard_log_empty``         warning   the knowledge base identifies no hazards
===========================  ========  ============================================

Unknown references are normally stopped by the loader; they are checked here
again because a knowledge base can also be built in code. Nothing here needs
z3: without proofs, invariants are reported as not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spasm_advisor.analysis.clinical_cases import check_case
from spasm_advisor.analysis.invariants import load_invariants
from spasm_advisor.inference.assessment import Assessor
from spasm_advisor.kb.hazards import HAZARD_STATUSES, RISK_RATING_MEANINGS, Control, Hazard

__all__ = [
    "ControlEvidence",
    "HazardAssessment",
    "RiskSummary",
    "SafetyCase",
    "SafetyFinding",
    "TestEvidence",
    "build_safety_case",
]

#: Proof status of an invariant that ``rules verify`` did not (or could not) prove.
NOT_CHECKED = "not checked"


@dataclass(frozen=True, slots=True)
class SafetyFinding:
    """Something wrong with (``error``) or open in (``warning``) the safety case, located."""

    check: str
    severity: str
    message: str
    hazard: str | None = None
    rules: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "hazard": self.hazard,
            "rules": list(self.rules),
            "locations": list(self.locations),
        }


@dataclass(frozen=True, slots=True)
class ControlEvidence:
    """A control and what shows it is in place.

    ``status`` is ``in place`` (a rule or withhold the knowledge base has),
    ``proved``, ``violated`` or ``not checked`` (an invariant), ``missing``
    (an unknown reference) or ``not checked by software`` (a process).
    """

    control: Control
    status: str

    @property
    def ok(self) -> bool:
        """Whether the control is shown to be in place (a process never fails the case)."""
        return self.status in ("in place", "proved", "not checked by software")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.control.to_dict(), "status": self.status}


@dataclass(frozen=True, slots=True)
class TestEvidence:
    """A clinical case named as a test, and whether the advisor passes it."""

    case: str
    title: str
    path: str
    problems: tuple[str, ...]
    found: bool = True

    @property
    def passed(self) -> bool:
        """The case exists and the advisor does what it expects."""
        return self.found and not self.problems

    @property
    def status(self) -> str:
        """``passed``, ``failed`` or ``missing``."""
        return "missing" if not self.found else ("passed" if not self.problems else "failed")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"case": self.case, "title": self.title, "status": self.status, "problems": list(self.problems)}


@dataclass(frozen=True, slots=True)
class HazardAssessment:
    """One row of the matrix: a hazard, its controls with their evidence, its tests with their results."""

    hazard: Hazard
    controls: tuple[ControlEvidence, ...]
    tests: tuple[TestEvidence, ...]
    findings: tuple[SafetyFinding, ...]

    @property
    def proofs(self) -> tuple[ControlEvidence, ...]:
        """The invariant controls (proofs over every case)."""
        return tuple(c for c in self.controls if c.control.kind == "invariant")

    @property
    def ok(self) -> bool:
        """No error finding for this hazard."""
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the entry, its controls and tests with their status, and its findings."""
        data = self.hazard.to_dict()
        data["controls"] = [c.to_dict() for c in self.controls]
        data["tests"] = [t.to_dict() for t in self.tests]
        data["ok"] = self.ok
        data["findings"] = [f.to_dict() for f in self.findings]
        return data


@dataclass(frozen=True, slots=True)
class RiskSummary:
    """How many hazards sit at each rating, before and after the controls."""

    initial: Mapping[int, tuple[str, ...]]
    residual: Mapping[int, tuple[str, ...]]
    by_status: Mapping[str, tuple[str, ...]]

    @property
    def highest_residual(self) -> int:
        """The highest residual rating (0 with no hazards)."""
        return max((r for r, ids in self.residual.items() if ids), default=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: hazard ids per rating (5 down to 1) and per status."""
        return {
            "ratings": [
                {
                    "rating": rating,
                    "meaning": RISK_RATING_MEANINGS[rating],
                    "initial": list(self.initial[rating]),
                    "residual": list(self.residual[rating]),
                }
                for rating in sorted(RISK_RATING_MEANINGS, reverse=True)
            ],
            "status": {status: list(ids) for status, ids in self.by_status.items()},
            "highest_residual": self.highest_residual,
        }


@dataclass(frozen=True, slots=True)
class SafetyCase:
    """The whole safety case of one knowledge base."""

    hazards: tuple[HazardAssessment, ...]
    kb_version: str
    kb_digest: str
    log_path: str
    proofs_run: bool
    unlogged_withholds: tuple[str, ...]
    log_findings: tuple[SafetyFinding, ...] = ()

    @property
    def findings(self) -> tuple[SafetyFinding, ...]:
        """Every finding: of the log as a whole, then hazard by hazard."""
        return self.log_findings + tuple(f for row in self.hazards for f in row.findings)

    @property
    def errors(self) -> tuple[SafetyFinding, ...]:
        """Findings of error severity."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[SafetyFinding, ...]:
        """Findings of warning severity."""
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        """No error finding (open hazards are warnings: the log says honestly what is missing)."""
        return not self.errors

    def summary(self) -> RiskSummary:
        """The residual-risk summary."""
        ratings = sorted(RISK_RATING_MEANINGS)
        return RiskSummary(
            initial={r: tuple(h.hazard.id for h in self.hazards if h.hazard.initial.rating == r) for r in ratings},
            residual={r: tuple(h.hazard.id for h in self.hazards if h.hazard.residual.rating == r) for r in ratings},
            by_status={s: tuple(h.hazard.id for h in self.hazards if h.hazard.status == s) for s in HAZARD_STATUSES},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``rules safety-case --json``)."""
        return {
            "ok": self.ok,
            "knowledge_base": {"version": self.kb_version, "digest": self.kb_digest},
            "hazard_log": self.log_path,
            "risk_matrix": "DCB0129/DCB0160 5x5 (severity x likelihood -> rating 1-5)",
            "proofs_run": self.proofs_run,
            "hazards": [row.to_dict() for row in self.hazards],
            "summary": self.summary().to_dict(),
            "withhold_rules_not_in_log": list(self.unlogged_withholds),
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
        }


def _control_evidence(
    control: Control, advisor: Assessor, declared: set[str], proofs: Mapping[str, str] | None
) -> ControlEvidence:
    kb = advisor.knowledge_base
    if control.kind == "process":
        return ControlEvidence(control, "not checked by software")
    if control.kind == "invariant":
        if control.target not in declared:
            return ControlEvidence(control, "missing")
        return ControlEvidence(control, NOT_CHECKED if proofs is None else proofs.get(control.target, NOT_CHECKED))
    rule = kb.rule_index.get((control.rule if control.kind == "withholds" else control.target) or "")
    if rule is None:
        return ControlEvidence(control, "missing")
    if control.kind == "withholds" and not any(
        a.kind == "withhold" and a.target == control.target for a in rule.actions
    ):
        return ControlEvidence(control, "missing")
    return ControlEvidence(control, "in place")


def _first_sentence(text: str) -> str:
    """The first sentence of a gaps text, for one-line findings (the safety case shows it whole)."""
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def _test_evidence(case_id: str, advisor: Assessor, results: dict[str, TestEvidence]) -> TestEvidence:
    """The result of one named case, each case run once however many hazards name it."""
    if case_id not in results:
        case = advisor.knowledge_base.hazards.cases.get(case_id)
        if case is None:
            results[case_id] = TestEvidence(case_id, "", "", (), found=False)
        else:
            results[case_id] = TestEvidence(case_id, case.title, case.path, tuple(check_case(advisor, case)))
    return results[case_id]


def _assess_hazard(
    hazard: Hazard,
    advisor: Assessor,
    declared: set[str],
    proofs: Mapping[str, str] | None,
    results: dict[str, TestEvidence],
) -> HazardAssessment:
    where = (hazard.location,)
    controls = tuple(_control_evidence(c, advisor, declared, proofs) for c in hazard.controls)
    tests = [_test_evidence(case_id, advisor, results) for case_id in hazard.tests]

    findings: list[SafetyFinding] = []

    def add(check: str, message: str, severity: str = "error", rules: tuple[str, ...] = ()) -> None:
        findings.append(SafetyFinding(check, severity, f"hazard '{hazard.id}': {message}", hazard.id, rules, where))

    if not any(c.control.checkable for c in controls):
        add("hazard_without_control", "the hazard lists no rule, invariant or withhold that controls it")
    for evidence in controls:
        control = evidence.control
        if evidence.status == "missing":
            what = "withhold" if control.kind == "withholds" else control.kind
            add(
                "hazard_unknown_reference",
                f"control {control.describe()}: the knowledge base has no such {what}",
                rules=control.rule_ids,
            )
        elif control.kind == "invariant" and evidence.status != "proved" and proofs is not None:
            add("hazard_control_unproved", f"control invariant '{control.target}' is {evidence.status}, not proved")
    for test in tests:
        if not test.found:
            add("hazard_unknown_reference", f"test '{test.case}': no clinical case has that id")
        elif test.problems:
            more = f" (and {len(test.problems) - 1} more)" if len(test.problems) > 1 else ""
            add("hazard_test_failed", f"test case '{test.case}' fails: {test.problems[0]}{more}")
    if not tests and not any(c.control.kind == "invariant" for c in controls):
        add("hazard_untested", "no clinical case tests the hazard and no invariant proves a control")
    if hazard.status == "open":
        gap = f": {_first_sentence(hazard.gaps)}" if hazard.gaps else ""
        add("hazard_open", f"open, residual risk {hazard.residual.describe()}{gap}", "warning")
    return HazardAssessment(hazard, controls, tuple(tests), tuple(findings))


def build_safety_case(advisor: Assessor, proofs: Mapping[str, str] | None) -> SafetyCase:
    """The safety case of the advisor's knowledge base.

    ``proofs`` maps invariant ids to their status from ``rules verify``
    (``proved`` or ``violated``); None when the proofs were not run, in which
    case control invariants are shown as not checked and not reported as
    findings. Every clinical case the log names is run through the advisor.
    """
    kb = advisor.knowledge_base
    log = kb.hazards
    declared = {inv.id for inv in load_invariants(kb)}
    results: dict[str, TestEvidence] = {}
    rows = tuple(_assess_hazard(h, advisor, declared, proofs, results) for h in log.hazards)
    named = log.rules_named()
    unlogged = tuple(
        sorted(r.id for r in kb.rules if r.id not in named and any(a.kind == "withhold" for a in r.actions))
    )
    log_findings: tuple[SafetyFinding, ...] = ()
    if not log.hazards:
        log_findings = (
            SafetyFinding(
                "hazard_log_empty",
                "warning",
                "the hazard log lists no hazards",
                locations=(log.path,) if log.path else (),
            ),
        )
    return SafetyCase(rows, kb.version, kb.digest, log.path, proofs is not None, unlogged, log_findings)

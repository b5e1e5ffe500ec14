"""The clinician audit report (``rules report``): its data, its HTML and Markdown, and a real browser.

The browser test renders the HTML in headless Chromium (Debian's ``chromium``
package, installed by ``.ci/run``). It fails in CI when Chromium is missing
and is skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from locations import REPO

from spasm_advisor import Advisor
from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.kb.resources import bundled_knowledge_dir
from spasm_advisor.render.audit_data import AuditData, InvariantAudit
from spasm_advisor.render.audit_report import build_audit, render_html, render_markdown
from spasm_advisor.render.graph_svg import dependency_graph, layout_graph, render_mermaid

CASES = load_clinical_cases(bundled_knowledge_dir() / "cases", "knowledge/cases")
INJECTED = "<script>alert('pwned')</script> & \"quoted\" | pipe"


@pytest.fixture(scope="module", name="audit")
def _audit() -> AuditData:
    return build_audit(Advisor.default(), CASES)


@pytest.fixture(scope="module", name="html_text")
def _html_text(audit: AuditData) -> str:
    return render_html(audit)


@pytest.fixture(scope="module", name="md_text")
def _md_text(audit: AuditData) -> str:
    return render_markdown(audit)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def test_every_rule_is_in_the_audit_and_both_renderings(advisor, audit, html_text, md_text):
    ids = {r.id for r in advisor.knowledge_base.rules}
    assert {r.id for r in audit.rules} == ids
    assert len(audit.rules) == len(ids)
    for rule_id in ids:
        assert f'id="rule-{rule_id}"' in html_text
        assert f'<a id="rule-{rule_id}"></a>' in md_text


def test_rules_are_grouped_by_file_in_file_order(audit):
    for path, rules in audit.rule_files.items():
        assert all(r.path == path for r in rules)
        assert [r.line for r in rules] == sorted(r.line for r in rules)


def test_every_invariant_has_a_proof_status(advisor, audit, html_text, md_text):
    from spasm_advisor.analysis.invariants import load_invariants

    declared = [inv.id for inv in load_invariants(advisor.knowledge_base)]
    assert declared, "the bundled knowledge base declares invariants"
    assert [i.id for i in audit.verification.invariants] == declared
    for inv in audit.verification.invariants:
        assert inv.status in ("proved", "violated")
        assert f'id="inv-{inv.id}"' in html_text
        assert f"`{inv.id}`" in md_text


def test_unexercised_rules_match_the_cases(advisor, audit):
    fired = {rule for case in CASES for rule in advisor.assess(case.facts).fired_rules}
    expected = [r.id for r in sorted(advisor.knowledge_base.rules, key=lambda r: (r.path, r.line))]
    expected = [rule_id for rule_id in expected if rule_id not in fired]
    assert [r.id for r in audit.unexercised] == expected
    for rule in audit.rules:
        exercising = [c.id for c in CASES if rule.id in advisor.assess(c.facts).fired_rules]
        assert list(rule.exercised_by) == exercising


def test_unexercised_rules_are_listed_in_the_html(audit, html_text):
    section = re.search(r'<section id="unexercised">(.*?)</section>', html_text, re.S)
    assert section is not None
    listed = re.findall(r'href="#rule-([a-z0-9_]+)"', section.group(1))
    assert listed == [r.id for r in audit.unexercised]


def test_cases_pass_and_are_reported(audit):
    assert len(audit.cases) == len(CASES)
    assert all(c.passed for c in audit.cases), [c.problems for c in audit.cases if c.problems]


def test_acupuncture_guidelines_conflict_is_flagged(audit, html_text, md_text):
    entry = next(c for c in audit.catalogue if c.id == "acupuncture")
    assert entry.conflict
    assert "nice_ng59" in entry.opposing
    assert "acp_2017" in entry.supporting
    assert entry in audit.conflicts
    pattern = r'<article class="rec has-conflict" id="rec-acupuncture">(.*?)</article>'
    article = re.search(pattern, html_text, re.S)
    assert article is not None
    assert "Sources disagree" in article.group(1)
    assert "not recommended" in article.group(1)
    assert "**Sources disagree**" in md_text.split('<a id="rec-acupuncture"></a>')[1].split("<a id=")[0]


def test_agreeing_sources_are_not_a_conflict(audit):
    entry = next(c for c in audit.catalogue if c.id == "emergency_care")
    assert not entry.opposing
    assert not entry.conflict


def test_dependencies_are_symmetric(audit):
    by_id = {r.id: r for r in audit.rules}
    for rule in audit.rules:
        for dep in rule.depends_on:
            for deriver in dep.derived_by:
                assert dep.finding in [a.target for a in by_id[deriver].actions if a.kind == "derive"]
                if deriver != rule.id:
                    assert rule.id in by_id[deriver].depended_on_by


def test_unverified_citations_are_badged(audit, html_text):
    rule = next(r for r in audit.rules if any(not c.verified for c in r.sources))
    article = re.search(rf'<article class="rule" id="rule-{rule.id}"(.*?)</article>', html_text, re.S)
    assert article is not None
    assert 'class="badge unverified"' in article.group(1)


def test_version_and_digest_are_shown(advisor, html_text, md_text):
    kb = advisor.knowledge_base
    for text in (html_text, md_text):
        assert kb.digest in text
        assert f"version {kb.version}" in text


def test_violated_invariant_shows_its_counterexample(audit):
    broken = InvariantAudit(
        "x_inv",
        "A broken invariant",
        "if numbness then triage == emergency",
        None,
        "violated",
        {"numbness": True},
        True,
        "knowledge/invariants.yaml:1",
    )
    verification = dataclasses.replace(audit.verification, invariants=(broken,))
    changed = dataclasses.replace(audit, verification=verification)
    assert changed.verification.ok is False
    html_text, md_text = render_html(changed), render_markdown(changed)
    assert "violated" in html_text
    assert "numbness = yes" in html_text
    assert "numbness = yes" in md_text
    assert "problems found" in html_text


def test_report_without_z3_says_the_proofs_were_not_run(monkeypatch):
    # A None entry in sys.modules makes the import fail as if z3 were missing.
    monkeypatch.setitem(sys.modules, "spasm_advisor.analysis.verify", None)
    audit = build_audit(Advisor.default(), CASES[:2])
    assert not audit.verification.available
    assert audit.verification.ok is None
    assert {i.status for i in audit.verification.invariants} == {"not checked"}
    assert "z3-solver" in render_html(audit)


def test_reports_are_deterministic(audit, html_text, md_text):
    again = build_audit(Advisor.default(), CASES)
    assert render_html(again) == html_text
    assert render_markdown(again) == md_text


# --------------------------------------------------------------------------
# HTML and Markdown
# --------------------------------------------------------------------------


def test_html_is_self_contained(html_text):
    assert html_text.startswith("<!DOCTYPE html>")
    assert "<link" not in html_text
    assert not re.search(r"\ssrc\s*=", html_text)
    assert "@import" not in html_text
    assert "url(http" not in html_text
    assert html_text.count("<svg") == 1


def test_markdown_has_a_mermaid_graph(audit, md_text):
    block = md_text.split("```mermaid\n")[1].split("\n```")[0]
    assert block.startswith("flowchart LR")
    assert block == render_mermaid(audit.graph)


def _kb_with_injected_title(tmp_path: Path) -> tuple[Advisor, str]:
    """A copy of the repository's knowledge base in which one rule title holds markup."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "knowledge", tmp_path / "knowledge")
    rule = Advisor.from_paths(tmp_path / "rules", tmp_path / "knowledge").knowledge_base.rules[0]
    path = tmp_path / rule.path
    text = path.read_text(encoding="utf-8")
    start = text.index(f"id: {rule.id}")
    title = re.compile(r"^(\s*)title:.*$", re.M).search(text, start)
    assert title is not None
    yaml_title = INJECTED.replace("\\", "\\\\").replace('"', '\\"')
    text = text[: title.start()] + f'{title.group(1)}title: "{yaml_title}"' + text[title.end() :]
    path.write_text(text, encoding="utf-8")
    advisor = Advisor.from_paths(tmp_path / "rules", tmp_path / "knowledge", sealed=False)  # edited since sealed
    assert advisor.knowledge_base.rule_index[rule.id].title == INJECTED
    return advisor, rule.id


def test_html_escapes_knowledge_base_text(tmp_path):
    advisor, rule_id = _kb_with_injected_title(tmp_path)
    cases = load_clinical_cases(tmp_path / "knowledge" / "cases")
    html_text = render_html(build_audit(advisor, cases))
    assert "<script>alert" not in html_text
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in html_text
    # The page's own script is the only one, and it is the last element of the body.
    assert html_text.count("<script>") == 1
    md_text = render_markdown(build_audit(advisor, cases))
    assert "<script>" not in md_text
    heading = next(line for line in md_text.splitlines() if line.startswith(f"#### `{rule_id}`"))
    assert "&lt;script&gt;" in heading
    assert "\\|" in heading


# --------------------------------------------------------------------------
# Graph
# --------------------------------------------------------------------------


def test_graph_has_an_edge_for_every_rule_conclusion(advisor, audit):
    edges = audit.graph.edges
    for rule in advisor.knowledge_base.rules:
        for action in rule.actions:
            kind = {"derive": "finding", "triage": "triage"}.get(action.kind, "recommendation")
            target = f"{kind}:{action.target}"
            assert any(rule.id in e.rules and e.target == target and e.kind == action.kind for e in edges), (
                rule.id,
                action,
            )


def test_graph_columns_run_left_to_right(audit):
    column = {n.key: n.column for n in audit.graph.nodes}
    assert all(column[e.source] < column[e.target] for e in audit.graph.edges)


def test_graph_layout_does_not_overlap(advisor):
    graph = dependency_graph(advisor.knowledge_base)
    layout = layout_graph(graph)
    by_column: dict[int, list[float]] = {}
    for node in graph.nodes:
        x, y = layout.positions[node.key]
        assert 0 <= x < layout.width
        assert 0 <= y < layout.height
        by_column.setdefault(node.column, []).append(y)
    for ys in by_column.values():
        ys.sort()
        assert all(b - a >= 18 for a, b in itertools.pairwise(ys))


# --------------------------------------------------------------------------
# A real browser
# --------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module", name="chromium")
def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        reason = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason + "; CI runs this test")
    return found


def _run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_report_renders_in_a_real_browser(chromium, tmp_path, audit, html_text):
    report = tmp_path / "report.html"
    report.write_text(html_text, encoding="utf-8")

    dom = _run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", report.as_uri()).stdout
    rules = re.search(r'<section id="rules">(.*?)</section>', dom, re.S)
    assert rules is not None, dom[:500]
    for rule in audit.rules:
        assert f'id="rule-{rule.id}"' in rules.group(1)
    graph = re.search(r'<svg class="depgraph".*?</svg>', dom, re.S)
    assert graph is not None
    assert graph.group(0).count('class="node ') >= len(audit.graph.nodes)
    assert graph.group(0).count('<path class="edge ') >= len(audit.graph.edges)

    shot = tmp_path / "shot.png"
    _run_chromium(
        chromium, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,2000", report.as_uri()
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 2000)
    # A blank page of this size compresses to about 10 kB; the report with its graph is far larger.
    assert len(data) > 100_000

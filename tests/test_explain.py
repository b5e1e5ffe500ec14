"""explain: derivation trees that reach the answers given, wrapped to the terminal, and as one HTML page."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from cli_runner import run

from spasm_advisor import Advisor
from spasm_advisor.kb.conditions import render_value
from spasm_advisor.render.explain import absence_facts, render_explanation, render_explanation_html

REPO = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
DESK = yaml.safe_load((REPO / "examples" / "desk_worker.yaml").read_text())


def _absent_findings(node):
    yield from node["absent_findings"]
    for child in node["derived_from"]:
        yield from _absent_findings(child)


@pytest.mark.parametrize("case", [DESK, {"age": 30, "duration_days": 2}, {"on_anticoagulants": True}])
def test_every_absence_names_the_answers_that_made_it_hold(advisor, case):
    """Each 'no FINDING' lists every fact its deriving rules read, with the answer or 'unknown', and a count."""
    kb = advisor.knowledge_base
    assessment = advisor.assess(case)
    text = " ".join(render_explanation(assessment, kb, width=100).split())
    values = dict(assessment.case)
    tree = assessment.explain()
    nodes = [n for rec in tree["recommendations"] for n in rec["derivations"]] + tree["triage"]["derivations"]
    absent = {name for node in nodes for name in _absent_findings(node)}
    assert absent, "the case relies on some absence"
    for finding in absent:
        facts = absence_facts(kb, finding)
        assert facts
        said = ", ".join(f"{f} {render_value(values[f]) if f in values else 'unknown'}" for f in facts)
        assert f"no {finding}: {said} (" in text


def test_absence_of_a_red_flag_counts_the_answers(advisor):
    """The self-care tree of the desk worker: every red flag answered no, the one unasked context fact unknown."""
    kb = advisor.knowledge_base
    text = " ".join(render_explanation(advisor.assess(DESK), kb).split())
    flags = absence_facts(kb, "red_flag_present")
    assert set(kb.red_flags()) <= set(flags)
    answered_no = sum(1 for f in flags if DESK.get(f) is False)
    unknown = sum(1 for f in flags if f not in DESK)
    # Integer facts (age, duration, pain) behind the same-day rules follow with their values.
    assert f"({answered_no} answered no, {unknown} unknown" in text


@pytest.mark.parametrize("width", [60, 80, 120])
def test_explain_wraps_to_the_width(advisor, width):
    """No line is longer than the width, however long a rule's rationale."""
    text = render_explanation(advisor.assess({"age": 30, "duration_days": 2}), advisor.knowledge_base, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "│  " in text or "└─ " in text  # still a tree


class _Page(HTMLParser):
    """Collects tags and checks that every opened element is closed in order."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack, tag
        assert self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_one_self_contained_collapsible_page(advisor):
    """explain --format html: well-formed, nothing fetched, a <details> per rule, the audit report's styles."""
    from spasm_advisor.render.audit_report import PAGE_CSS

    assessment = advisor.assess(DESK)
    page = render_explanation_html(assessment, advisor.knowledge_base)
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    tags = [t for t, _ in parser.tags]
    assert tags.count("details") >= len(assessment.recommendations)
    assert "script" not in tags
    assert not [a for _, attrs in parser.tags for k, a in attrs.items() if k in ("src", "href")]
    csp = next(attrs for t, attrs in parser.tags if t == "meta" and attrs.get("http-equiv"))
    assert "default-src 'none'" in (csp["content"] or "")
    assert PAGE_CSS.strip()[:40] in page
    assert "relies on" in page
    assert "no red_flag_present: " in "".join(parser.text)


def test_html_escapes_knowledge_base_text(tmp_path):
    """A rule title with markup is shown as text, never as markup."""
    shutil.copytree(DATA / "mini", tmp_path / "kb")
    rules = tmp_path / "kb" / "rules" / "main.yaml"
    text = rules.read_text()
    assert "title: Older people" in text
    rules.write_text(text.replace("title: Older people", "title: \"<script>alert('x')</script> & more\"", 1))
    advisor = Advisor.from_paths(tmp_path / "kb" / "rules", tmp_path / "kb" / "knowledge", sealed=False)  # edited
    page = render_explanation_html(advisor.assess({"age": 70}), advisor.knowledge_base)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page


def test_cli_explain_html_to_a_file(tmp_path):
    """explain --format html -o FILE writes the page and says so on stderr."""
    target = tmp_path / "why.html"
    out = run("explain", str(REPO / "examples" / "desk_worker.yaml"), "--format", "html", "-o", str(target))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert f"wrote {target}" in out.stderr
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = run("explain", str(REPO / "examples" / "desk_worker.yaml"), "--format", "html", "-o", str(tmp_path))
    assert bad.returncode == 2
    assert "cannot write" in bad.stderr

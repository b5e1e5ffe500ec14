"""The audit report's sections: each one is a content function and a template, and the two agree."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import spasm_advisor.render as render_package
from spasm_advisor import Advisor
from spasm_advisor.analysis.clinical_cases import load_clinical_cases
from spasm_advisor.kb.resources import bundled_knowledge_dir
from spasm_advisor.render.audit_report import build_audit, render_html, render_markdown
from spasm_advisor.render.audit_sections import SECTIONS
from spasm_advisor.render.templating import template

RENDER = Path(render_package.__file__).parent


@pytest.fixture(scope="module", name="audit")
def _audit():
    return build_audit(Advisor.default(), load_clinical_cases(bundled_knowledge_dir() / "cases")[:5])


def _placeholders(text: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(text)} - {None}


@pytest.mark.parametrize("section", SECTIONS, ids=[s.key for s in SECTIONS])
def test_template_and_content_name_the_same_placeholders(audit, section):
    """Each section's template uses exactly the placeholders its content function fills."""
    text = (RENDER / "templates" / "audit" / "sections" / f"{section.key}.html").read_text(encoding="utf-8")
    assert _placeholders(text) == set(section.content(audit))
    assert template(f"audit/sections/{section.key}.html").template == text.removesuffix("\n")


def test_both_renderings_have_every_section_in_order(audit):
    """The HTML page and the Markdown report show the same sections, in the order of SECTIONS."""
    html_text, md_text = render_html(audit), render_markdown(audit)
    assert re.findall(r'<section id="([a-z-]+)"><h2>', html_text) == [s.key for s in SECTIONS]
    assert re.findall(r"^## (.+)$", md_text, re.M) == [s.title for s in SECTIONS]


def test_sections_have_distinct_keys():
    """Section keys are element ids and template names: each is used once."""
    keys = [s.key for s in SECTIONS]
    assert len(keys) == len(set(keys))


def _string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("module", ["audit_report.py", "audit_sections.py", "audit_data.py"])
def test_no_markup_in_the_python_of_the_report(module):
    """HTML, CSS and JavaScript live in the templates: the report's Python holds no tag, rule or script."""
    markup = re.compile(r"<[a-zA-Z/!]|\{\s*[a-z-]+\s*:|function\s*\(")
    assert [s for s in _string_literals(RENDER / module) if markup.search(s)] == []

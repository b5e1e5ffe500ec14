"""Readable derivation trees (``spasm-advisor explain``), as text or as one HTML page.

Each tree runs from the rule that concluded (the triage, a recommendation, a
withheld item) through the rules that derived the findings it used, down to
the answers given. A condition on the *absence* of a finding ("no
red_flag_present") names the answers that made it hold: every input fact the
rules deriving that finding read, with its value or "unknown", and a count
("numbness no, tingling no, ... (12 answered no, 3 unknown)").
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spasm_advisor.inference.assessment import NOTICE, Assessment
from spasm_advisor.kb.conditions import FindingRef, Value, render_value
from spasm_advisor.kb.model import KnowledgeBase, RuleSpec
from spasm_advisor.render.terminal import DEFAULT_WIDTH, wrap

__all__ = ["absence_facts", "render_explanation", "render_explanation_html"]


def absence_facts(kb: KnowledgeBase, finding: str) -> tuple[str, ...]:
    """The input facts whose answers decide whether ``finding`` is derived, in vocabulary order.

    Every fact read by a rule deriving ``finding``, and, through the findings
    those rules read, by the rules deriving them, down to input facts.
    """
    derivers: dict[str, list[RuleSpec]] = {}
    for rule in kb.rules:
        for name in rule.derives:
            derivers.setdefault(name, []).append(rule)
    facts: set[str] = set()
    seen: set[str] = set()
    stack = [finding]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for rule in derivers.get(name, ()):
            for conj in rule.dnf:
                for lit in conj:
                    if isinstance(lit, FindingRef):
                        stack.append(lit.name)
                    else:
                        facts.add(lit.name)
    return tuple(name for name in kb.facts if name in facts)


def _value_word(value: Value | None) -> str:
    return "unknown" if value is None else render_value(value)


def _absence_text(kb: KnowledgeBase, case: Mapping[str, Value], finding: str) -> str:
    facts = absence_facts(kb, finding)
    values = [(name, case.get(name)) for name in facts]
    listed = ", ".join(f"{name} {_value_word(value)}" for name, value in values)
    counts = Counter("unknown" if v is None else f"answered {render_value(v)}" for _, v in values)
    summary = ", ".join(f"{n} {word}" for word, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return f"no {finding}: {listed} ({summary})" if facts else f"no {finding} (no rule derives it)"


def _sources_text(sources: list[dict[str, Any]], kb: KnowledgeBase) -> str:
    parts = []
    for s in sources:
        known = kb.sources.get(s["id"])
        name = (known.label or known.title.split(":")[0]) if known else s["title"]
        parts.append(name + (f" ({s['ref']})" if s["ref"] else "") + ("" if s["verified"] else " [unverified]"))
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Node:
    """One rule of a tree, as labelled lines and the rules it rests on."""

    head: str
    rows: tuple[tuple[str, str], ...]
    children: tuple[_Node, ...]


def _build(node: Mapping[str, Any], kb: KnowledgeBase, case: Mapping[str, Value]) -> _Node:
    rows = [("because", node["because"])]
    if node["conditions"]:
        rows.append(("when", " and ".join(node["conditions"])))
    if node["facts"]:
        rows.append(("facts", ", ".join(f"{k} = {render_value(v)}" for k, v in node["facts"].items())))
    if node["unanswered"]:
        rows.append(("unanswered", ", ".join(node["unanswered"])))
    for finding in node["absent_findings"]:
        rows.append(("relies on", _absence_text(kb, case, finding)))
    rows.append(("sources", _sources_text(node["sources"], kb)))
    children = tuple(_build(child, kb, case) for child in node["derived_from"])
    return _Node(f"rule {node['rule']}: {node['title']}", tuple(rows), children)


@dataclass(frozen=True, slots=True)
class _Tree:
    title: str
    note: str | None
    roots: tuple[_Node, ...]


def _trees(assessment: Assessment, kb: KnowledgeBase) -> list[_Tree]:
    tree = assessment.explain()
    case = dict(assessment.case)
    triage = tree["triage"]
    note = None if triage["derivations"] else "no rule raised the triage: self-care is the default"
    out = [
        _Tree(f"Triage: {triage['level']}", note, tuple(_build(n, kb, case) for n in triage["derivations"])),
    ]
    for rec in tree["recommendations"]:
        title = f"Recommendation {rec['id']} ({rec['category']}): {rec['title']}"
        out.append(_Tree(title, None, tuple(_build(n, kb, case) for n in rec["derivations"])))
    for item in tree["withheld"]:
        out.append(_Tree(f"Withheld {item['id']}: {item['reason']}", None, (_build(item["derivations"][0], kb, case),)))
    return out


def _unanswered_text(assessment: Assessment) -> str | None:
    if not assessment.unanswered_red_flags:
        return None
    return "Unanswered red flags (unknown, not 'no'): " + ", ".join(assessment.unanswered_red_flags)


# --- text ------------------------------------------------------------------------


def _node_lines(node: _Node, prefix: str, last: bool, width: int, out: list[str]) -> None:
    branch = "└─ " if last else "├─ "
    inner = prefix + ("   " if last else "│  ")
    out += wrap(node.head, width, prefix + branch, inner)
    for label, text in node.rows:
        out += wrap(f"{label}: {text}", width, inner, inner + "  ")
    for i, child in enumerate(node.children):
        _node_lines(child, inner, i == len(node.children) - 1, width, out)


def render_explanation(assessment: Assessment, kb: KnowledgeBase, *, width: int = DEFAULT_WIDTH) -> str:
    """The derivation tree of the triage, each recommendation and each withheld item, wrapped to ``width``."""
    lines: list[str] = []
    for i, tree in enumerate(_trees(assessment, kb)):
        if i:
            lines.append("")
        lines += wrap(tree.title, width, "", "  ")
        if tree.note:
            lines += wrap(tree.note, width, "└─ ", "   ")
        for j, root in enumerate(tree.roots):
            _node_lines(root, "", j == len(tree.roots) - 1, width, lines)
    unanswered = _unanswered_text(assessment)
    if unanswered:
        lines += ["", *wrap(unanswered, width, "", "  ")]
    return "\n".join(lines) + "\n"


# --- HTML ------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _node_html(node: _Node) -> str:
    rows = "".join(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in node.rows)
    children = "".join(_node_html(child) for child in node.children)
    inner = f"<dl>{rows}</dl>" + (f'<div class="children">{children}</div>' if children else "")
    return f'<details open class="node"><summary>{_e(node.head)}</summary>{inner}</details>'


_TREE_CSS = """
details.node { margin:4px 0 4px 0; padding:2px 0 2px 12px; border-left:2px solid var(--line); }
details.node > summary { cursor:pointer; font-weight:600; }
details.node dl { display:grid; grid-template-columns:90px 1fr; gap:2px 10px; margin:4px 0 4px 8px; }
details.node dt { color:var(--muted); }
details.node dd { margin:0; overflow-wrap:anywhere; }
.children { margin-left:10px; }
section.tree { border:1px solid var(--line); border-left:4px solid var(--accent); border-radius:5px;
  padding:6px 12px; margin:0 0 12px; }
section.tree h2 { font-size:16px; border:none; margin:4px 0; }
"""


def render_explanation_html(assessment: Assessment, kb: KnowledgeBase) -> str:
    """The derivation trees as one self-contained HTML page: collapsible, offline, the audit report's styles."""
    from spasm_advisor.render.audit_report import PAGE_CSP, PAGE_CSS

    title = f"Spasm Advisor: why this case is triaged {assessment.triage}"
    body = []
    for tree in _trees(assessment, kb):
        note = f'<p class="muted">{_e(tree.note)}</p>' if tree.note else ""
        nodes = "".join(_node_html(root) for root in tree.roots)
        body.append(f'<section class="tree"><h2>{_e(tree.title)}</h2>{note}{nodes}</section>')
    unanswered = _unanswered_text(assessment)
    if unanswered:
        body.append(f'<p class="warn-text">{_e(unanswered)}</p>')
    case = ", ".join(f"{k} = {render_value(v)}" for k, v in assessment.case) or "no answers"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(PAGE_CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{PAGE_CSS}{_TREE_CSS}</style></head><body>"
        f'<header class="top"><h1>{_e(title)}</h1><div>Answers: {_e(case)}</div>'
        f'<p class="notice">{_e(NOTICE)}</p></header>'
        f"<main>{''.join(body)}</main>"
        f"<footer>Knowledge base {_e(assessment.kb_version)} ({_e(assessment.kb_digest)}).</footer>"
        "</body></html>\n"
    )

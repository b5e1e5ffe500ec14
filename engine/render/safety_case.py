"""The clinical safety case as text, Markdown or an HTML fragment.

Renders a :class:`~spasm_advisor.analysis.safety_case.SafetyCase`: an
overview row per hazard (status, initial and residual risk, controls in
place, proofs, tests passing), then each hazard with its controls and their
evidence, its tests, its gaps, and the residual-risk summary. ``rules
safety-case`` prints the text or Markdown; the audit report embeds the
Markdown or the HTML fragment as its Clinical safety section. Nothing here
prints or writes files.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from spasm_advisor.analysis.safety_case import HazardAssessment, SafetyCase
from spasm_advisor.kb.hazards import LIKELIHOODS, RISK_MATRIX, RISK_RATING_MEANINGS, SEVERITIES

__all__ = ["render_safety_case_markdown", "render_safety_case_text", "safety_case_html", "safety_case_markdown"]

_MATRIX_NOTE = (
    "Risk ratings follow the DCB0129/DCB0160 clinical risk matrix: severity x likelihood gives 1 "
    "(acceptable) to 5 (unacceptable). Initial: without the controls; residual: with them."
)


def _counts(row: HazardAssessment) -> tuple[str, str, str]:
    """``in place/checkable controls``, ``proved/invariants`` and ``passing/tests`` of one hazard."""
    checkable = [c for c in row.controls if c.control.checkable]
    proofs = row.proofs
    passing = sum(1 for t in row.tests if t.passed)
    return (
        f"{sum(1 for c in checkable if c.ok)}/{len(checkable)}",
        f"{sum(1 for c in proofs if c.status == 'proved')}/{len(proofs)}",
        f"{passing}/{len(row.tests)}",
    )


def _verdict(case: SafetyCase) -> str:
    still_open = len(case.summary().by_status["open"])
    left = f"; {still_open} of {len(case.hazards)} hazards are still open" if still_open else ""
    if case.ok:
        return f"OK: every control is in place, every control invariant proved and every test case passes{left}"
    return f"FAILED: {len(case.errors)} broken link(s) in the safety case{left}"


def _summary_rows(case: SafetyCase) -> list[tuple[int, str, tuple[str, ...], tuple[str, ...]]]:
    summary = case.summary()
    return [
        (rating, RISK_RATING_MEANINGS[rating], summary.initial[rating], summary.residual[rating])
        for rating in sorted(RISK_RATING_MEANINGS, reverse=True)
    ]


# --- text -----------------------------------------------------------------------


def render_safety_case_text(case: SafetyCase) -> str:
    """The safety case as plain text (``rules safety-case``)."""
    summary = case.summary()
    status_text = ", ".join(f"{len(ids)} {status}" for status, ids in summary.by_status.items())
    lines = [
        f"Clinical safety case: knowledge base {case.kb_version} ({case.kb_digest})",
        f"Hazard log {case.log_path}: {len(case.hazards)} hazards ({status_text}).",
        _MATRIX_NOTE,
    ]
    if not case.proofs_run:
        lines.append("The invariants were not proved in this run: their status is 'not checked'.")
    width = max((len(row.hazard.id) for row in case.hazards), default=6)
    lines += ["", f"{'hazard':<{width}}  status      initial  residual  controls  proofs  tests"]
    for row in case.hazards:
        controls, proofs, tests = _counts(row)
        lines.append(
            f"{row.hazard.id:<{width}}  {row.hazard.status:<10}  {row.hazard.initial.rating:^7}  "
            f"{row.hazard.residual.rating:^8}  {controls:^8}  {proofs:^6}  {tests:^5}"
        )
    for row in case.hazards:
        hazard = row.hazard
        lines += [
            "",
            f"{hazard.id}: {hazard.title} [{hazard.status}]",
            f"  risk: initial {hazard.initial.describe()} -> residual {hazard.residual.describe()}",
            f"  cause: {hazard.cause}",
            f"  effect: {hazard.effect}",
            f"  harm: {hazard.harm}",
            "  controls:",
        ]
        lines += [f"    {c.status:<23} {c.control.describe()}" for c in row.controls] or ["    none"]
        passing = sum(1 for t in row.tests if t.passed)
        lines.append(f"  tests ({passing} of {len(row.tests)} pass):" if row.tests else "  tests: none")
        for test in row.tests:
            lines.append(f"    {test.status:<23} {test.case}")
            lines += [f"{'':28}- {problem}" for problem in test.problems]
        if hazard.gaps:
            lines.append(f"  gaps: {hazard.gaps}")
        lines.append(f"  sources: {', '.join(hazard.sources) or 'none in the knowledge base'}")
        lines.append(f"  at {hazard.location}")
    lines += ["", "Residual risk (hazards per rating, before -> after the controls):"]
    for rating, meaning, initial, residual in _summary_rows(case):
        named = f"  {', '.join(residual)}" if residual and rating >= 3 else ""
        lines.append(f"  {rating} {meaning:<72} {len(initial):>2} -> {len(residual):<2}{named}")
    open_ids = summary.by_status["open"]
    lines.append(
        f"Open hazards: {len(open_ids)} of {len(case.hazards)}" + (f": {', '.join(open_ids)}" if open_ids else "")
    )
    lines.append(
        "Withhold rules the log does not name: "
        + (", ".join(case.unlogged_withholds) if case.unlogged_withholds else "none")
        + "."
    )
    if case.errors:
        lines += ["", f"Errors ({len(case.errors)}):"]
        lines += [f"  {f.check}: {f.message} [{', '.join(f.locations)}]" for f in case.errors]
    lines += ["", _verdict(case)]
    return "\n".join(lines) + "\n"


# --- Markdown -------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>])")


def _md(text: object) -> str:
    """Escape text for Markdown prose or a table cell (one line, no raw HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _mc(text: object) -> str:
    """Inline code; backticks inside become quotes."""
    return "`" + " ".join(str(text).split()).replace("`", "'") + "`"


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def _md_control(text: str) -> str:
    return _md(text) if text.startswith("process:") else _mc(text)


def safety_case_markdown(case: SafetyCase, level: int = 2) -> list[str]:
    """The safety case as Markdown lines, its headings starting at ``level`` (the report nests it)."""
    h = "#" * level
    summary = case.summary()
    out = [_md(_MATRIX_NOTE), ""]
    if not case.proofs_run:
        out += ["The invariants were not proved in this run: their status is *not checked*.", ""]
    out += [f"{h} Hazard matrix", ""]
    rows = []
    for row in case.hazards:
        controls, proofs, tests = _counts(row)
        hazard = row.hazard
        rows.append(
            (
                _mc(hazard.id),
                _md(hazard.title),
                hazard.status,
                _md(hazard.initial.describe()),
                _md(hazard.residual.describe()),
                controls,
                proofs,
                tests,
            )
        )
    out += _md_table(["Hazard", "Title", "Status", "Initial", "Residual", "Controls", "Proofs", "Tests"], rows)
    out += [f"{h} Residual risk", ""]
    out += _md_table(
        ["Rating", "Meaning", "Initial", "Residual", "Hazards (residual)"],
        (
            (str(rating), _md(meaning), str(len(initial)), str(len(residual)), ", ".join(_mc(i) for i in residual))
            for rating, meaning, initial, residual in _summary_rows(case)
        ),
    )
    open_ids = summary.by_status["open"]
    out += [
        f"Open hazards: {len(open_ids)} of {len(case.hazards)}. Withhold rules the log does not name: "
        + (", ".join(_mc(r) for r in case.unlogged_withholds) if case.unlogged_withholds else "none")
        + ".",
        "",
    ]
    for row in case.hazards:
        hazard = row.hazard
        out += [
            f"{h}# {_mc(hazard.id)}: {_md(hazard.title)}",
            "",
            f"- Status: **{hazard.status}**; risk {_md(hazard.initial.describe())} -> residual "
            f"{_md(hazard.residual.describe())}",
            f"- Cause: {_md(hazard.cause)}",
            f"- Effect: {_md(hazard.effect)}",
            f"- Harm: {_md(hazard.harm)}",
        ]
        if hazard.gaps:
            out.append(f"- Gaps: {_md(hazard.gaps)}")
        out += [
            f"- Sources: {', '.join(_mc(s) for s in hazard.sources) or 'none in the knowledge base'}",
            f"- Where: {_md(hazard.location)}",
            "",
        ]
        out += _md_table(
            ["Control", "Evidence"], ((_md_control(c.control.describe()), _md(c.status)) for c in row.controls)
        )
        if row.tests:
            out += _md_table(
                ["Test case", "Result"],
                ((_mc(t.case), t.status + ("".join(f"; {_md(p)}" for p in t.problems))) for t in row.tests),
            )
        else:
            out += ["No clinical case tests this hazard.", ""]
    if case.errors:
        out += [f"{h} Broken links", ""]
        out += _md_table(["Check", "Message"], ((_mc(f.check), _md(f.message)) for f in case.errors))
    out += [_md(_verdict(case)), ""]
    return out


def render_safety_case_markdown(case: SafetyCase) -> str:
    """The safety case as a Markdown document (``rules safety-case --format md``)."""
    head = [
        f"# Clinical safety case: knowledge base {_md(case.kb_version)}",
        "",
        f"Digest {_mc(case.kb_digest)}; hazard log {_mc(case.log_path)}.",
        "",
    ]
    return "\n".join(head + safety_case_markdown(case, 2))


# --- HTML -----------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {_e(cls)}">{_e(text)}</span>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str) -> str:
    head = "".join(f"<th>{_e(x)}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{_e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _rating_badge(rating: int) -> str:
    return _badge(str(rating), "bad" if rating >= 4 else "warn" if rating == 3 else "ok")


_STATUS_CLASS = {"in place": "ok", "proved": "ok", "passed": "ok", "not checked by software": "warn"}


def _matrix_html() -> str:
    """The published matrix itself, likelihood rows down, severity columns across."""
    rows = [
        (f"<strong>{_e(likelihood)}</strong>", *(_rating_badge(r) for r in RISK_MATRIX[likelihood]))
        for likelihood in reversed(LIKELIHOODS)
    ]
    return _table(["Likelihood \\ severity", *SEVERITIES], rows, "risk-matrix")


def safety_case_html(case: SafetyCase) -> str:
    """The safety case as an HTML fragment for the audit report (inline markup, no scripts or links out)."""
    summary = case.summary()
    parts = [f'<p class="muted">{_e(_MATRIX_NOTE)}</p>']
    if not case.proofs_run:
        parts.append(
            '<p class="warn-text">The invariants were not proved in this run: their status is not checked.</p>'
        )
    overview = []
    for row in case.hazards:
        controls, proofs, tests = _counts(row)
        hazard = row.hazard
        overview.append(
            (
                f'<a href="#hazard-{_e(hazard.id)}"><code>{_e(hazard.id)}</code></a>',
                _e(hazard.title),
                _badge(hazard.status, "ok" if hazard.status != "open" else "warn"),
                _rating_badge(hazard.initial.rating)
                + f" {_e(hazard.initial.severity)} x {_e(hazard.initial.likelihood)}",
                _rating_badge(hazard.residual.rating)
                + f" {_e(hazard.residual.severity)} x {_e(hazard.residual.likelihood)}",
                _e(controls),
                _e(proofs),
                _e(tests),
            )
        )
    parts.append("<h3>Hazard matrix</h3>")
    parts.append(
        _table(["Hazard", "Title", "Status", "Initial", "Residual", "Controls", "Proofs", "Tests"], overview, "hazards")
    )
    parts.append("<h3>Residual risk</h3>")
    parts.append(
        _table(
            ["Rating", "Meaning", "Initial", "Residual", "Hazards (residual)"],
            (
                (
                    _rating_badge(rating),
                    _e(meaning),
                    str(len(initial)),
                    str(len(residual)),
                    ", ".join(f"<code>{_e(i)}</code>" for i in residual),
                )
                for rating, meaning, initial, residual in _summary_rows(case)
            ),
            "residual",
        )
    )
    unlogged = ", ".join(f"<code>{_e(r)}</code>" for r in case.unlogged_withholds) or "none"
    parts.append(
        f"<p>Open hazards: {len(summary.by_status['open'])} of {len(case.hazards)}. "
        f"Withhold rules the log does not name: {unlogged}.</p>"
    )
    parts.append(f"<details><summary>The risk matrix</summary>{_matrix_html()}</details>")
    for row in case.hazards:
        hazard = row.hazard
        controls = _table(
            ["Control", "Evidence"],
            ((_e(c.control.describe()), _badge(c.status, _STATUS_CLASS.get(c.status, "bad"))) for c in row.controls),
            "controls",
        )
        tests = (
            _table(
                ["Test case", "Result"],
                (
                    (
                        f"<code>{_e(t.case)}</code> {_e(t.title)}",
                        _badge(t.status, _STATUS_CLASS.get(t.status, "bad"))
                        + "".join(f'<div class="muted">{_e(p)}</div>' for p in t.problems),
                    )
                    for t in row.tests
                ),
                "tests",
            )
            if row.tests
            else '<p class="muted">No clinical case tests this hazard.</p>'
        )
        gaps = f"<p><strong>Gaps:</strong> {_e(hazard.gaps)}</p>" if hazard.gaps else ""
        sources = ", ".join(f"<code>{_e(s)}</code>" for s in hazard.sources) or "none in the knowledge base"
        parts.append(
            f'<article id="hazard-{_e(hazard.id)}"><h3><code>{_e(hazard.id)}</code>: {_e(hazard.title)} '
            f"{_badge(hazard.status, 'ok' if hazard.status != 'open' else 'warn')}</h3>"
            f'<p class="meta">risk {_e(hazard.initial.describe())} &rarr; residual {_e(hazard.residual.describe())}'
            f" &middot; {_e(hazard.location)}</p>"
            f"<p><strong>Cause:</strong> {_e(hazard.cause)}</p>"
            f"<p><strong>Effect:</strong> {_e(hazard.effect)}</p>"
            f"<p><strong>Harm:</strong> {_e(hazard.harm)}</p>{gaps}"
            f"{controls}{tests}<p><strong>Sources:</strong> {sources}</p></article>"
        )
    if case.errors:
        parts.append("<h3>Broken links</h3>")
        parts.append(
            _table(
                ["Check", "Message"], ((f"<code>{_e(f.check)}</code>", _e(f.message)) for f in case.errors), "broken"
            )
        )
    parts.append(f"<p>{_badge(_verdict(case), 'ok' if case.ok else 'bad')}</p>")
    return "".join(parts)

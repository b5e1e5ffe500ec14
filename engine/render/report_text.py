"""The report as text for a terminal (``spasm-advisor assess``, and the end of ``interview``).

By default each action is one item and the other options one paragraph per
category, so a self-care case fits on one screen. ``details`` adds each
item's advice, its general cautions and the graded evidence behind it, and
the knowledge base's digest.
"""

from __future__ import annotations

from spasm_advisor.render.report import Line, Report, Section
from spasm_advisor.render.terminal import DEFAULT_WIDTH, Style, wrap

__all__ = ["OPTION_LINES", "render_text"]

_HEADLINE_STYLE = {
    "critical": ("bold", "red"),
    "warning": ("bold", "yellow"),
    "info": ("bold", "green"),
}


def _plain_labelled(line: Line) -> str:
    return line.text + (f" [{line.strength}]" if line.strength else "")


def _restyle(rows: list[str], line: Line, style: Style) -> list[str]:
    """Dim the strength label after wrapping (escapes must not count towards the width)."""
    label = f"[{line.strength}]"
    if line.strength and style.colour and rows[-1].endswith(label):
        rows[-1] = rows[-1][: -len(label)] + style(label, "dim")
    return rows


def _item(line: Line, width: int, style: Style, details: bool) -> list[str]:
    out = _restyle(wrap(_plain_labelled(line), width, "- ", "  "), line, style)
    for item in line.items:
        out += wrap(item, width, "    * ", "      ")
    for warning in line.warnings:
        out += [style(row, "yellow") for row in wrap(f"Important: {warning}", width, "  ", "  ")]
    if details:
        for detail in line.details:
            out += wrap(detail, width, "  ", "  ")
        for caution in line.cautions:
            out += wrap(f"Caution: {caution}", width, "  ", "  ")
        if line.evidence:
            out += [style(row, "dim") for row in wrap("Evidence: " + "; ".join(line.evidence), width, "  ", "  ")]
    return out


#: The sections whose lines are shown under their group's heading.
_GROUPED = frozenset({"options", "unanswered", "get_help"})

#: Lines of other options shown per category by default; the rest are counted (``--details`` lists them).
OPTION_LINES = 3


def _options(section: Section, width: int, style: Style) -> list[str]:
    """Other options, a short paragraph per category (best evidence first); the rest are counted."""
    out: list[str] = []
    groups: dict[str | None, list[Line]] = {}
    for line in section.lines:
        groups.setdefault(line.group, []).append(line)
    for group, lines in groups.items():
        head = f"{group}: " if group else ""
        # An option with a warning for this person is never folded into the count.
        plain = [line for line in lines if not line.warnings]
        shown = len(plain)
        rows: list[str] = []
        while plain:
            listed = "; ".join(_plain_labelled(line) for line in plain[:shown])
            more = len(plain) - shown
            text = head + listed + (f"; and {more} more (add --details to the command to see them)." if more else ".")
            rows = wrap(text, width, "", "  ")
            if len(rows) <= OPTION_LINES or shown == 1:
                break
            shown -= 1
        out += [_dim_labels(row, plain, style) for row in rows] if style.colour else rows
        for line in lines:
            if line.warnings:
                out += _item(line, width, style, False)
    return out


def _dim_labels(row: str, lines: list[Line], style: Style) -> str:
    for label in {f"[{line.strength}]" for line in lines if line.strength}:
        row = row.replace(label, style(label, "dim"))
    return row


def _section(section: Section, width: int, style: Style, details: bool) -> list[str]:
    if section.kind == "level":
        out = [style(row, *_HEADLINE_STYLE[section.level]) for row in wrap(section.title, width)]
        for line in section.lines:
            out += wrap(line.text, width)
        return out
    if section.kind == "notice":
        out = []
        for line in section.lines:
            out += wrap(line.text, width)
            if details:
                for detail in line.details:
                    out += wrap(detail, width)
        return out
    title_style = ("bold", "red") if section.level == "critical" else ("bold",)
    out = [style(section.title, *title_style)]
    if section.kind == "options" and not details:
        out += _options(section, width, style)
    else:
        # The safety net's note (a warning about the whole list) goes before its "Later" lines, which are not for now.
        note_at = len(section.lines)
        if section.kind == "get_help":
            note_at = next((i for i, line in enumerate(section.lines) if line.group is not None), note_at)
        group = None
        for i, line in enumerate(section.lines):
            if i == note_at and section.note:
                out += wrap(section.note, width)
            if details and len(out) > 1 and (line.details or line.cautions or line.evidence):
                out.append("")
            if section.kind in _GROUPED and line.group != group and line.group is not None:
                group = line.group
                out += wrap(group if group.endswith(":") else f"{group}:", width)
            out += _item(line, width, style, details)
        if note_at < len(section.lines) and section.note:
            return out
    if section.note:
        out += wrap(section.note, width)
    return out


def render_text(report: Report, *, width: int = DEFAULT_WIDTH, colour: bool = False, details: bool = False) -> str:
    """``report`` as text wrapped to ``width`` columns, with ANSI bold and colour when ``colour``."""
    style = Style(colour)
    # An emergency report keeps to the one thing to do: what is not advised is for --details.
    shown = [s for s in report.sections if details or not (report.triage == "emergency" and s.kind == "withheld")]
    blocks = [_section(section, width, style, details) for section in shown]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"

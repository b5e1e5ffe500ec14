"""What a report section says, independent of HTML or Markdown, and the two renderings of it.

A section's content is built from these values: *inline* values (text,
code, links, badges, ...) inside *blocks* (paragraphs, headings, tables,
lists, definitions, articles, cards). :func:`to_html` renders them with the
fragments of ``templates/blocks.html``; :func:`to_markdown` as Markdown. A
plain ``str`` is text: both renderings escape it, so knowledge-base text can
never inject markup. A tuple of blocks is the blocks one after the other.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from spasm_advisor.kb.conditions import All, Any_, Comparison, Condition, FindingRef, Known, Not, render
from spasm_advisor.render.graph_svg import anchor
from spasm_advisor.render.templating import fragments

__all__ = [
    "Anchored",
    "Article",
    "Badge",
    "Block",
    "Cards",
    "Code",
    "ConditionTree",
    "Content",
    "Definitions",
    "Details",
    "Heading",
    "Inline",
    "Items",
    "Join",
    "Line",
    "Link",
    "Muted",
    "Para",
    "Raw",
    "Span",
    "Strong",
    "Table",
    "WebLink",
    "to_html",
    "to_markdown",
]


# --- inline values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """Text set as code (an id, a condition); ``cls`` is an HTML class."""

    text: str
    cls: str | None = None


@dataclass(frozen=True, slots=True)
class Strong:
    """Emphasised content."""

    content: Inline


@dataclass(frozen=True, slots=True)
class Link:
    """A link to ``#href`` on the same page; ``cls="anchor"`` is a link to the element itself (none in Markdown)."""

    href: str
    content: Inline
    cls: str | None = None


@dataclass(frozen=True, slots=True)
class WebLink:
    """A link to a page elsewhere (a source's address), shown as the address itself."""

    url: str


@dataclass(frozen=True, slots=True)
class Badge:
    """A short status word; ``cls`` is its HTML class (``ok``, ``bad``, ``warn``, ``unverified``, ...)."""

    text: str
    cls: str


@dataclass(frozen=True, slots=True)
class Muted:
    """Secondary content (``none``, a note)."""

    content: Inline


@dataclass(frozen=True, slots=True)
class Span:
    """Content with an HTML class (``ref``, ``warn-text``, ``act-withhold``); alert classes are bold in Markdown."""

    content: Inline
    cls: str


@dataclass(frozen=True, slots=True)
class Line:
    """Content on a line of its own inside a table cell; ``cls="muted"`` for secondary content."""

    content: Inline
    cls: str | None = None


@dataclass(frozen=True, slots=True)
class Anchored:
    """Content that a link can point to: ``#id`` (HTML only)."""

    id: str
    content: Inline


@dataclass(frozen=True, slots=True)
class Details:
    """Content folded under a summary (HTML ``<details>``)."""

    summary: Inline
    content: Inline


@dataclass(frozen=True, slots=True)
class Join:
    """Inline values with ``sep`` between them; ``empty`` stands in for none. ``lines`` breaks lines in HTML."""

    items: tuple[Inline, ...]
    sep: str = ""
    empty: Inline = ""
    lines: bool = False


@dataclass(frozen=True, slots=True)
class ConditionTree:
    """A rule condition: nested "all of" / "any of" lists in HTML, ``text`` as code in Markdown."""

    condition: Condition
    text: str


@dataclass(frozen=True, slots=True)
class Raw:
    """Content made by another renderer (the graph): as given for HTML, and for Markdown."""

    html: str
    markdown: str


Inline: TypeAlias = (
    str | Code | Strong | Link | WebLink | Badge | Muted | Span | Line | Anchored | Details | Join | ConditionTree | Raw
)


# --- blocks ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph; ``cls`` is an HTML class (``muted``, ``meta``, ``conflict``)."""

    content: Inline
    cls: str | None = None


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading of ``level`` (3 or 4 in a section), with an ``id`` links can point to."""

    content: Inline
    level: int = 3
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A table: ``headers`` and one tuple of cells per row; ``cls`` is its HTML class."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]
    cls: str


@dataclass(frozen=True, slots=True)
class Items:
    """A bulleted list."""

    items: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Definitions:
    """Terms and what they say (``When``: the condition, ``Then``: the conclusions, ...)."""

    items: tuple[tuple[str, Content], ...]


@dataclass(frozen=True, slots=True)
class Article:
    """A described item (a rule, a catalogue entry) with an ``id``, a heading and blocks.

    ``search`` is the lower-case text the HTML page's filter matches.
    """

    id: str
    cls: str
    heading: Inline
    body: tuple[Block, ...]
    search: str | None = None


@dataclass(frozen=True, slots=True)
class Cards:
    """Key figures: ``(key, value, wide)``; a wide card spans two columns in HTML."""

    items: tuple[tuple[str, Inline, bool], ...]


Block: TypeAlias = Para | Heading | Table | Items | Definitions | Article | Cards | Raw
#: What a section's content function gives for one placeholder of its template.
Content: TypeAlias = Inline | Block | tuple[Block, ...]

_BLOCKS = (Para, Heading, Table, Items, Definitions, Article, Cards)


# --- HTML ----------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _f(name: str, **values: str) -> str:
    return fragments("blocks.html")[name].substitute(values)


def _inline_html(value: Inline) -> str:
    if isinstance(value, str):
        return _e(value)
    if isinstance(value, Code):
        if value.cls:
            return _f("code-class", cls=_e(value.cls), content=_e(value.text))
        return _f("code", content=_e(value.text))
    if isinstance(value, Strong):
        return _f("strong", content=_inline_html(value.content))
    if isinstance(value, Link):
        content = _inline_html(value.content)
        if value.cls:
            return _f("link-class", cls=_e(value.cls), href=_e(value.href), content=content)
        return _f("link", href=_e(value.href), content=content)
    if isinstance(value, WebLink):
        return _f("web-link", url=_e(value.url))
    if isinstance(value, Badge):
        return _f("badge", cls=_e(value.cls), text=_e(value.text))
    if isinstance(value, Muted):
        return _f("muted", content=_inline_html(value.content))
    if isinstance(value, Span):
        return _f("span", cls=_e(value.cls), content=_inline_html(value.content))
    if isinstance(value, Line):
        if value.cls:
            return _f("line-class", cls=_e(value.cls), content=_inline_html(value.content))
        return _f("line", content=_inline_html(value.content))
    if isinstance(value, Anchored):
        return _f("anchored", id=_e(value.id), content=_inline_html(value.content))
    if isinstance(value, Details):
        return _f("details", summary=_inline_html(value.summary), content=_inline_html(value.content))
    if isinstance(value, Join):
        if not value.items:
            return _inline_html(value.empty)
        sep = _f("break") if value.lines else _e(value.sep)
        return sep.join(_inline_html(item) for item in value.items)
    if isinstance(value, ConditionTree):
        return _condition_html(value.condition)
    return value.html


def _condition_html(cond: Condition) -> str:
    """A condition as nested lists: "all of" / "any of", with each atom as code."""
    if isinstance(cond, All | Any_):
        op = _f("op", content="all of" if isinstance(cond, All) else "any of")
        if all(isinstance(item, Comparison | Known | FindingRef) for item in cond.items):
            # A flat list of atoms (e.g. fifteen red flags) reads best on one wrapping line.
            return op + " " + ", ".join(_condition_html(item) for item in cond.items)
        items = "".join(_f("item", content=_condition_html(item)) for item in cond.items)
        return op + _f("items-class", cls="cond", items=items)
    if isinstance(cond, Not):
        return _f("op", content="not") + " " + _condition_html(cond.item)
    if isinstance(cond, FindingRef):
        link = _inline_html(Link(anchor("finding", cond.name), cond.name))
        return _f("code-class", cls="finding", content=("no " if cond.negated else "") + link)
    return _f("code", content=_e(render(cond)))


def _block_html(block: Block) -> str:
    if isinstance(block, Para):
        content = _inline_html(block.content)
        return _f("para-class", cls=_e(block.cls), content=content) if block.cls else _f("para", content=content)
    if isinstance(block, Heading):
        content, level = _inline_html(block.content), str(block.level)
        if block.id:
            return _f("heading-id", level=level, id=_e(block.id), content=content)
        return _f("heading", level=level, content=content)
    if isinstance(block, Table):
        head = "".join(_f("header", content=_e(h)) for h in block.headers)
        body = "".join(
            _f("row", cells="".join(_f("cell", content=_inline_html(cell)) for cell in row)) for row in block.rows
        )
        return _f("table", cls=_e(block.cls), head=head, body=body)
    if isinstance(block, Items):
        return _f("items", items="".join(_f("item", content=_inline_html(item)) for item in block.items))
    if isinstance(block, Definitions):
        return _f(
            "definitions",
            items="".join(_f("definition", term=_e(term), content=to_html(value)) for term, value in block.items),
        )
    if isinstance(block, Article):
        search = _f("search-attribute", text=_e(block.search)) if block.search is not None else ""
        return _f(
            "article",
            cls=_e(block.cls),
            id=_e(block.id),
            search=search,
            heading=_inline_html(block.heading),
            body="".join(_block_html(b) for b in block.body),
        )
    if isinstance(block, Cards):
        return _f(
            "cards",
            cards="".join(
                _f("card-wide" if wide else "card", key=_e(key), value=_inline_html(value))
                for key, value, wide in block.items
            ),
        )
    return block.html


def to_html(content: Content) -> str:
    """``content`` as HTML, every text escaped."""
    if isinstance(content, tuple):
        return "".join(_block_html(block) for block in content)
    if isinstance(content, _BLOCKS):
        return _block_html(content)
    return _inline_html(content)


# --- Markdown ------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
#: Classes of badges and spans that say something is wrong, withheld or unconfirmed: bold in Markdown.
_ALERTS = frozenset({"bad", "warn", "warn-text", "unverified", "withdrawn", "act-withhold", "act-caution"})


def _md(text: object) -> str:
    """Escape text for Markdown prose or a table cell (one line; no raw HTML passes).

    Runs of whitespace become one space, kept at either end: text is often a piece of a line.
    """
    raw = str(text)
    flat = " ".join(raw.split())
    if raw[:1].isspace():
        flat = " " + flat.lstrip()
    if raw[-1:].isspace() and not flat.endswith(" "):
        flat += " "
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _mc(text: object) -> str:
    """Text as an inline code span (ids, conditions); pipes escaped for tables."""
    flat = " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")
    return f"`{flat}`"


def _inline_md(value: Inline) -> str:
    if isinstance(value, str):
        return _md(value)
    if isinstance(value, Code):
        return _mc(value.text)
    if isinstance(value, Strong):
        return f"**{_inline_md(value.content)}**"
    if isinstance(value, Link):
        content = _inline_md(value.content)
        return content if value.cls == "anchor" else f"[{content}](#{value.href})"
    if isinstance(value, WebLink):
        return _md(value.url)
    if isinstance(value, Badge):
        text = _md(value.text)
        return f"**{text}**" if value.cls in _ALERTS else text
    if isinstance(value, Span):
        content = _inline_md(value.content)
        return f"**{content}**" if value.cls in _ALERTS else content
    if isinstance(value, Muted | Anchored):
        return _inline_md(value.content)
    if isinstance(value, Line):
        content = _inline_md(value.content)
        return f" ({content})" if value.cls == "muted" else f" {content}"
    if isinstance(value, Details):
        return f"{_inline_md(value.summary)}: {_inline_md(value.content)}"
    if isinstance(value, Join):
        if not value.items:
            return _inline_md(value.empty)
        return (", " if value.lines else value.sep).join(_inline_md(item) for item in value.items)
    if isinstance(value, ConditionTree):
        return _mc(value.text)
    return value.markdown


def _table_md(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _flat_md(content: Content) -> str:
    """Content on one line (a definition's value, a table cell): lists and paragraphs joined with '; '."""
    if isinstance(content, tuple):
        return " ".join(_flat_md(block) for block in content)
    if isinstance(content, Items):
        return "; ".join(_inline_md(item) for item in content.items)
    if isinstance(content, Para):
        return _inline_md(content.content)
    if isinstance(content, _BLOCKS):
        return to_markdown(content)
    return _inline_md(content)


def _block_md(block: Block) -> str:
    if isinstance(block, Para):
        return _inline_md(block.content)
    if isinstance(block, Heading):
        return "#" * block.level + " " + _inline_md(block.content)
    if isinstance(block, Table):
        return _table_md(block.headers, [[_inline_md(cell) for cell in row] for row in block.rows])
    if isinstance(block, Items):
        return "\n".join(f"- {_inline_md(item)}" for item in block.items)
    if isinstance(block, Definitions):
        return "\n".join(f"- **{_md(term)}:** {_flat_md(value)}" for term, value in block.items)
    if isinstance(block, Article):
        parts = [f'<a id="{block.id}"></a>', f"#### {_inline_md(block.heading)}"]
        return "\n\n".join(parts + [_block_md(b) for b in block.body])
    if isinstance(block, Cards):
        return _table_md(["Item", "Value"], [[_md(key), _inline_md(value)] for key, value, _ in block.items])
    return block.markdown


def to_markdown(content: Content) -> str:
    """``content`` as Markdown, every text escaped; blocks are separated by a blank line."""
    if isinstance(content, tuple):
        return "\n\n".join(_block_md(block) for block in content)
    if isinstance(content, _BLOCKS):
        return _block_md(content)
    return _inline_md(content)

"""Report blocks render to HTML through the package's templates and to Markdown, escaping every text."""

from __future__ import annotations

import pytest

from spasm_advisor.render import templating
from spasm_advisor.render.blocks import (
    Article,
    Badge,
    Code,
    Definitions,
    Items,
    Join,
    Line,
    Link,
    Muted,
    Para,
    Table,
    to_html,
    to_markdown,
)

HOSTILE = "<b>x</b> & | `y` *z*"


def test_text_is_escaped_in_both_renderings():
    """Text can never inject markup: HTML entities in HTML, backslash escapes in Markdown."""
    table = Table(("Name",), ((HOSTILE,), (Code(HOSTILE),)), "t")
    html_text, md_text = to_html(table), to_markdown(table)
    assert "<b>" not in html_text
    assert "&lt;b&gt;x&lt;/b&gt; &amp; | `y` *z*" in html_text
    text_row, code_row = md_text.splitlines()[2:]
    assert text_row == "| &lt;b&gt;x&lt;/b&gt; &amp; \\| \\`y\\` \\*z\\* |"
    # A code span shows its text literally (no markup inside), with pipes escaped for the table.
    assert code_row == "| `<b>x</b> & \\| 'y' *z*` |"


def test_html_comes_from_the_fragments_file():
    """Each kind of block is the fragment of its name in templates/blocks.html."""
    assert to_html(Badge("proved", "ok")) == '<span class="badge ok">proved</span>'
    assert to_html(Para("a", "muted")) == '<p class="muted">a</p>'
    assert to_html(Link("rule-x", Code("x"))) == '<a href="#rule-x"><code>x</code></a>'
    assert to_html(Items(("a", "b"))) == "<ul><li>a</li><li>b</li></ul>"
    assert to_html(Join(("a", "b"), lines=True)) == "a<br>b"
    assert to_html(Join((), ", ", Muted("none"))) == '<span class="muted">none</span>'


def test_markdown_keeps_the_spaces_between_pieces():
    """Pieces of one line keep the single space between them; runs of whitespace collapse."""
    assert to_markdown(Join(("version ", Code("1"), "  of\n  two"))) == "version `1` of two"
    assert to_markdown(Join((Badge("fails", "bad"), Line("why", "muted")))) == "**fails** (why)"


def test_an_article_has_an_anchor_in_both_renderings():
    """An article can be linked to: its id is the element id in HTML and an anchor in Markdown."""
    article = Article("rule-x", "rule", Join((Code("x"), " Title")), (Definitions((("When", Code("a")),)),), "x")
    html_text = to_html(article)
    assert html_text.startswith('<article class="rule" id="rule-x" data-search="x"><h4><code>x</code> Title</h4>')
    assert "<dl><dt>When</dt><dd><code>a</code></dd></dl>" in html_text
    assert to_markdown(article) == '<a id="rule-x"></a>\n\n#### `x` Title\n\n- **When:** `a`'


def test_a_fragment_defined_twice_is_refused(monkeypatch):
    """A fragments file that names one fragment twice is an error, not a silent override."""
    text = "comment\n<!-- fragment: a -->\n<p>1</p>\n<!-- fragment: a -->\n<p>2</p>\n"
    monkeypatch.setattr(templating, "template_text", lambda name: text)
    with pytest.raises(ValueError, match="fragment 'a' is defined twice"):
        templating.fragments.__wrapped__("twice.html")


def test_a_missing_value_is_an_error():
    """Substitution is strict: a placeholder without a value raises instead of leaving a gap."""
    with pytest.raises(KeyError):
        templating.fragments("blocks.html")["badge"].substitute(text="x")

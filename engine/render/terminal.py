"""Text for a terminal: wrapping to a width, and bold and colour as plain ANSI escapes.

Nothing here looks at the terminal: the command line decides the width
(:func:`shutil.get_terminal_size` on a terminal, 80 otherwise) and whether to
use colour (only on a terminal, never with ``NO_COLOR`` set), and passes them in.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

__all__ = ["DEFAULT_WIDTH", "MIN_WIDTH", "Style", "wrap"]

#: The width when the output is not a terminal.
DEFAULT_WIDTH = 80
#: Narrower than this, wrapping stops helping.
MIN_WIDTH = 40

_CODES = {"bold": "1", "red": "31", "yellow": "33", "green": "32", "blue": "34", "dim": "2"}


@dataclass(frozen=True, slots=True)
class Style:
    """Bold and colour, or nothing when ``colour`` is false."""

    colour: bool = False

    def __call__(self, text: str, *styles: str) -> str:
        """``text`` in the given styles (``bold``, ``red``, ``yellow``, ``green``, ``blue``, ``dim``)."""
        if not self.colour or not styles or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """``text`` wrapped to ``width`` columns, the first line after ``first`` and the others after ``rest``.

    Words longer than a line are broken rather than run past the width; no
    hyphen is added at a line end.
    """
    width = max(width, MIN_WIDTH)
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=first if rest is None else rest,
        break_on_hyphens=False,
    )
    return lines or [first.rstrip()]

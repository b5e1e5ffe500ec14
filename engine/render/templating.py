"""Templates shipped as package data (``spasm_advisor/render/templates/``), read with :class:`string.Template`.

A template file is one :class:`~string.Template`. A fragments file holds many
small ones, each after a marker line ``<!-- fragment: NAME -->``; the text up
to the first marker is a comment for whoever edits the file. A fragment's
trailing newline is not part of it, so fragments concatenate without adding
whitespace. Substitution is strict: a placeholder without a value is an
error, never an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from string import Template

__all__ = ["fragments", "template", "template_text"]

_MARKER = re.compile(r"^<!-- fragment: ([a-z0-9_-]+) -->\n", re.M)


@cache
def template_text(name: str) -> str:
    """The text of the package data file ``templates/NAME`` (``name`` uses ``/`` between folders)."""
    resource = files("spasm_advisor.render").joinpath("templates", *name.split("/"))
    return resource.read_text(encoding="utf-8")


@cache
def template(name: str) -> Template:
    """The template in ``templates/NAME``, without its final newline."""
    return Template(template_text(name).removesuffix("\n"))


@cache
def fragments(name: str) -> Mapping[str, Template]:
    """The named fragments of the fragments file ``templates/NAME``.

    Raises:
        ValueError: if a name appears twice.
    """
    parts = _MARKER.split(template_text(name))
    found: dict[str, Template] = {}
    for key, body in zip(parts[1::2], parts[2::2], strict=True):
        if key in found:
            raise ValueError(f"templates/{name}: fragment '{key}' is defined twice")
        found[key] = Template(body.removesuffix("\n"))
    return found

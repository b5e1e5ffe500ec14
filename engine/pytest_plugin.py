"""pytest plugin: ``--spasm-kb PATH`` runs the property suite against another knowledge base.

Installed with the package (entry point ``pytest11``). It adds the option and
a session fixture ``spasm_advisor``: an :class:`~spasm_advisor.Advisor` over the
knowledge base in ``PATH/rules`` and ``PATH/knowledge``, or over the bundled
one when the option is not given.

pytest imports this module in every project where the package is installed,
so it imports nothing but pytest: the engine (and experta, and the
``testing`` extra's Hypothesis) load only when a test asks for the fixture.
It lives outside :mod:`spasm_advisor.testing` for that reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["pytest_addoption", "spasm_advisor", "spasm_kb_path"]


def pytest_addoption(parser: Any) -> None:
    """Add ``--spasm-kb``."""
    group = parser.getgroup("spasm-advisor")
    group.addoption(
        "--spasm-kb",
        metavar="PATH",
        default=None,
        help="folder holding rules/ and knowledge/: run the Spasm Advisor property suite against it",
    )


@pytest.fixture(scope="session")
def spasm_kb_path(request: Any) -> Path | None:
    """The folder given with ``--spasm-kb``, or None for the bundled knowledge base."""
    value = request.config.getoption("--spasm-kb")
    return Path(value).resolve() if value else None


@pytest.fixture(scope="session")
def spasm_advisor(spasm_kb_path: Path | None) -> Any:
    """An advisor over the knowledge base under test."""
    from spasm_advisor import Advisor

    if spasm_kb_path is None:
        return Advisor.default()
    return Advisor.from_paths(spasm_kb_path / "rules", spasm_kb_path / "knowledge")

"""Where the repository and the test data are, for tests in any folder."""

from __future__ import annotations

from pathlib import Path

#: The tests folder.
TESTS = Path(__file__).resolve().parent
#: The repository's root.
REPO = TESTS.parent
#: Small knowledge bases and files made for the tests.
DATA = TESTS / "data"

"""Shared fixtures and Hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from spasm_advisor import Advisor

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session", name="advisor")
def _advisor() -> Advisor:
    """The advisor over the bundled knowledge base."""
    return Advisor.default()


@pytest.fixture(scope="session", name="mini")
def _mini() -> Advisor:
    """A five-rule knowledge base for engine tests that should not depend on clinical content."""
    return Advisor.from_paths(DATA / "mini" / "rules", DATA / "mini" / "knowledge")

"""Our conflict-resolution strategy: vetoes are never lost, under any hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from locations import TESTS
from veto_scenario import CATALOGUE_IDS, KEPT_IDS, write_kb

SCRIPT = TESTS / "veto_scenario.py"
SEEDS = range(1, 25)


@pytest.fixture(scope="module", name="veto_kb")
def _veto_kb(tmp_path_factory) -> tuple[Path, Path]:
    return write_kb(tmp_path_factory.mktemp("veto"))


def _run(veto_kb, seed: int, *extra: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(veto_kb[0]), str(veto_kb[1]), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return out.stdout.split()


def test_veto_holds_under_every_hash_seed(veto_kb):
    """With a red flag, no vetoed rule fires and every other rule does, for every PYTHONHASHSEED."""
    outputs = {seed: _run(veto_kb, seed) for seed in SEEDS}
    for seed, ids in outputs.items():
        assert not set(ids) & set(CATALOGUE_IDS), f"seed {seed}: vetoed recommendations fired: {ids}"
        assert set(KEPT_IDS) <= set(ids), f"seed {seed}"
    assert len({tuple(ids) for ids in outputs.values()}) == 1


def test_scenario_defeats_experta_depth_strategy(veto_kb):
    """The same scenario makes experta's DepthStrategy fire vetoed rules (so the test above can fail)."""
    leaked = [seed for seed in SEEDS[:6] if set(_run(veto_kb, seed, "depth")) & set(CATALOGUE_IDS)]
    assert leaked, "experta's DepthStrategy handled the scenario: the regression test would prove nothing"

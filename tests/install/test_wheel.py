"""The wheel: exactly two top-level names, the YAML inside, and it works once installed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from locations import REPO


@pytest.fixture(scope="module", name="wheel")
def _wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (wheel,) = out.glob("spasm_advisor-*.whl")
    return wheel


def test_wheel_top_level_names(wheel):
    """The wheel installs exactly one top-level import package, spasm_advisor."""
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if ".dist-info" not in n.split("/")[0]}
    assert top == {"spasm_advisor"}


def test_wheel_carries_knowledge_base(wheel):
    """Every rule, knowledge and case file in the repo ships inside spasm_advisor/."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"spasm_advisor/rules/{p.name}" for p in (REPO / "rules").glob("*.yaml")}
    expected |= {f"spasm_advisor/knowledge/{p.name}" for p in (REPO / "knowledge").glob("*.yaml")}
    expected |= {f"spasm_advisor/knowledge/cases/{p.name}" for p in (REPO / "knowledge" / "cases").glob("*.yaml")}
    assert expected, "no YAML found in the repo"
    assert expected <= names
    assert "spasm_advisor/py.typed" in names
    assert not any(n.startswith(("tests/", "rules/", "knowledge/")) for n in names)


def test_installed_wheel_assesses(wheel, tmp_path):
    """Installed from the wheel and run outside the source tree, the bundled knowledge base loads."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import spasm_advisor; from spasm_advisor import Advisor; "
        "r = Advisor.default().assess({'saddle_anaesthesia': True}); "
        "print(spasm_advisor.__file__); print(r.triage)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    location, triage = out.stdout.split()
    assert location.startswith(str(target))
    assert triage == "emergency"

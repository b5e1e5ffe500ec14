"""One fresh virtual environment with the package installed as a user installs it, shared by the install tests.

``pip install .`` from the clone's root (not editable: pip builds the wheel
and installs it), into a venv that does not see this environment's packages.
Dependencies come from the indexes pip is configured with; pytest is pinned
to the version running these tests so the venv behaves like this one.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from locations import REPO


@dataclass(frozen=True)
class FreshVenv:
    """A virtual environment holding the installed package and pytest, and nothing of this one."""

    root: Path

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        return self.root / "bin" / "python"

    def run(self, *args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the venv's python with ``args`` in ``cwd``, ``stdin`` as its input; never raises on a failure."""
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            env=_clean_env(),
        )


def _clean_env() -> dict[str, str]:
    import os

    # Nothing of this environment may leak in: no PYTHONPATH, no active venv.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


@pytest.fixture(scope="session", name="fresh_venv")
def _fresh_venv(tmp_path_factory) -> FreshVenv:
    root = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True)
    venv = FreshVenv(root)
    install = venv.run("-m", "pip", "install", "--quiet", ".", f"pytest=={pytest.__version__}", cwd=REPO)
    assert install.returncode == 0, install.stderr[-3000:]
    return venv

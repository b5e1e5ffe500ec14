"""Running the installed ``spasm-advisor`` console script from tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"


def is_report(text: str) -> bool:
    """Whether ``text`` starts like a text report: the headline of a level of care."""
    from spasm_advisor.render.report import HEADLINES

    return text.startswith(tuple(f"{label}" for label, _ in HEADLINES.values()))


def script() -> str:
    """The installed console script (next to the running interpreter, else on PATH)."""
    candidate = Path(sys.executable).parent / "spasm-advisor"
    found = str(candidate) if candidate.exists() else shutil.which("spasm-advisor")
    assert found, "the spasm-advisor console script is not installed"
    return found


def run(*args: str, stdin: str | bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run spasm-advisor outside the source tree, so the installed package is what runs."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run([script(), *args], input=data, capture_output=True, cwd=cwd or DATA, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())

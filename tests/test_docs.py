"""Every example in README.md and docs/ runs, and prints what the page shows.

The convention (also in docs/README.md):

* A ```console or ```sh block holds commands after ``$ `` (continued on
  lines starting ``> ``, as a shell shows them) and, after each command,
  the output it prints (standard output and error together). A line that is
  only ``...`` stands for any number of lines, so a long output can show its
  start, its end or a few lines in between. ``(exit status N)`` as the last
  line of an output says the command exits with N; otherwise it must exit 0.
* ``<!-- docs-test: no-compare -->`` on the line before a block runs its
  commands without comparing the output (they must still exit 0).
* ``<!-- docs-test: skip REASON -->`` before a block runs nothing; the reason
  is required and is shown with the test's result.
* ``pip install`` is not run: each target must be this checkout (``.``,
  ``-e .``, ``'.[extra]'`` with extras pyproject.toml defines), never a
  package index release. ``pytest`` is not run from inside the tests: a
  command line holding it must be one ``.ci/run`` runs verbatim.
* A ```pycon block is a doctest, run from the repository root.

Commands run with bash in a fresh folder holding copies of ``examples/``,
``rules/`` and ``knowledge/``, with the installed ``spasm-advisor`` first
on PATH, output not a terminal (so 80 columns and no colour).
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SHELL = {"console", "sh", "shell", "bash", "shell-session"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(skip|no-compare)\b\s*(.*?)\s*-->\s*$")
_EXIT = re.compile(r"^\(exit status (\d+)\)$")


@dataclass(frozen=True)
class Block:
    """One fenced example: where it is, its language, its lines and any directive before it."""

    page: Path
    line: int
    language: str
    lines: tuple[str, ...]
    directive: str | None
    reason: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def _blocks(page: Path) -> list[Block]:
    found = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, language = i, match.group(1).lower()
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        before = lines[start - 1] if start else ""
        directive = _DIRECTIVE.match(before)
        found.append(
            Block(
                page,
                start + 1,
                language,
                tuple(body),
                directive.group(1) if directive else None,
                directive.group(2) if directive else "",
            )
        )
    return found


BLOCKS = [b for page in PAGES for b in _blocks(page)]
SHELL_BLOCKS = [b for b in BLOCKS if b.language in SHELL]
PYCON_BLOCKS = [b for b in BLOCKS if b.language == "pycon"]


@dataclass(frozen=True)
class Command:
    """A command of a block and the output shown after it."""

    text: str
    output: tuple[str, ...]
    status: int


def _commands(block: Block) -> list[Command]:
    commands: list[Command] = []
    text: list[str] | None = None
    output: list[str] = []

    def close() -> None:
        if text is None:
            return
        shown = list(output)
        while shown and not shown[-1].strip():
            shown.pop()
        status = 0
        if shown and (exit_line := _EXIT.match(shown[-1].strip())):
            status = int(exit_line.group(1))
            shown.pop()
        commands.append(Command("\n".join(text), tuple(shown), status))

    for line in block.lines:
        if line.startswith("$ "):
            close()
            text, output = [line[2:]], []
        elif text is not None and not output and line.startswith("> "):
            text.append(line[2:])
        elif text is not None:
            output.append(line)
    close()
    return commands


def _matches(shown: tuple[str, ...], actual: list[str]) -> bool:
    """Line by line (trailing spaces ignored); a line '...' matches any number of lines."""
    want = [line.rstrip() for line in shown]
    got = [line.rstrip() for line in actual]
    while got and not got[-1]:
        got.pop()

    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i] == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and want[i] == got[j] and match(i + 1, j + 1)

    return match(0, 0)


def _extras() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return set(project.get("optional-dependencies", {}))


def _check_install(part: str, where: str) -> None:
    """A ``pip install`` of this checkout only, with extras that exist."""
    words = shlex.split(part)
    targets = [w for w in words[2:] if not w.startswith("-")]
    assert targets, f"{where}: pip install without a target"
    for target in targets:
        match = re.fullmatch(r"\.(?:\[([a-z0-9_,-]+)\])?", target)
        assert match, f"{where}: 'pip install {target}' installs something other than this checkout"
        unknown = set((match.group(1) or "").split(",")) - {""} - _extras()
        assert not unknown, f"{where}: pyproject.toml defines no extra {sorted(unknown)}"


def _ci_runs(line: str) -> bool:
    return any(row.strip() == line.strip() for row in (REPO / ".ci" / "run").read_text().splitlines())


def _sandbox(tmp_path: Path) -> Path:
    for name in ("examples", "rules", "knowledge"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return tmp_path


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "FORCE_COLOR")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def test_pages_have_examples():
    """README and the docs are found, and hold shell examples."""
    assert (REPO / "docs").is_dir()
    assert len(SHELL_BLOCKS) >= 10


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.id for b in SHELL_BLOCKS])
def test_shell_example(block, tmp_path):
    """Each shell example runs and prints what the page shows (see the module docstring)."""
    if block.directive == "skip":
        assert block.reason, f"{block.id}: 'docs-test: skip' needs a reason"
        pytest.skip(f"{block.id}: {block.reason}")
    commands = _commands(block)
    assert commands, (
        f"{block.id}: a shell block without a '$ ' command; write each command after '$ ', "
        "or put '<!-- docs-test: skip REASON -->' on the line before the block"
    )
    cwd = _sandbox(tmp_path)
    for command in commands:
        where = f"{block.id}: $ {command.text.splitlines()[0]}"
        parts = [p.strip() for p in command.text.split(" && ")]
        if any(shlex.split(p)[:1] == ["pytest"] for p in parts):
            assert _ci_runs(command.text), f"{where}: runs pytest; only a command line .ci/run runs verbatim may"
        for part in parts:
            if shlex.split(part)[:2] == ["pip", "install"]:
                _check_install(part, where)
        runnable = [p for p in parts if shlex.split(p)[:2] != ["pip", "install"] and shlex.split(p)[:1] != ["pytest"]]
        if not runnable:
            continue
        proc = subprocess.run(
            ["bash", "-c", "set -o pipefail\n" + " && ".join(runnable)],
            cwd=cwd,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        assert proc.returncode == command.status, f"{where}: exit {proc.returncode}\n{proc.stdout}"
        if block.directive != "no-compare":
            actual = proc.stdout.splitlines()
            shown = "\n".join(command.output)
            assert _matches(command.output, actual), (
                f"{where}: output differs\n--- shown\n{shown}\n--- got\n{proc.stdout}"
            )


PYCON_PAGES = sorted({b.page for b in PYCON_BLOCKS})


@pytest.mark.parametrize("page", PYCON_PAGES, ids=[str(p.relative_to(REPO)) for p in PYCON_PAGES])
def test_python_examples(page, monkeypatch):
    """The pycon examples of a page are doctests that pass, run in order with shared names."""
    monkeypatch.chdir(REPO)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    names: dict[str, object] = {}
    for block in (b for b in PYCON_BLOCKS if b.page == page and b.directive != "skip"):
        test = parser.get_doctest("\n".join(block.lines), names, block.id, str(block.page), block.line)
        test.globs = names  # the examples of one page build on each other
        runner.run(test, clear_globs=False)
    assert runner.failures == 0, f"{page.name}: {runner.failures} failing examples (see the output above)"


def test_the_convention_itself():
    """The matcher: '...' stands for any lines, exit status lines are read, continuation lines join."""
    assert _matches(("a", "...", "z"), ["a", "b", "c", "z"])
    assert _matches(("a", "..."), ["a"])
    assert not _matches(("a", "z"), ["a", "b", "z"])
    assert not _matches(("a",), ["b"])
    block = Block(
        REPO / "README.md", 1, "console", ("$ false", "(exit status 1)", "$ cat <<EOF", "> x", "> EOF", "x"), None, ""
    )
    first, second = _commands(block)
    assert (first.text, first.status, first.output) == ("false", 1, ())
    assert (second.text, second.output) == ("cat <<EOF\nx\nEOF", ("x",))

"""Installed, the package lives beside other projects: their own engine/ and cli.py, their pytest, our README."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from locations import REPO

NEIGHBOUR = {
    "engine/__init__.py": 'NAME = "the neighbour\'s engine"\n',
    "engine/core.py": "def run():\n    return 42\n",
    "cli.py": 'def main():\n    return "the neighbour\'s cli"\n',
    "tests/test_neighbour.py": """
        import sys
        from pathlib import Path

        import cli
        import engine
        from engine.core import run

        PROJECT = Path(__file__).resolve().parent.parent


        def test_its_own_packages():
            assert engine.NAME == "the neighbour's engine"
            assert run() == 42
            assert cli.main() == "the neighbour's cli"
            assert Path(engine.__file__).resolve().is_relative_to(PROJECT)


        def test_our_plugin_adds_its_option_and_loads_nothing_else(pytestconfig):
            assert pytestconfig.getoption("--spasm-kb") is None
            assert "spasm_advisor.inference" not in sys.modules
    """,
}


def _neighbour(tmp_path: Path) -> Path:
    project = tmp_path / "neighbour"
    for name, text in NEIGHBOUR.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return project


def test_the_install_adds_one_top_level_name(fresh_venv):
    """Of the installed package, only spasm_advisor is importable: no engine, cli, rules or knowledge."""
    code = (
        "import importlib.util as u, spasm_advisor, sys; "
        "print(spasm_advisor.__file__); "
        "print([n for n in ('engine', 'cli', 'rules', 'knowledge') if u.find_spec(n) is not None])"
    )
    out = fresh_venv.run("-c", code, cwd=fresh_venv.root)
    assert out.returncode == 0, out.stderr
    location, others = out.stdout.splitlines()
    assert Path(location).is_relative_to(fresh_venv.root)
    assert others == "[]"


def test_a_project_with_its_own_engine_and_cli_imports_them(fresh_venv, tmp_path):
    """A project with an engine/ package and a cli.py imports its own, with our package installed."""
    project = _neighbour(tmp_path)
    out = fresh_venv.run("-c", "import cli, engine; print(engine.NAME); print(cli.main())", cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["the neighbour's engine", "the neighbour's cli"]


def test_that_projects_pytest_runs_with_our_plugin_loaded(fresh_venv, tmp_path):
    """``python -m pytest`` in that project passes its tests; our plugin is loaded and only adds --spasm-kb."""
    project = _neighbour(tmp_path)
    out = fresh_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout
    with_plugin = fresh_venv.run("-m", "pytest", "--help", cwd=project)
    without = fresh_venv.run("-m", "pytest", "--help", "-p", "no:spasm_advisor", cwd=project)
    assert with_plugin.returncode == without.returncode == 0, with_plugin.stderr + without.stderr
    options = re.compile(r"^\s+(--[a-z][a-z0-9-]*)", re.M)
    added = set(options.findall(with_plugin.stdout)) - set(options.findall(without.stdout))
    assert added == {"--spasm-kb"}


def _readme_library_snippet() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Library\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "README: no python block under '## Library'"
    return match.group(1)


def test_the_readme_library_snippet_runs_from_the_clone_root(fresh_venv):
    """After ``pip install .``, the README's library snippet runs from the clone's root on the installed package."""
    snippet = _readme_library_snippet()
    assert "from spasm_advisor import Advisor" in snippet
    # The snippet ends with `except CaseError as exc`, which unbinds exc: check what stays bound.
    check = "\nimport spasm_advisor\nprint(spasm_advisor.__file__)\nprint(result.triage)\n"
    out = fresh_venv.run("-c", snippet + check, cwd=REPO)
    assert out.returncode == 0, out.stderr
    location, triage = out.stdout.splitlines()
    assert Path(location).is_relative_to(fresh_venv.root), "the source folder shadowed the installed package"
    assert triage == "emergency"

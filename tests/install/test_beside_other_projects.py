"""Installed, the package lives beside other projects: their own engine/ and cli.py, their pytest, our examples."""

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


def _library_examples() -> str:
    """The library guide's examples of assessing a case (the README links to them): its pycon blocks."""
    guide = (REPO / "docs" / "library-guide.md").read_text(encoding="utf-8")
    section = guide.split("\n## Assessing a case\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```pycon\n(.*?)```", section, re.S)
    assert blocks, "docs/library-guide.md: no pycon block under '## Assessing a case'"
    return "\n".join(blocks)


# Runs the examples read from stdin as doctests; prints where spasm_advisor came from.
_RUN_EXAMPLES = """
import doctest, sys
test = doctest.DocTestParser().get_doctest(sys.stdin.read(), {}, "library guide", "docs/library-guide.md", 0)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
runner.run(test)
import spasm_advisor
print(spasm_advisor.__file__)
sys.exit(1 if runner.failures or not runner.tries else 0)
"""


def test_the_library_examples_run_from_the_clone_root(fresh_venv):
    """After ``pip install .``, the documented library examples give their output, from the clone's root."""
    examples = _library_examples()
    assert ">>> from spasm_advisor import Advisor" in examples
    out = fresh_venv.run("-c", _RUN_EXAMPLES, cwd=REPO, stdin=examples)
    assert out.returncode == 0, out.stdout + out.stderr
    location = out.stdout.splitlines()[-1]
    assert Path(location).is_relative_to(fresh_venv.root), "the source folder shadowed the installed package"

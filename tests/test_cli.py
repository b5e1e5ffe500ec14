"""The command line, run as a user would: through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run

from spasm_advisor.errors import ExitCode

DATA = Path(__file__).parent / "data"
MINI = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(DATA / "mini" / "knowledge")]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_version():
    """--version prints the version."""
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("spasm-advisor ")


def test_assess_text_report(tmp_path):
    """The text report puts the level first and lists referrals, withheld items and unknown red flags."""
    case = write(tmp_path, "c.yaml", "age: 60\non_anticoagulants: true\n")
    out = run("assess", case, *MINI)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("SEE A GP OR PHYSIOTHERAPIST: ")  # routine
    assert "Not advised for you" in out.stdout
    assert "Bleeding risk." in out.stdout
    assert "no_painkiller_on_anticoagulants" not in out.stdout  # rule ids are for explain
    assert "Check these warning signs first" in out.stdout
    assert "not medical advice" in out.stdout


def test_assess_json_from_stdin():
    """JSON on stdin, JSON out, matching the library."""
    out = run("assess", "-", "--json", *MINI, stdin='{"numbness": true}')
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["triage"] == "urgent"
    assert [r["id"] for r in data["recommendations"]] == ["see_doctor"]
    assert data["fired_rules"] == ["flag", "refer"]


def test_assess_cds_hooks():
    """CDS Hooks cards: required fields, summary under 140, indicator by triage, source label."""
    out = run("assess", "-", "--format", "cds-hooks", *MINI, stdin='{"numbness": true, "on_anticoagulants": true}')
    assert out.returncode == 0, out.stderr
    cards = json.loads(out.stdout)["cards"]
    assert cards
    for card in cards:
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"]
        assert None not in card.values()
    assert cards[0]["indicator"] == "warning"  # urgent
    assert cards[0]["source"]["label"] == "Test"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"numbess": true}', "unknown fact 'numbess' (did you mean 'numbness'?)"),
        ('{"age": 121}', "age: 121 is above the maximum 120"),
        ('{"numbness": "yes"}', "numbness: expected true or false, got 'yes'"),
        ("", "empty input"),
        ('{"age": NaN}', "NaN is not a valid value"),
        ("[1, 2", "invalid JSON"),
        ("age: [\n", "invalid YAML"),
        ("- 1\n- 2\n", "a case must be a mapping"),
    ],
)
def test_bad_case_one_line_exit_2(text, message):
    """Bad input: exit 2, one line on stderr naming the problem, no traceback."""
    out = run("assess", "-", *MINI, stdin=text)
    assert out.returncode == 2
    assert out.stdout == ""
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_binary_garbage():
    """Binary input is refused cleanly."""
    out = run("assess", "-", *MINI, stdin=b"\x00\xff\xfe\x00garbage")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_missing_case_file():
    """A missing file is named."""
    out = run("assess", "/nonexistent/case.yaml", *MINI)
    assert out.returncode == 2
    assert "/nonexistent/case.yaml: cannot read case file" in out.stderr


def test_broken_knowledge_base(tmp_path):
    """A broken rule file is named with file and line, exit 2."""
    shutil.copytree(DATA / "mini", tmp_path / "kb")
    rules = tmp_path / "kb" / "rules" / "main.yaml"
    rules.write_text(rules.read_text().replace("when: age >= 50", "when: agee >= 50"))
    out = run(
        "assess",
        "-",
        "--rules",
        str(tmp_path / "kb" / "rules"),
        "--knowledge",
        str(tmp_path / "kb" / "knowledge"),
        "--unsealed",  # edited since sealed, as while authoring
        stdin="{}",
    )
    assert out.returncode == 2
    assert "main.yaml:33: rule 'older': unknown fact or finding 'agee' (did you mean 'age'?)" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_usage_errors():
    """Wrong arguments exit 2 with one line."""
    out = run("assess")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    out = run("assess", "-", "--rules", "x", stdin="{}")
    assert out.returncode == 2
    assert "--rules and --knowledge go together" in out.stderr


def test_bundled_example_runs():
    """The README's quick-start example assesses with the bundled knowledge base."""
    example = Path(__file__).parent.parent / "examples" / "desk_worker.yaml"
    out = run("assess", str(example))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("SELF-CARE: ")


# --- the exit-code contract: 0 success, 1 findings, 2 usage or input error, 3 internal error ---


def test_exit_0_success():
    """A command that did what was asked exits 0 with nothing on stderr."""
    out = run("assess", "-", *MINI, stdin="{}")
    assert out.returncode == ExitCode.OK == 0, out.stderr
    assert out.stderr == ""


def test_exit_1_findings(tmp_path):
    """A command that found something (a failed clinical case) exits 1 and reports it on stdout."""
    (tmp_path / "wrong.yaml").write_text(
        "version: 1\nid: wrong\ntitle: a case expecting the wrong triage\nbasis: none\ncase: {numbness: true}\nexpect: {triage: self_care}\n"
    )
    out = run("cases", str(tmp_path), *MINI)
    assert out.returncode == ExitCode.FINDINGS == 1, out.stdout + out.stderr
    assert "FAIL wrong" in out.stdout
    assert "0 passed, 1 failed" in out.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("assess",), None, "the following arguments are required: CASE"),
        (("no-such-command",), None, "invalid choice: 'no-such-command'"),
        (("rules",), None, "rules needs a subcommand: list, show, verify, report, diff, safety-case or seal"),
        (("assess", "-", *MINI), '{"numbess": true}', "unknown fact 'numbess'"),
        (("rules", "show", "no_such_rule", *MINI), None, "no_such_rule"),
    ],
    ids=["missing-argument", "unknown-command", "group-without-subcommand", "bad-case", "unknown-rule"],
)
def test_exit_2_usage_or_input_error(args, stdin, message):
    """A wrong call or wrong input exits 2 with one line on stderr and no traceback."""
    out = run(*args, stdin=stdin)
    assert out.returncode == ExitCode.USAGE == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


_BROKEN_ASSESS = """
import sys
from spasm_advisor import Advisor
from spasm_advisor.cli import main

def broken(self, case):
    raise RuntimeError("an invariant of the code broke\\non two lines")

Advisor.assess = broken
sys.exit(main(sys.argv[1:]))
"""


def test_exit_3_internal_error_one_line_without_traceback():
    """A bug exits 3 with one line naming it and the --debug hint, never a traceback."""
    proc = subprocess.run(
        [sys.executable, "-c", _BROKEN_ASSESS, "assess", "-", *MINI],
        input="{}",
        capture_output=True,
        text=True,
        cwd=DATA,
        check=False,
    )
    assert proc.returncode == ExitCode.INTERNAL == 3
    assert proc.stderr.strip().splitlines() == [
        "spasm-advisor: internal error: RuntimeError: an invariant of the code broke\\non two lines"
        " (run with --debug for details)"
    ]


def test_exit_3_internal_error_with_debug_shows_the_traceback():
    """With --debug a bug shows its traceback and still exits 3."""
    proc = subprocess.run(
        [sys.executable, "-c", _BROKEN_ASSESS, "--debug", "assess", "-", *MINI],
        input="{}",
        capture_output=True,
        text=True,
        cwd=DATA,
        check=False,
    )
    assert proc.returncode == ExitCode.INTERNAL
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("spasm-advisor: internal error: RuntimeError:")


def test_debug_keeps_the_exit_code_of_an_input_error():
    """--debug adds the traceback of an input error but the exit code stays 2."""
    out = run("--debug", "assess", "-", *MINI, stdin='{"numbess": true}')
    assert out.returncode == ExitCode.USAGE
    assert "Traceback (most recent call last)" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("spasm-advisor: error: <stdin>: unknown fact 'numbess'")


def test_version_is_the_distribution_version():
    """--version and spasm_advisor.__version__ both give the installed distribution's version."""
    from importlib.metadata import version

    import spasm_advisor

    assert spasm_advisor.__version__ == version("spasm-advisor")
    assert run("--version").stdout.strip() == f"spasm-advisor {version('spasm-advisor')}"

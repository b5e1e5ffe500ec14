"""Nothing a file or an argument contains can control the terminal: every command's error paths, fed every C0 and C1
control character and ANSI escape sequences, print only escaped text.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from cli_runner import DATA, run

from spasm_advisor import cli
from spasm_advisor.errors import CaseError, CaseProblem, EngineError, KnowledgeBaseError, escape_controls

HOSTILE_FILES = DATA / "hostile" / "batch"
MINI = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(DATA / "mini" / "knowledge")]

# Every C0 control but NUL (argv cannot hold it) and newline, DEL, every C1 control, and sequences
# that retitle (OSC), clear (CSI 2J), recolour and reverse text.
ANSI = "\x1b]0;PWNED\x07\x1b[2J\x1b[31m\x1b]8;;http://x\x1b\\\x9b1;31m\u202e"
CONTROLS = "".join(chr(c) for c in [*range(0x01, 0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x0A)
HOSTILE = ANSI + CONTROLS
HOSTILE_NAME = HOSTILE.replace("/", "")  # a path component


def assert_safe(text: str) -> None:
    """No character that could control a terminal: printable text and line breaks only."""
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if not (ch.isprintable() or ch == "\n")})
    assert not bad, f"unescaped control characters {bad} in {text!r}"


def assert_one_escaped_line(result, code: int = 2) -> None:
    assert result.returncode == code, result.stderr
    assert_safe(result.stdout)
    assert_safe(result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "\\x1b" in result.stderr or "\\x9b" in result.stderr, result.stderr  # the text is shown, escaped


def test_escape_controls_covers_every_control_character():
    """The one escaping function leaves no C0, C1, DEL or format character raw, and keeps what is printable."""
    everything = "".join(chr(c) for c in range(0x00, 0x250)) + "\u2028\u2029\u200b\u202e\ufeff"
    assert_safe(escape_controls(everything))
    assert_safe(escape_controls(everything, multiline=True).replace("\t", ""))
    assert escape_controls("Ça va, 40 ans") == "Ça va, 40 ans"
    assert escape_controls(HOSTILE).startswith("\\x1b]0;PWNED\\x07\\x1b[2J")
    assert json.loads(escape_controls(json.dumps(HOSTILE, ensure_ascii=False), json=True)) == HOSTILE


def test_every_error_string_is_escaped():
    """Each error class's string form goes through the escaping function, whatever the message quotes."""
    errors = [
        EngineError(f"unknown recommendation '{HOSTILE}'"),
        KnowledgeBaseError(HOSTILE, path=HOSTILE, line=3, rule_id=HOSTILE),
        CaseError([CaseProblem(HOSTILE, HOSTILE)], source=HOSTILE, line=2),
    ]
    from spasm_advisor.io.batch import BatchError

    errors.append(BatchError(f"CSV header: unknown fact '{HOSTILE}'"))
    for error in errors:
        assert_safe(str(error))
        assert "\n" not in str(error)


def _case(tmp_path: Path, data: dict[str, object]) -> str:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("command", ["assess", "explain"])
def test_case_errors(tmp_path, command):
    """A hostile fact name, a hostile value and a hostile case path are all shown escaped."""
    assert_one_escaped_line(run(command, _case(tmp_path, {HOSTILE: True}), *MINI))
    assert_one_escaped_line(run(command, _case(tmp_path, {"posture": HOSTILE}), *MINI))
    assert_one_escaped_line(run(command, str(tmp_path / HOSTILE_NAME), *MINI))
    assert_one_escaped_line(run(command, "-", *MINI, stdin=json.dumps({"age": 40, HOSTILE: 1})))


def test_why_not_errors(tmp_path):
    """why-not with a hostile recommendation id (the issue's retitling example) or case."""
    assert_one_escaped_line(run("why-not", _case(tmp_path, {}), "\x1b]0;PWNED\x07", *MINI))
    assert_one_escaped_line(run("why-not", _case(tmp_path, {}), HOSTILE, *MINI))
    assert_one_escaped_line(run("why-not", _case(tmp_path, {HOSTILE: 1}), "painkiller", *MINI))


def test_batch_csv_header():
    """A CSV header of escape sequences: one escaped line, exit 2."""
    assert_one_escaped_line(run("batch", str(HOSTILE_FILES / "hostile_header.csv"), "--workers", "1", *MINI))


def test_batch_json_lines_records():
    """Error records naming hostile keys and values are escaped in the output too (here standard output)."""
    result = run(
        "batch", str(HOSTILE_FILES / "hostile_keys.jsonl"), "--workers", "1", "--output-format", "jsonl", *MINI
    )
    assert result.returncode == 1
    assert_safe(result.stdout)
    assert_safe(result.stderr)
    errors = [json.loads(line)["error"] for line in result.stdout.splitlines()]
    assert len(errors) == 2
    assert all("\\x1b]0;PWNED\\x07" in error for error in errors)
    csv_out = run("batch", str(HOSTILE_FILES / "hostile_keys.jsonl"), "--workers", "1", "--output-format", "csv", *MINI)
    assert_safe(csv_out.stdout)


def test_batch_bad_paths(tmp_path):
    """Hostile input and output paths."""
    assert_one_escaped_line(run("batch", str(tmp_path / HOSTILE_NAME), "--workers", "1", *MINI))
    source = tmp_path / "in.jsonl"
    source.write_text("{}\n")
    assert_one_escaped_line(run("batch", str(source), "-o", str(tmp_path / HOSTILE_NAME / "out.jsonl"), *MINI))


def test_cases_command(tmp_path):
    """Case files whose title and expectations hold escape sequences, and a hostile folder."""
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "hostile.yaml").write_text(
        'version: 1\nid: hostile\ntitle: "\\e]0;PWNED\\a\\e[2J\\x9b31m"\nbasis: test\ncase: {numbness: true}\n'
        'expect: {triage: self_care, recommend: ["\\e[2Jsee_doctor"]}\n'
    )
    result = run("cases", str(folder), *MINI)
    assert result.returncode == 1
    assert_safe(result.stdout)
    assert "\\x1b]0;PWNED\\x07" in result.stdout
    assert_one_escaped_line(run("cases", str(tmp_path / HOSTILE_NAME), *MINI))


@pytest.mark.parametrize(
    "args",
    [
        ["rules", "list", "--rules", f"/tmp/{HOSTILE_NAME}", "--knowledge", f"/tmp/{HOSTILE_NAME}"],
        ["rules", "verify", "--rules", f"/tmp/{HOSTILE_NAME}", "--knowledge", str(DATA / "mini" / "knowledge")],
        ["rules", "seal", "--rules", f"/tmp/{HOSTILE_NAME}", "--knowledge", f"/tmp/{HOSTILE_NAME}"],
        ["rules", "diff", f"/tmp/{HOSTILE_NAME}", f"/tmp/{HOSTILE_NAME}"],
        ["rules", "show", HOSTILE, *MINI],
        ["rules", "list", "--fact", HOSTILE, *MINI],
        ["rules", "list", "--source", HOSTILE, *MINI],
        ["rules", "report", "-o", f"/nonexistent/{HOSTILE_NAME}.html", *MINI],
        ["assess", "--format", HOSTILE, "-"],
        [HOSTILE],
    ],
    ids=["list", "verify", "seal", "diff", "show", "fact", "source", "report", "argument", "command"],
)
def test_rules_and_usage_errors(args):
    """Bad paths, ids and arguments to every rules command and to the parser."""
    assert_one_escaped_line(run(*args))


def test_internal_error_is_escaped_and_exits_three(monkeypatch):
    """An unexpected exception whose text is hostile: one escaped line, exit 3, no traceback."""

    def broken(args):
        raise RuntimeError(f"boom {HOSTILE}")

    monkeypatch.setitem(cli.COMMANDS, "assess", cli.Command(broken, "fails", (cli.arg("case"),)))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["assess", "-"])
    assert code == 3
    assert_safe(err.getvalue())
    assert err.getvalue().startswith("spasm-advisor: internal error: RuntimeError: boom \\x1b]0;PWNED")
    assert len(err.getvalue().splitlines()) == 1

"""spasm-advisor batch as a user runs it: JSON Lines and CSV, errors, order, workers, interruption, resume."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_runner import script

from spasm_advisor import Advisor
from spasm_advisor.testing import sample_cases

DATA = Path(__file__).parent / "data"
ADVISOR = Advisor.default()
KB = ADVISOR.knowledge_base


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([script(), "batch", *args], input=stdin, capture_output=True, cwd=DATA, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def generate(count: int, seed: int) -> list[dict[str, object]]:
    """Valid cases: each fact unknown a third of the time, else a value near the rules' thresholds."""
    return sample_cases(KB, count, seed=seed, yes_rate=0.3)


def write_jsonl(path: Path, cases: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def expected_record(line: int, case: dict[str, object]) -> dict[str, object]:
    return {"line": line, **ADVISOR.assess(case).to_dict()}


def jsonl(text: str) -> list[dict[str, object]]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def copy_resume_record(run_output: Path, output: Path) -> None:
    """Give ``output`` (a copy of part of ``run_output``) the resume record of the run that wrote ``run_output``."""
    shutil.copyfile(f"{run_output}.resume", f"{output}.resume")


# ---------------------------------------------------------------------------
# JSON Lines
# ---------------------------------------------------------------------------


def test_jsonl_one_record_per_input_record_in_order(tmp_path):
    """Every non-blank line gives one record, assessments equal to assess(), errors named with their line."""
    good = generate(5, seed=1)
    lines = [
        json.dumps(good[0]).encode(),
        json.dumps(good[1]).encode(),
        b"",  # blank: not a record
        b'{"numbess": true, "pain_severity": 11}',
        b"not json",
        json.dumps(good[2]).encode(),
        b"[1, 2]",
        b'{"age": NaN}',
        b"   ",
        b'{"fever": "\xff"}',
        json.dumps(good[3]).encode(),
        json.dumps(good[4]).encode(),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    result = run(str(source), "-o", str(out), "--workers", "1")
    assert result.returncode == 1, result.stderr
    records = jsonl(out.read_text())
    assert [r["line"] for r in records] == [1, 2, 4, 5, 6, 7, 8, 10, 11, 12]
    assert records[0] == expected_record(1, good[0])
    assert records[1] == expected_record(2, good[1])
    assert records[4] == expected_record(6, good[2])
    assert records[8] == expected_record(11, good[3])
    assert records[9] == expected_record(12, good[4])
    errors = {r["line"]: r["error"] for r in records if "error" in r}
    assert set(errors) == {4, 5, 7, 8, 10}
    assert "unknown fact 'numbess' (did you mean 'numbness'?)" in errors[4]
    assert "pain_severity: 11 is above the maximum 10" in errors[4]
    assert errors[5].startswith("invalid JSON")
    assert "mapping" in errors[7]
    assert "NaN" in errors[8]
    assert "UTF-8" in errors[10]
    assert all(set(r) == {"line", "error"} for r in records if "error" in r)
    assert "10 records" in result.stderr
    assert "5 assessed" in result.stderr
    assert "5 errors" in result.stderr


def test_all_assessed_exits_zero_with_counts_per_triage(tmp_path):
    """Exit 0 when every record was assessed; the summary counts each triage level."""
    cases = generate(40, seed=2)
    out = tmp_path / "out.jsonl"
    result = run(str(write_jsonl(tmp_path / "in.jsonl", cases)), "-o", str(out), "--workers", "1")
    assert result.returncode == 0, result.stderr
    records = jsonl(out.read_text())
    assert len(records) == 40
    for level in ("emergency", "urgent", "routine", "self_care"):
        count = sum(r["triage"] == level for r in records)
        assert f"{level} {count}" in result.stderr
    assert "0 errors" in result.stderr


def test_stdin_to_stdout(tmp_path):
    """'-' reads standard input; without -o the records go to standard output."""
    cases = generate(3, seed=3)
    result = run("-", "--workers", "1", "--quiet", stdin="".join(json.dumps(c) + "\n" for c in cases).encode())
    assert result.returncode == 0, result.stderr
    assert jsonl(result.stdout) == [expected_record(i, c) for i, c in enumerate(cases, 1)]
    assert result.stderr == ""


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def test_csv_cells_are_typed_by_the_fact_vocabulary(tmp_path):
    """Headers are fact names, empty cells unknown, true/false and integers strict; errors name columns."""
    source = tmp_path / "in.csv"
    source.write_text(
        "age,overuse,saddle_anaesthesia,posture,duration_days\n"
        "35,true,,poor,3\n"  # line 2
        "40,TRUE,False,good,\n"  # line 3
        "\n"  # blank: not a record
        ",,yes,,\n"  # line 5
        "35.5,1,false,bad,2\n"  # line 6
        "50,false\n"  # line 7: too few cells
        ",,,,\n"  # line 8: every fact unknown
    )
    out = tmp_path / "out.csv"
    result = run(str(source), "-o", str(out), "--workers", "1")
    assert result.returncode == 1, result.stderr
    rows = csv_rows(out.read_text())
    assert list(rows[0]) == ["line", "triage", "recommendations", "withheld", "unanswered_red_flags", "error"]
    assert [r["line"] for r in rows] == ["2", "3", "5", "6", "7", "8"]
    expected = {
        "2": {"age": 35, "overuse": True, "posture": "poor", "duration_days": 3},
        "3": {"age": 40, "overuse": True, "saddle_anaesthesia": False, "posture": "good"},
        "8": {},
    }
    for row in rows:
        if row["line"] in expected:
            assessment = ADVISOR.assess(expected[row["line"]])
            assert row["triage"] == assessment.triage
            assert row["recommendations"] == ";".join(assessment.recommendation_ids())
            assert row["withheld"] == ";".join(assessment.withheld_ids())
            assert row["unanswered_red_flags"] == ";".join(assessment.unanswered_red_flags)
            assert row["error"] == ""
    errors = {r["line"]: r["error"] for r in rows if r["error"]}
    assert set(errors) == {"5", "6", "7"}
    assert errors["5"] == "saddle_anaesthesia: expected true or false, got 'yes'"
    assert "age: expected an integer" in errors["6"]
    assert "'35.5'" in errors["6"]
    assert "overuse: expected true or false, got '1'" in errors["6"]
    assert "posture" in errors["6"]  # the other cells' problems too
    assert "expected 5 cells" in errors["7"]
    assert all(r["triage"] == "" for r in rows if r["error"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("age,numbess\n1,2\n", "unknown fact 'numbess' (did you mean 'numbness'?)"),
        ("age,age\n1,2\n", "appears twice"),
        ("age,,fever\n1,2,3\n", "column 2 has no name"),
        ("\n", "no header row"),
        ("", "no header row"),
    ],
)
def test_csv_header_problems_stop_before_any_record(tmp_path, content, message):
    """A header that is not fact names is a usage error (exit 2), with no output record."""
    source = tmp_path / "in.csv"
    source.write_text(content)
    out = tmp_path / "out.csv"
    result = run(str(source), "-o", str(out), "--workers", "1")
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() or out.read_text().count("\n") <= 1


def test_csv_in_jsonl_out_and_back(tmp_path):
    """Formats mix: CSV in gives the same assessments as JSON Lines in, in either output format."""
    cases = [
        {"age": 61, "night_pain": True, "history_of_cancer": True},
        {"posture": "poor", "overuse": False},
    ]
    source_csv = tmp_path / "in.csv"
    names = sorted({k for c in cases for k in c})
    source_csv.write_text(
        ",".join(names)
        + "\n"
        + "".join(",".join("" if c.get(n) is None else str(c[n]).lower() for n in names) + "\n" for c in cases)
    )
    source_jsonl = write_jsonl(tmp_path / "in.jsonl", cases)
    from_csv = tmp_path / "a.jsonl"
    assert run(str(source_csv), "-o", str(from_csv), "--workers", "1").returncode == 0
    records = jsonl(from_csv.read_text())
    assert [r["line"] for r in records] == [2, 3]
    assert [{k: v for k, v in r.items() if k != "line"} for r in records] == [
        ADVISOR.assess(c).to_dict() for c in cases
    ]
    to_csv = tmp_path / "b.csv"
    assert run(str(source_jsonl), "-o", str(to_csv), "--workers", "1").returncode == 0
    assert [r["triage"] for r in csv_rows(to_csv.read_text())] == [ADVISOR.assess(c).triage for c in cases]


# ---------------------------------------------------------------------------
# Workers, interruption and resume
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", name="many")
def _many(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """600 cases with a few broken lines, and the reference outputs of one in-process run."""
    folder = tmp_path_factory.mktemp("many")
    lines = [json.dumps(c) for c in generate(600, seed=4)]
    for index in (17, 250, 599):
        lines[index] = '{"age": "old"}'
    source = folder / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    outputs = {}
    for fmt in ("jsonl", "csv"):
        out = folder / f"ref.{fmt}"
        result = run(str(source), "-o", str(out), "--workers", "1", "--quiet")
        assert result.returncode == 1, result.stderr
        outputs[fmt] = out.read_bytes()
    return source, outputs


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_two_workers_write_exactly_what_one_does(many, tmp_path, fmt):
    """Same records, same order, same bytes, whatever the number of worker processes."""
    source, reference = many
    out = tmp_path / f"out.{fmt}"
    result = run(str(source), "-o", str(out), "--workers", "2")
    assert result.returncode == 1, result.stderr
    assert out.read_bytes() == reference[fmt]
    assert "600 records" in result.stderr
    assert "3 errors" in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_after_a_kill_mid_record(many, tmp_path, fmt):
    """A partial last line (a kill mid-write) is dropped; --resume then writes exactly the rest."""
    source, reference = many
    full = reference[fmt]
    cut = full.index(b"\n", len(full) // 3) + 40  # 40 bytes into a record
    out = tmp_path / f"out.{fmt}"
    out.write_bytes(full[:cut])
    copy_resume_record(source.parent / f"ref.{fmt}", out)
    result = run(str(source), "-o", str(out), "--workers", "2", "--resume")
    assert result.returncode == 1, result.stderr
    assert out.read_bytes() == full
    done = full[:cut].count(b"\n") - (fmt == "csv")
    assert f"{done:,} of them from an earlier run" in result.stderr
    assert "600 records" in result.stderr
    assert "3 errors" in result.stderr
    # Resuming a finished output changes nothing.
    again = run(str(source), "-o", str(out), "--workers", "1", "--resume")
    assert again.returncode == 1
    assert out.read_bytes() == full


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_after_a_kill_before_the_first_checkpoint(many, tmp_path, fmt):
    """Records written but not yet noted in the resume record (a kill between the two) are written again."""
    source, reference = many
    full = reference[fmt]
    cut = full.index(b"\n", len(full) // 3) + 1  # whole records, none of them checkpointed
    out = tmp_path / f"out.{fmt}"
    out.write_bytes(full[:cut])
    lines = Path(f"{source.parent / f'ref.{fmt}'}.resume").read_bytes().splitlines(keepends=True)
    Path(f"{out}.resume").write_bytes(b"".join(lines[:2]))  # the settings and the run's first checkpoint only
    result = run(str(source), "-o", str(out), "--workers", "2", "--resume")
    assert result.returncode == 1, result.stderr
    assert out.read_bytes() == full


def test_resume_refuses_an_output_it_did_not_write(many, tmp_path):
    """--resume does not append to a file that is not batch output, nor to standard output."""
    source, _ = many
    out = tmp_path / "out.jsonl"
    out.write_text('{"something": "else"}\n')
    result = run(str(source), "-o", str(out), "--resume", "--workers", "1")
    assert result.returncode == 2
    assert "not a record of 'spasm-advisor batch'" in result.stderr
    assert out.read_text() == '{"something": "else"}\n'
    assert run(str(source), "--resume").returncode == 2


def _interrupt(source: Path, out: Path, signum: int) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.Popen(
        [script(), "batch", str(source), "-o", str(out), "--workers", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=DATA,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 2_000):
        time.sleep(0.02)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module", name="long")
def _long(tmp_path_factory) -> tuple[Path, bytes]:
    """Enough cases that a run can be interrupted halfway, and its reference CSV output."""
    folder = tmp_path_factory.mktemp("long")
    source = write_jsonl(folder / "in.jsonl", generate(3000, seed=5))
    out = folder / "ref.csv"
    assert run(str(source), "-o", str(out), "--workers", "2", "--quiet").returncode == 0
    return source, out.read_bytes()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "term", "kill"])
def test_interrupted_run_leaves_complete_records_and_resumes(long, tmp_path, signum):
    """Ctrl-C, a polite kill or a hard kill: complete records only (once --resume repairs), then the rest."""
    source, reference = long
    out = tmp_path / "out.csv"
    result = _interrupt(source, out, signum)
    written = out.read_bytes()
    if signum == signal.SIGKILL:
        assert result.returncode == -signal.SIGKILL
    else:
        assert result.returncode == 130, result.stderr
        assert b"interrupted after" in result.stderr
        assert b"--resume" in result.stderr
        assert written.endswith(b"\n")
        assert reference.startswith(written)
    complete = written[: written.rindex(b"\n") + 1]
    assert reference.startswith(complete)
    assert 0 < complete.count(b"\n") - 1 < 3000, "the run was not interrupted halfway"
    resumed = run(str(source), "-o", str(out), "--workers", "2", "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == reference


# ---------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------


def test_progress_bar_only_when_asked_or_on_a_terminal(tmp_path):
    """stderr is not a terminal here: no bar unless --progress; --quiet prints nothing at all."""
    source = write_jsonl(tmp_path / "in.jsonl", generate(30, seed=6))
    plain = run(str(source), "-o", str(tmp_path / "a.jsonl"), "--workers", "1")
    assert "records/s" not in plain.stderr
    assert plain.stderr.count("\n") == 1  # the summary alone
    shown = run(str(source), "-o", str(tmp_path / "b.jsonl"), "--workers", "1", "--progress")
    assert "records/s" in shown.stderr
    assert "30/30" in shown.stderr
    assert "100%" in shown.stderr
    quiet = run(str(source), "-o", str(tmp_path / "c.jsonl"), "--workers", "1", "--quiet")
    assert quiet.returncode == 0
    assert quiet.stderr == ""


def test_bad_arguments_exit_two(tmp_path):
    """Unreadable input, --workers 0, half a knowledge base: one line, exit 2."""
    assert run(str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o.jsonl")).returncode == 2
    assert run("-", "--workers", "0").returncode == 2
    half = run("-", "--rules", str(DATA / "mini" / "rules"))
    assert half.returncode == 2
    assert "go together" in half.stderr


def test_other_knowledge_base(tmp_path):
    """--rules and --knowledge assess with another knowledge base, in workers too."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"numbness": true}\n{"fever": false}\n')
    mini = ["--rules", str(DATA / "mini" / "rules"), "--knowledge", str(DATA / "mini" / "knowledge")]
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        result = run(str(source), "-o", str(out), "--workers", workers, *mini)
        assert result.returncode == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    mini_advisor = Advisor.from_paths(DATA / "mini" / "rules", DATA / "mini" / "knowledge")
    assert jsonl(outputs[0].decode())[0] == {"line": 1, **mini_advisor.assess({"numbness": True}).to_dict()}


@pytest.mark.skipif(not hasattr(os, "getppid"), reason="POSIX only")
def test_summary_counts_cover_resumed_records(many, tmp_path):
    """After --resume the summary counts the whole output, earlier records included."""
    source, reference = many
    out = tmp_path / "out.csv"
    out.write_bytes(reference["csv"][: reference["csv"].index(b"\n", 5_000) + 1])
    copy_resume_record(source.parent / "ref.csv", out)
    result = run(str(source), "-o", str(out), "--workers", "1", "--resume")
    rows = csv_rows(out.read_text())
    for level in ("emergency", "urgent", "routine", "self_care"):
        assert f"{level} {sum(r['triage'] == level for r in rows):,}" in result.stderr

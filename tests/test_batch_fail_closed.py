"""Batch never loses or duplicates a record: size limits, write failures, checked resumption, the readers fuzzed.

Every bound is checked by counting (bytes held, records written), never by time.
Hostile inputs are fixtures in tests/data/hostile/batch/ or generated here when large.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from cli_runner import script
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spasm_advisor.io.batch as batch_module
from spasm_advisor import Advisor
from spasm_advisor.io.batch import RESUME_SUFFIX, Batch, BatchError
from spasm_advisor.io.records import CsvReader, JsonLinesReader
from spasm_advisor.testing import sample_cases

DATA = Path(__file__).parent / "data"
HOSTILE = DATA / "hostile" / "batch"
MINI_DIRS = (str(DATA / "mini" / "rules"), str(DATA / "mini" / "knowledge"))
MINI = ["--rules", MINI_DIRS[0], "--knowledge", MINI_DIRS[1]]
MINI_ADVISOR = Advisor.from_paths(*MINI_DIRS)


def run(*args: str, stdin: bytes | None = None, **options) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [script(), "batch", *args], input=stdin, capture_output=True, cwd=DATA, check=False, **options
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def mini_cases(count: int, seed: int) -> list[dict[str, object]]:
    return sample_cases(MINI_ADVISOR.knowledge_base, count, seed=seed, yes_rate=0.3)


def write_jsonl(path: Path, cases: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


# ---------------------------------------------------------------------------
# Per-record size limit
# ---------------------------------------------------------------------------


def test_jsonl_record_over_the_limit_is_one_error_record(tmp_path):
    """A line over --max-record-bytes is one error record; the records around it are assessed."""
    source = tmp_path / "in.jsonl"
    big = json.dumps({"age": 40, "posture": "good", "note": "x" * 5_000})
    source.write_text('{"numbness": true}\n' + big + '\n{"fever": true}\n')
    out = tmp_path / "out.jsonl"
    result = run(str(source), "-o", str(out), "--workers", "1", "--max-record-bytes", "1000", *MINI)
    assert result.returncode == 1, result.stderr
    records = jsonl(out.read_text())
    assert [r["line"] for r in records] == [1, 2, 3]
    assert records[1] == {"line": 2, "error": "the record is larger than the limit of 1,000 bytes"}
    assert records[0]["triage"] == records[2]["triage"] == "urgent"


def test_csv_long_fields_do_not_abort_the_run(tmp_path):
    """A 200,000-character field (over csv's 131,072) is read; a record over 1 MB is one error; none is lost."""
    source = tmp_path / "in.csv"
    source.write_text(
        "age,posture\n"
        "40,good\n"
        f"50,{'x' * 200_000}\n"  # line 3: read, then refused as a value
        "30,poor\n"
        f'60,"{"y" * 600_000}\n{"z" * 600_000}"\n'  # lines 5-6: one quoted record over 1 MB
        "20,good\n"  # line 7
    )
    out = tmp_path / "out.csv"
    result = run(str(source), "-o", str(out), "--workers", "1", *MINI)
    assert result.returncode == 1, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["line"] for r in rows] == ["2", "3", "4", "5", "7"]
    errors = {r["line"]: r["error"] for r in rows if r["error"]}
    assert set(errors) == {"3", "5"}
    assert errors["3"].startswith("posture: expected one of good, poor, got 'xxxx")
    assert len(errors["3"]) < 200
    assert errors["5"] == "the record is larger than the limit of 1,000,000 bytes"
    assert "5 records" in result.stderr


class _Generated(io.RawIOBase):
    """``head``, then ``fill`` repeated to ``size`` bytes, then ``tail``, made as it is read: never held in memory."""

    def __init__(self, head: bytes, fill: bytes, size: int, tail: bytes) -> None:
        self.pending, self.fill, self.left, self.tail = head, fill, size, tail
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self.pending and self.left > 0:
            n = min(self.left, len(self.fill) * max(1, len(buffer) // len(self.fill)))  # whole fills but the last
            self.pending = (self.fill * (n // len(self.fill) + 1))[:n]
            self.left -= n
        if not self.pending:
            self.pending, self.tail = self.tail, b""
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        self.read_bytes += n
        return n


SIZE = 50 * 1024 * 1024


@pytest.mark.parametrize(
    ("reader", "head", "fill", "tail", "last"),
    [
        # /dev/zero's bytes: a line that never ends until the end.
        (JsonLinesReader, b"", b"\x00", b'\n{"age": 3}\n', (2, b'{"age": 3}')),
        # One quoted field of 50 MB over thousands of lines, then a row.
        (CsvReader, b'"', b"a," * 5_000 + b"\n", b'"\nb,c\n', (SIZE // 10_001 + 2, ("b", "c"))),
    ],
    ids=["jsonl", "csv"],
)
def test_readers_hold_at_most_one_record(reader, head, fill, tail, last):
    """50 MB in one record: read past with bounded memory (counted by tracemalloc), one error, the next record read."""
    stream = _Generated(head, fill, SIZE, tail)
    tracemalloc.start()
    try:
        source = reader(io.BufferedReader(stream), limit=1_000_000)
        records = list(source.rows() if isinstance(source, CsvReader) else source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.read_bytes == len(head) + SIZE + len(tail)
    assert peak < 8 * 1024 * 1024, f"held {peak:,} bytes"
    assert len(records) == 2
    assert (records[0].line, records[0].problem) == (1, "the record is larger than the limit of 1,000,000 bytes")
    assert (records[1].line, records[1].payload) == last


def test_bom_at_the_start_of_json_lines_is_accepted(tmp_path):
    """A UTF-8 byte order mark before the first record is not part of it."""
    out = tmp_path / "out.jsonl"
    result = run(str(HOSTILE / "bom.jsonl"), "-o", str(out), "--workers", "1", *MINI)
    assert result.returncode == 0, result.stderr
    assert [(r["line"], r["triage"]) for r in jsonl(out.read_text())] == [(1, "urgent"), (2, "urgent")]


def test_duplicate_keys_in_a_record_are_refused(tmp_path):
    """{"age": 30, "age": 70} is an error record naming the key, as assess refuses it."""
    out = tmp_path / "out.jsonl"
    result = run(str(HOSTILE / "duplicate_key.jsonl"), "-o", str(out), "--workers", "1", *MINI)
    assert result.returncode == 1
    records = jsonl(out.read_text())
    assert [r["line"] for r in records] == [1, 2, 3]
    assert records[1] == {"line": 2, "error": "age: invalid JSON: duplicate key 'age' (first at line 1)"}
    assert "error" not in records[0]
    assert "error" not in records[2]


# ---------------------------------------------------------------------------
# Write failures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", name="cases_file")
def _cases_file(tmp_path_factory) -> tuple[Path, bytes]:
    """350 mini cases and the output of one uninterrupted run."""
    folder = tmp_path_factory.mktemp("fail")
    source = write_jsonl(folder / "in.jsonl", mini_cases(350, seed=11))
    reference = folder / "ref.jsonl"
    Batch(str(source), str(reference), rules=MINI_DIRS[0], knowledge=MINI_DIRS[1]).run()
    return source, reference.read_bytes()


class _FullDisk:
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, stream, room: int) -> None:
        self._stream, self.room = stream, room

    def write(self, data) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = self._stream.write(bytes(data[: self.room]))
        self.room -= written
        return written

    def __getattr__(self, name):
        return getattr(self._stream, name)


def test_disk_full_stops_with_one_error_and_resume_completes(cases_file, tmp_path, monkeypatch):
    """ENOSPC mid-chunk: a BatchError naming the output; --resume once there is space gives exactly the full output."""
    source, reference = cases_file
    out = tmp_path / "out.jsonl"
    real_open = open

    def full_disk_open(path, mode="r", *args, **kwargs):
        stream = real_open(path, mode, *args, **kwargs)
        return _FullDisk(stream, len(reference) // 2) if str(path) == str(out) else stream

    monkeypatch.setattr(batch_module, "open", full_disk_open, raising=False)
    batch = Batch(str(source), str(out), rules=MINI_DIRS[0], knowledge=MINI_DIRS[1])
    with pytest.raises(BatchError) as info:
        batch.run()
    message = str(info.value)
    assert message.startswith(f"cannot write {out}: No space left on device (after ")
    assert message.endswith("; run again with --resume once the problem is fixed")
    assert 0 < len(out.read_bytes()) <= len(reference) // 2
    assert reference.startswith(out.read_bytes())
    monkeypatch.undo()  # space again
    summary = Batch(str(source), str(out), rules=MINI_DIRS[0], knowledge=MINI_DIRS[1], resume=True).run()
    assert out.read_bytes() == reference
    assert summary.records == 350
    assert 0 < summary.resumed < 350


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits")
def test_file_size_limit_end_to_end(cases_file, tmp_path):
    """A real write failure (the file size limit) through the command line: exit 2, one line, then --resume."""
    import resource

    source, reference = cases_file
    out = tmp_path / "out.jsonl"
    limit = len(reference) // 3

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    failed = run(str(source), "-o", str(out), "--workers", "1", *MINI, preexec_fn=limited)
    assert failed.returncode == 2
    assert failed.stderr.startswith(f"spasm-advisor: error: cannot write {out}: File too large (after ")
    assert len(failed.stderr.splitlines()) == 1
    resumed = run(str(source), "-o", str(out), "--workers", "1", "--resume", *MINI)
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes() == reference


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("to", ["file", "stdout"])
def test_dev_full_is_one_line_exit_two(cases_file, to):
    """/dev/full as -o or as standard output: one line naming it, exit 2, no second error at exit."""
    source, _ = cases_file
    if to == "file":
        result = run(str(source), "-o", "/dev/full", "--workers", "1", *MINI)
        name = "/dev/full"
    else:
        with open("/dev/full", "wb") as full:
            proc = subprocess.run(
                [script(), "batch", str(source), "--workers", "1", *MINI], stdout=full, stderr=subprocess.PIPE
            )
        result = subprocess.CompletedProcess(proc.args, proc.returncode, "", proc.stderr.decode())
        name = "standard output"
    assert result.returncode == 2
    assert (
        result.stderr
        == f"spasm-advisor: error: cannot write {name}: No space left on device (after 0 complete records)\n"
    )
    assert not Path("/dev/full" + RESUME_SUFFIX).exists()


def test_closed_standard_output(cases_file):
    """A reader that goes away (a closed pipe) or no standard output at all: one line, exit 2."""
    source, _ = cases_file
    with subprocess.Popen(
        [script(), "batch", str(source), "--workers", "1", "--quiet", *MINI],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        proc.stdout.read(10)
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
    assert proc.returncode == 2
    assert stderr.startswith("spasm-advisor: error: cannot write standard output: Broken pipe (after ")
    assert len(stderr.splitlines()) == 1
    closed = subprocess.run(
        [script(), "batch", str(source), "--workers", "1", *MINI],
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 2
    assert closed.stderr.decode() == "spasm-advisor: error: standard output is closed: give an output file with -o\n"


# ---------------------------------------------------------------------------
# Checked resumption
# ---------------------------------------------------------------------------


@pytest.fixture(name="half_done")
def _half_done(cases_file, tmp_path) -> tuple[Path, Path, bytes]:
    """An output holding the first 150 of 350 records, as a kill leaves it, with its resume record."""
    source, reference = cases_file
    copy = tmp_path / "in.jsonl"
    shutil.copyfile(source, copy)
    out = tmp_path / "out.jsonl"
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"".join(copy.read_bytes().splitlines(keepends=True)[:150]))
    Batch(str(first), str(out), rules=MINI_DIRS[0], knowledge=MINI_DIRS[1]).run()
    return copy, out, reference


def _resume(source: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(str(source), "-o", str(out), "--workers", "1", "--resume", *(extra or MINI))


def test_resume_after_more_input_continues(half_done):
    """The same input (the first 150 records unchanged, more after them): the run continues to the full output."""
    source, out, reference = half_done
    result = _resume(source, out)
    assert result.returncode == 0, result.stderr
    assert "150 of them from an earlier run" in result.stderr
    assert out.read_bytes() == reference


def _edit_record(source: Path, index: int) -> None:
    lines = source.read_text().splitlines(keepends=True)
    case = json.loads(lines[index])
    case["fever"] = not case.get("fever", False)
    lines[index] = json.dumps(case) + "\n"
    source.write_text("".join(lines))


def test_resume_refuses_input_changed_before_the_resume_point(half_done):
    """A record before the resume point changed: exit 2 with the reason, output and resume record untouched."""
    source, out, _ = half_done
    before, record = out.read_bytes(), Path(f"{out}{RESUME_SUFFIX}").read_bytes()
    _edit_record(source, 42)
    result = _resume(source, out)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"spasm-advisor: error: cannot resume {out}: the input changed before the resume point: its first "
    )
    assert "records the earlier run had read, are not the same" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert out.read_bytes() == before
    assert Path(f"{out}{RESUME_SUFFIX}").read_bytes() == record


def test_resume_refuses_shorter_input(half_done):
    """An input cut shorter than the part already processed is refused."""
    source, out, _ = half_done
    source.write_bytes(b"".join(source.read_bytes().splitlines(keepends=True)[:100]))
    result = _resume(source, out)
    assert result.returncode == 2
    assert "the input changed before the resume point: it is" in result.stderr


def test_resume_accepts_changes_after_the_resume_point(half_done):
    """Records after the resume point may change: they have not been assessed yet."""
    source, out, _ = half_done
    _edit_record(source, 200)
    result = _resume(source, out)
    assert result.returncode == 0, result.stderr
    records = jsonl(out.read_text())
    assert len(records) == 350
    assert records[200] == {
        "line": 201,
        **MINI_ADVISOR.assess(json.loads(source.read_text().splitlines()[200])).to_dict(),
    }


def test_resume_refuses_another_knowledge_base_or_limit(half_done, tmp_path):
    """Resuming with another knowledge base or another record limit would mix two runs: refused, saying which."""
    source, out, _ = half_done
    other = tmp_path / "other"
    shutil.copytree(DATA / "mini", other)
    main = other / "rules" / "main.yaml"
    main.write_text(main.read_text().replace("because: Age.", "because: Older age."))
    changed = _resume(
        source, out, "--rules", str(other / "rules"), "--knowledge", str(other / "knowledge"), "--unsealed"
    )
    assert changed.returncode == 2
    assert f"cannot resume {out}: the knowledge base changed since the run started (sha256:" in changed.stderr
    limit = _resume(source, out, *MINI, "--max-record-bytes", "5000")
    assert limit.returncode == 2
    assert "max record bytes changed since the run started (1000000 then, 5000 now)" in limit.stderr


def test_resume_refuses_without_its_record_or_after_an_edit(half_done):
    """No resume record, or an output edited since: nothing can be checked, so nothing is resumed."""
    source, out, _ = half_done
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:-1]) + lines[-1].replace(b"}\n", b" }\n"))  # still a record, edited
    edited = _resume(source, out)
    assert edited.returncode == 2
    assert "it was changed after the run wrote it" in edited.stderr
    Path(f"{out}{RESUME_SUFFIX}").unlink()
    missing = _resume(source, out)
    assert missing.returncode == 2
    assert (
        f"its resume record {out}{RESUME_SUFFIX} is missing, so whether the input changed cannot be checked"
        in missing.stderr
    )


# ---------------------------------------------------------------------------
# Fuzzing the readers and the whole run
# ---------------------------------------------------------------------------

CSV_TEXT = st.lists(
    st.sampled_from(["a", "b", ",", '"', '""', "\n", "\r", "\r\n", " ", "é", "\x00", "x,y"]), max_size=40
).map("".join)


def _csv_reference(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, start = [], 1
    for row in reader:
        rows.append((start, row))
        start = reader.line_num + 1
    return rows


@given(text=CSV_TEXT, block=st.integers(4, 64), bom=st.booleans())
def test_fuzz_csv_reader_is_csv_reader(text, block, bom):
    """Rows and their first lines are exactly csv.reader's (newline=''), whatever the block boundaries."""
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    rows = [(r.line, list(r.payload)) for r in CsvReader(io.BytesIO(data), limit=10**6, block_size=block).rows()]
    assert rows == _csv_reference(text)


@given(text=CSV_TEXT, limit=st.integers(1, 12), block=st.integers(4, 16))
def test_fuzz_csv_limit_loses_no_row(text, limit, block):
    """With any limit, the rows come out at the same lines: the ones over the limit as errors, the rest whole."""
    rows = list(CsvReader(io.BytesIO(text.encode()), limit=limit, block_size=block).rows())
    reference = _csv_reference(text)
    assert [r.line for r in rows] == [line for line, _ in reference]
    for row, (_, cells) in zip(rows, reference, strict=True):
        if row.problem is None:
            assert list(row.payload) == cells
        else:
            assert row.problem == f"the record is larger than the limit of {limit:,} bytes"


JSONL_BYTES = st.lists(
    st.sampled_from(
        [b"{}", b'{"age": 3}', b"x", b" ", b"\t", b"\n", b"\r\n", b"\r", b"\xff", b"\x00", b"\xef\xbb\xbf"]
    ),
    max_size=40,
).map(b"".join)


@given(data=JSONL_BYTES, limit=st.integers(1, 20), block=st.integers(4, 16))
def test_fuzz_json_lines_reader_loses_no_line(data, limit, block):
    """Every non-blank line is one record at its line number: its bytes, or the limit problem when longer."""
    expected = []
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        text = raw.rstrip(b"\r\n")
        if text.strip():
            expected.append((number, text if len(text) <= limit else None))
    if data.endswith(b"\n") or not data:
        pass  # split() gave a last empty piece: not a record
    records = list(JsonLinesReader(io.BytesIO(data), limit=limit, block_size=block))
    assert [(r.line, r.payload) for r in records] == expected
    assert all((r.payload is None) == (r.problem is not None) for r in records)


RECORD_LINES = st.lists(
    st.one_of(
        st.sampled_from(['{"numbness": true}', '{"age": 200}', "[1]", "not json", "", "  ", '{"a": 1, "a": 2}']),
        st.just('{"posture": "' + "p" * 300 + '"}'),
        st.dictionaries(
            st.sampled_from(["age", "fever", "posture"]), st.one_of(st.integers(-5, 130), st.booleans(), st.none())
        ).map(json.dumps),
    ),
    max_size=25,
)


@settings(max_examples=max(10, settings.default.max_examples // 3), suppress_health_check=[HealthCheck.too_slow])
@given(lines=RECORD_LINES, chunk=st.integers(1, 7))
def test_fuzz_batch_writes_one_record_per_record(lines, chunk):
    """Whatever the lines, the output has exactly one record per non-blank input line, in order, at its line."""
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        source.write_text("\n".join(lines) + "\n")
        Batch(
            str(source), str(out), rules=MINI_DIRS[0], knowledge=MINI_DIRS[1], chunk_size=chunk, max_record_bytes=200
        ).run()
        records = jsonl(out.read_text())
    expected = [number for number, line in enumerate(lines, 1) if line.strip()]
    assert [r["line"] for r in records] == expected
    for record in records:
        line = lines[record["line"] - 1]
        if len(line.encode()) > 200:
            assert record == {"line": record["line"], "error": "the record is larger than the limit of 200 bytes"}
        elif "error" not in record:
            assert record == {"line": record["line"], **MINI_ADVISOR.assess(json.loads(line)).to_dict()}

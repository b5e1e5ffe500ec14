"""Assessing many cases: JSON Lines or CSV in, exactly one record out per record in.

A :class:`Batch` streams its input: records are read, assessed and written
in order, a bounded number at a time, so memory stays flat however long the
input is. With several workers, chunks of records go to worker processes,
each with its own :class:`~spasm_advisor.Advisor`, and come back in input order.

Input (read by :mod:`spasm_advisor.io.records`, bounded by bytes):

* **JSON Lines**: one case per line, a JSON object of fact names to values,
  read by the case reader (:mod:`spasm_advisor.io.reader`) exactly as
  ``assess`` reads JSON; blank lines are not records; a byte order mark at
  the start is dropped.
* **CSV**: a header row of fact names, then one case per row. An empty cell
  is unknown; ``true``/``false`` (any case) for yes/no facts, whole numbers
  for integer facts, the value itself for the others.

A record over the size limit (``max_record_bytes``, by default
:data:`MAX_RECORD_BYTES`, the size limit of ``assess``) becomes one error
record and the run goes on.

Output, one record per input record, in input order:

* **JSON Lines**: ``record="full"`` (the default) gives ``{"line": N, ...}``
  followed by the assessment's JSON contract (see
  :meth:`~spasm_advisor.Assessment.to_dict`); ``record="summary"`` gives the
  compact summary record of :mod:`spasm_advisor.io.output_records`. A record that
  could not be assessed is ``{"line": N, "error": MESSAGE}`` in both.
* **CSV**: the columns :data:`CSV_COLUMNS`; lists are joined with ``;``
  (the same whatever ``record`` says).
* **Parquet** (with pyarrow installed): the summary columns of
  :mod:`spasm_advisor.io.tables` after ``line``, plus ``assessment`` with
  ``record="full"``; written in row groups of :data:`PARQUET_ROW_GROUP`
  records. Parquet cannot be appended to, so it cannot be resumed.

``N`` is the line the record starts on in the input. Every output record is
written whole, ending in a newline, chunk by chunk. Next to a text output
file, a *resume record* (``OUTPUT.resume``, :data:`RESUME_SUFFIX`) notes the
run's settings and, after each chunk, how many records are written, how much
of the input they came from and the SHA-256 of that part of the input.
``resume=True`` counts the complete records of the output, drops a partial
last line if a kill left one, checks against the resume record that the
input before that point, the knowledge base and the settings are unchanged
(and refuses, saying why, when they are not), and continues with the next
input record. A write that fails (disk full, a closed standard output)
stops the run with a :class:`BatchError` after the complete records
written so far, so ``resume=True`` continues once the problem is fixed.
This module never prints: progress goes to a callback and the counts come
back as a :class:`BatchSummary`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gc
import io
import itertools
import json
import os
import re
import signal
import stat
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import BatchError, CaseError, CaseProblem, CellError
from spasm_advisor.io.case import Case
from spasm_advisor.io.output_records import RECORDS, FullRecords, SummaryRecords, error_record, record_kind
from spasm_advisor.io.reader import MAX_CASE_BYTES, parse_case_text
from spasm_advisor.io.records import CsvReader, JsonLinesReader, Record, RecordReader
from spasm_advisor.io.tables import CSV_COLUMNS, csv_row, error_row, parquet_schema
from spasm_advisor.io.tables import summary_row as table_row
from spasm_advisor.kb.model import TRIAGE_LEVELS, FactSpec, KnowledgeBase

if TYPE_CHECKING:
    from spasm_advisor.inference.advisor import Advisor
    from spasm_advisor.inference.assessment import Assessment, AssessmentSummary

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "MAX_RECORD_BYTES",
    "OUTPUT_FORMATS",
    "RECORDS",
    "RESUME_SUFFIX",
    "Batch",
    "BatchError",
    "BatchSummary",
    "CellError",
    "RecordAssessor",
    "cell_value",
    "count_records",
    "facts_from_cells",
    "format_for",
]

#: The input formats (and the text output formats).
FORMATS = ("jsonl", "csv")
#: The output formats: the text ones, and Parquet (needs pyarrow).
OUTPUT_FORMATS = (*FORMATS, "parquet")
#: Records per chunk sent to a worker: large enough to amortise the hand-over.
CHUNK_SIZE = 100
#: Records per Parquet row group: what the parent holds before writing.
PARQUET_ROW_GROUP = 10_000
#: Largest input record by default, in bytes: the size limit of a case file.
MAX_RECORD_BYTES = MAX_CASE_BYTES
#: Appended to the output's name to name its resume record.
RESUME_SUFFIX = ".resume"

_INTEGER = re.compile(r"[+-]?[0-9]+")
# Longest whole number read from a cell (ages and days have a handful of digits).
_MAX_DIGITS = 100
# How a JSON Lines output record of ours starts: the line, then triage or error.
_JSONL_RECORD = re.compile(rb'\{"line":(\d+),"(?:triage":"([a-z_]+)"|error")')


def format_for(path: str | None, default: str = "jsonl") -> str:
    """The format a file name implies: ``csv`` for ``.csv``; ``jsonl`` for ``.jsonl``, ``.ndjson``, ``.json``.

    ``parquet`` for ``.parquet`` (an output format only). Any other name (or none) gives ``default``.
    """
    suffix = Path(path).suffix.lower() if path and path != "-" else ""
    if suffix == ".csv":
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return default


def cell_value(spec: FactSpec, cell: str) -> Any:
    """The value of one CSV cell for ``spec``'s fact: ``None`` (unknown) for an empty cell.

    Raises:
        CellError: for a cell that is not ``true``/``false`` (yes/no facts) or
            a whole number (integer facts). Ranges and enum values are checked
            with the rest of the case.
    """
    text = cell.strip()
    if not text:
        return None
    if spec.type == "boolean":
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise CellError(f"{spec.id}: expected true or false, got {text[:40]!r}")
    if spec.type == "integer":
        if _INTEGER.fullmatch(text):
            if len(text.lstrip("+-")) > _MAX_DIGITS:
                raise CellError(f"{spec.id}: a number with {len(text.lstrip('+-')):,} digits is too long")
            return int(text)
        raise CellError(f"{spec.id}: expected {spec.domain_text()}, got {text[:40]!r}")
    return text


def facts_from_cells(
    columns: Sequence[tuple[str, FactSpec]],
    cells: Sequence[Any],
    kb: KnowledgeBase,
    convert: Callable[[FactSpec, Any], Any] = cell_value,
) -> dict[str, Any]:
    """The case in one row of cells, one cell per ``(fact name, spec)`` column.

    Raises:
        CaseError: naming every unreadable cell and every other problem of the row.
    """
    values: dict[str, Any] = {}
    problems = []
    for (name, spec), cell in zip(columns, cells, strict=True):
        try:
            values[name] = convert(spec, cell)
        except CellError as exc:
            problems.append(CaseProblem(name, str(exc)))
    if problems:
        # Report the other cells' problems too, not only the unreadable ones.
        try:
            Case.from_mapping(values, kb)
        except CaseError as exc:
            problems.extend(exc.problems)
        raise CaseError(problems)
    return values


def _invalid(message: str, field: str = "") -> CaseError:
    return CaseError([CaseProblem(field, message)])


class RecordAssessor:
    """Turns input records into output records: parse, validate, assess, format.

    One per process (a worker builds its own). ``header`` is the CSV header
    for CSV input; ``record`` is ``full`` or ``summary`` (JSON Lines and
    Parquet output; CSV is the same either way). Every record gives exactly
    one output record: the assessment, or an error naming what is wrong.
    """

    def __init__(
        self,
        advisor: Advisor,
        in_format: str,
        out_format: str,
        header: Sequence[str] = (),
        record: str = "full",
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        """Prepare to read ``in_format`` records and write ``out_format`` ones."""
        self.advisor = advisor
        self.max_record_bytes = max_record_bytes
        self.in_format = in_format
        self.out_format = out_format
        self.kind = record
        facts = advisor.knowledge_base.facts
        self.columns = tuple((name, facts[name]) for name in header)
        # Only what the output needs is built: a summary skips the explanations.
        self.full = record == "full" and out_format != "csv"
        self.full_records = FullRecords()
        self.summary_records = SummaryRecords(advisor.knowledge_base)

    def facts(self, payload: bytes | Sequence[str]) -> Mapping[str, Any]:
        """The case in one record (a JSON Lines line, or the cells of a CSV row).

        Raises:
            CaseError: for anything that is not a valid case, with every problem found.
        """
        if self.in_format == "csv":
            assert not isinstance(payload, bytes)
            if len(payload) != len(self.columns):
                raise _invalid(f"expected {len(self.columns)} cells (one per column), got {len(payload)}")
            return facts_from_cells(self.columns, payload, self.advisor.knowledge_base)
        assert isinstance(payload, bytes)
        # The case reader, as for a case file; validation follows in assess().
        return parse_case_text(payload, None, syntax="json", max_bytes=self.max_record_bytes)

    def record(
        self, line: int, payload: bytes | Sequence[str] | None, problem: str | None = None
    ) -> tuple[Any, str | None]:
        """The output record for one input record, and its triage (None for an error).

        The record is a line of text (with its newline), or a row of the
        Parquet columns. ``problem`` is why the reader could not read the
        record (then there is no payload).
        """
        if problem is not None or payload is None:
            return self.error_record(line, problem or "unreadable record"), None
        try:
            facts = self.facts(payload)
            if self.full:
                assessment = self.advisor.assess(facts)
                return self.assessment_record(line, assessment), assessment.triage
            summary = self.advisor.summarise(facts)
            return self.summary_record(line, summary), summary.triage
        except CaseError as exc:
            return self.error_record(line, str(exc)), None
        except Exception as exc:  # one record never stops the batch
            return self.error_record(line, f"internal error: {type(exc).__name__}: {exc}"), None

    def assessment_line(self, line: int, assessment: Assessment) -> str:
        """The output line of an assessed record (JSON Lines or CSV)."""
        if self.out_format == "csv":
            return _csv_line(csv_row(line, assessment.summary()))
        if self.kind == "summary":
            return self.summary_records.encode(assessment.summary(), line)
        return self.full_records.encode(assessment, line)

    def assessment_record(self, line: int, assessment: Assessment) -> Any:
        """The output record of an assessed record, with its explanations (full records)."""
        if self.out_format == "parquet":
            return (line, *table_row(assessment.summary()), self.full_records.contract(assessment))
        return self.assessment_line(line, assessment)

    def summary_record(self, line: int, summary: AssessmentSummary) -> Any:
        """The output record of an assessed record, from its summary (summary records, CSV)."""
        if self.out_format == "csv":
            return _csv_line(csv_row(line, summary))
        if self.out_format == "parquet":
            return (line, *table_row(summary))
        return self.summary_records.encode(summary, line)

    def error_line(self, line: int, message: str) -> str:
        """The output line of a record that could not be assessed (JSON Lines or CSV)."""
        if self.out_format == "csv":
            return _csv_line((str(line), "", "", "", "", message))
        return error_record(line, message)

    def error_record(self, line: int, message: str) -> Any:
        """The output record of a record that could not be assessed."""
        if self.out_format == "parquet":
            return (line, *error_row(message), *(("",) if self.full else ()))
        return self.error_line(line, message)

    def chunk(self, records: Sequence[Record]) -> tuple[bytes | list[tuple[Any, ...]], list[str | None]]:
        """The output of a chunk of records, encoded, and each record's triage (None for an error).

        Encoded here, in the worker, so that the process writing the output
        only copies bytes (or, for Parquet, hands rows to pyarrow).
        """
        results = [self.record(r.line, r.payload, r.problem) for r in records]
        triages = [triage for _, triage in results]
        if self.out_format == "parquet":
            return [row for row, _ in results], triages
        return "".join([text for text, _ in results]).encode("utf-8"), triages


def summary_row(line: int, assessment: Assessment) -> tuple[str, ...]:
    """The CSV columns of an assessed record (see :data:`CSV_COLUMNS`)."""
    return csv_row(line, assessment.summary())


def _csv_line(row: Sequence[str]) -> str:
    # One record, one line: a newline inside a message would split it.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell.replace("\r", " ").replace("\n", " ") for cell in row])
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------

_WORKER: RecordAssessor | None = None


def _load_advisor(rules: str | None, knowledge: str | None, sealed: bool = True) -> Advisor:
    from spasm_advisor.inference.advisor import Advisor

    if rules and knowledge:
        return Advisor.from_paths(rules, knowledge, sealed=sealed)
    return Advisor.default(sealed=sealed)


def _watch_parent(parent: int) -> None:
    # A worker of a parent that was killed outright would otherwise wait
    # forever for work that never comes.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def _start_worker(
    parent: int,
    rules: str | None,
    knowledge: str | None,
    sealed: bool,
    in_format: str,
    out_format: str,
    header: Sequence[str],
    record: str,
    max_record_bytes: int,
) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="spasm-advisor-parent-watch", daemon=True).start()
    global _WORKER
    advisor = _load_advisor(rules, knowledge, sealed)
    _WORKER = RecordAssessor(advisor, in_format, out_format, header, record, max_record_bytes)
    # Everything built so far lives as long as the worker: keep it out of
    # the garbage collector's full passes.
    gc.freeze()


def _work(records: Sequence[Record]) -> tuple[bytes | list[tuple[Any, ...]], list[str | None]]:
    assert _WORKER is not None, "worker not started"
    return _WORKER.chunk(records)


# ---------------------------------------------------------------------------
# Reading input and inspecting output
# ---------------------------------------------------------------------------


def check_header(header: Sequence[str], kb: KnowledgeBase) -> list[str]:
    """The CSV header's fact names, checked against the vocabulary.

    Raises:
        BatchError: naming an empty, unknown or repeated column.
    """
    names = [h.strip() for h in header]
    if not names or not any(names):
        raise BatchError("the CSV input has no header row (fact names)")
    seen: set[str] = set()
    for number, name in enumerate(names, 1):
        if not name:
            raise BatchError(f"CSV header: column {number} has no name")
        if name not in kb.facts:
            raise BatchError(f"CSV header: unknown fact '{name}'{did_you_mean(name, kb.facts)} (column {number})")
        if name in seen:
            raise BatchError(f"CSV header: fact '{name}' appears twice")
        seen.add(name)
    return names


def count_records(path: str, in_format: str) -> int | None:
    """How many records an input file holds, for progress (CSV: non-blank lines after the header).

    None when ``path`` is not a regular file (a pipe read twice would lose
    its records) or cannot be read. Memory stays flat whatever the lines' length.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        count, content = 0, False  # content: the line being counted has a non-blank byte so far
        with open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                pieces = block.split(b"\n")
                for piece in pieces[:-1]:
                    count += content or bool(piece.strip())
                    content = False
                content = content or bool(pieces[-1].strip())
        count += content
    except OSError:
        return None
    return max(count - 1, 0) if in_format == "csv" else count


@dataclass
class BatchSummary:
    """What a batch wrote: records in total, errors, and records per triage level.

    After a resumed run the counts cover the whole output, the records
    written before included (``resumed`` of them).
    """

    records: int = 0
    errors: int = 0
    resumed: int = 0
    triage: Counter[str] = field(default_factory=Counter)

    @property
    def assessed(self) -> int:
        """Records that were assessed (not errors)."""
        return self.records - self.errors

    def add(self, triage: str | None) -> None:
        """Count one output record: its triage level, or None for an error."""
        self.records += 1
        if triage is None:
            self.errors += 1
        else:
            self.triage[triage] += 1

    def levels(self) -> list[tuple[str, int]]:
        """``(level, count)`` from emergency down to self-care, levels with no record included."""
        return [(level, self.triage[level]) for level in reversed(TRIAGE_LEVELS)]


def _inspect_output(
    path: Path, out_format: str, summary: BatchSummary, record: str = "full", max_records: int | None = None
) -> int:
    """Count the complete records of an earlier run's output into ``summary``; return the byte length to keep.

    A last line without its newline is a record cut short by a kill: it is
    not counted, and the caller truncates the file before it. JSON Lines
    records must be of the ``record`` kind: a file of full records is not
    continued with summaries, nor the other way round. With ``max_records``,
    counting stops after that many records.
    """
    keep = 0
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, 1):
            if not line.endswith(b"\n"):
                break  # cut short
            # The CSV header is kept before the record count is checked: a run
            # killed before its first checkpoint keeps the header and no record.
            header = out_format == "csv" and number == 1
            if not header and max_records is not None and summary.records >= max_records:
                break  # enough
            keep += len(line)
            if out_format == "csv":
                row = next(csv.reader([line.decode("utf-8", "replace")]))
                if header:
                    if tuple(row) != CSV_COLUMNS:
                        raise BatchError(f"{path}: not a CSV output of 'spasm-advisor batch' (header {row[:6]})")
                    continue
                if len(row) != len(CSV_COLUMNS):
                    raise BatchError(f"{path}:{number}: not a record of 'spasm-advisor batch'")
                summary.add(None if row[5] else row[1])
            else:
                match = _JSONL_RECORD.match(line)
                if match is None:
                    raise BatchError(f"{path}:{number}: not a record of 'spasm-advisor batch'")
                if match[2] and record_kind(line) != record:
                    raise BatchError(
                        f"{path}:{number}: a {record_kind(line)} record; resume with --record {record_kind(line)}"
                        f" (this run writes {record} records)"
                    )
                summary.add(match[2].decode() if match[2] else None)
    return keep


# ---------------------------------------------------------------------------
# The resume record
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    """After ``records`` output records: the input bytes they came from, that input's SHA-256, the output's length."""

    records: int
    input_bytes: int
    input_sha256: str
    output_bytes: int


@dataclass(frozen=True, slots=True)
class _RunSettings:
    """What must not change between a run and its resumption."""

    in_format: str
    out_format: str
    record: str
    knowledge_base: str
    max_record_bytes: int


def _resume_path(output: str) -> Path:
    return Path(output + RESUME_SUFFIX)


class _ResumeRecord:
    """The resume record of an output: JSON Lines, the run's settings first, then one checkpoint per chunk written.

    Appended to after each chunk is written, so it never claims records the
    output does not have; a kill mid-append leaves a partial last line,
    which reading ignores.
    """

    VERSION = 1

    def __init__(self, path: Path, stream: IO[bytes]) -> None:
        self.path = path
        self._stream = stream

    @classmethod
    def start(cls, path: Path, settings: _RunSettings, input_size: int | None, first: _Checkpoint) -> _ResumeRecord:
        """A new resume record for a run starting at ``first``."""
        header = {"spasm_advisor_batch": cls.VERSION, **asdict(settings), "input_size": input_size}
        record = cls(path, _open_for_writing(path, "wb", "the resume record"))
        record._write(header)
        record.add(first)
        return record

    @classmethod
    def resume(cls, path: Path, keep: int) -> _ResumeRecord:
        """The resume record of a run being continued, its checkpoints after the first ``keep`` dropped."""
        stream = _open_for_writing(path, "r+b", "the resume record")
        try:
            stream.truncate(keep)
            stream.seek(keep)
        except OSError as exc:
            stream.close()
            raise BatchError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return cls(path, stream)

    def add(self, checkpoint: _Checkpoint) -> None:
        """Note that the output now holds ``checkpoint.records`` records."""
        self._write(asdict(checkpoint))

    def _write(self, data: Mapping[str, Any]) -> None:
        line = json.dumps(data, separators=(",", ":")).encode() + b"\n"
        try:
            _write_fully(self._stream, line)
        except OSError as exc:
            raise BatchError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Close the file; never raises (the run's outcome is already decided)."""
        with contextlib.suppress(OSError):
            self._stream.close()

    @classmethod
    def read(cls, path: Path) -> tuple[dict[str, Any], list[tuple[_Checkpoint, int]]]:
        """The settings of the run and each checkpoint with the byte length of the record up to it.

        Raises:
            BatchError: if the file cannot be read or is not a resume record.
        """
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BatchError(f"cannot read the resume record {path}: {exc.strerror or exc}") from exc
        lines = data.split(b"\n")[:-1]  # a partial last line is an append cut short
        entries: list[tuple[_Checkpoint, int]] = []
        header: dict[str, Any] = {}
        offset = 0
        for number, raw in enumerate(lines, 1):
            offset += len(raw) + 1
            try:
                item = parse_case_text(raw, None, syntax="json") if raw.strip() else None
                if number == 1:
                    header = dict(item or {})
                    if header.get("spasm_advisor_batch") != cls.VERSION:
                        raise ValueError("not a resume record of this version")
                    continue
                fields = dict(item or {})
                checkpoint = _Checkpoint(**fields)
                if not all(isinstance(getattr(checkpoint, name), int) for name in ("records", "input_bytes")):
                    raise ValueError("not a checkpoint")
            except (CaseError, TypeError, ValueError) as exc:
                raise BatchError(f"{path}:{number}: not a resume record of 'spasm-advisor batch' ({exc})") from None
            entries.append((checkpoint, offset))
        if not header or not entries:
            raise BatchError(f"{path}: not a resume record of 'spasm-advisor batch' (no checkpoint)")
        return header, entries


def _open_for_writing(path: Path, mode: str, what: str) -> IO[bytes]:
    try:
        return open(path, mode, buffering=0)
    except OSError as exc:
        raise BatchError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc


def _write_fully(stream: IO[bytes], data: bytes) -> None:
    """Write all of ``data``: an unbuffered file may take only part of it at a time."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        if written is None:  # a non-blocking stream that is full
            raise BlockingIOError(errno.EAGAIN, "the output would block")
        view = view[written:]
    stream.flush()


@dataclass(frozen=True, slots=True)
class _ResumePlan:
    """Where a resumed run goes on from, and what must be checked before it does."""

    skip: int  # input records already in the output
    keep_output: int  # bytes of the output to keep
    verify: _Checkpoint  # the input must reach it unchanged
    keep_record: int  # bytes of the resume record to keep (its checkpoints up to ``verify``)
    settings: dict[str, Any]


class _Output:
    """Where the output records go: a file, or standard output; counts the bytes written.

    A write that fails is a :class:`BatchError` naming the output, how many
    records it holds, and whether ``resume`` can continue.
    """

    def __init__(self, stream: Any, name: str, size: int, resumable: bool) -> None:
        self.stream = stream
        self.name = name
        self.size = size
        self.resumable = resumable
        self.failed = False

    def write(self, data: bytes | list[tuple[Any, ...]], records_before: int) -> None:
        """Write whole records (bytes, or Parquet rows); ``records_before`` is how many the output held before them."""
        try:
            if isinstance(data, bytes):
                _write_fully(self.stream, data)
            else:
                self.stream.write(data)
                self.stream.flush()
        except OSError as exc:
            self.failed = True
            hint = "; run again with --resume once the problem is fixed" if self.resumable else ""
            after = f"after {records_before:,} complete records"
            raise BatchError(f"cannot write {self.name}: {exc.strerror or exc} ({after}){hint}") from exc
        self.size += len(data) if isinstance(data, bytes) else 0

    def close(self) -> None:
        """Close a file output; never raises after a failed write (that error is the one to report)."""
        if self.stream is _stdout_or_none():
            return
        try:
            self.stream.close()
        except OSError as exc:
            if not self.failed:
                raise BatchError(f"cannot write {self.name}: {exc.strerror or exc}") from exc


def _stdout_or_none() -> IO[bytes] | None:
    return sys.stdout.buffer if sys.stdout is not None and hasattr(sys.stdout, "buffer") else None


# ---------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------


class Batch:
    """One batch run: input file (or ``-`` for standard input) to output file (or ``-``).

    Args:
        source: the input path, or ``-`` for standard input.
        output: the output path, or ``-`` for standard output (not with ``resume``).
        in_format: ``jsonl`` or ``csv`` (default: from the input's extension).
        out_format: ``jsonl``, ``csv`` or ``parquet`` (default: from the output's extension).
        rules, knowledge: another knowledge base's folders (both or neither).
        workers: processes assessing records; 1 assesses in this process.
        resume: continue after the complete records an earlier run left in ``output``.
        chunk_size: records per chunk handed to a worker.
        record: ``full`` (the default) or ``summary`` records (JSON Lines and Parquet).
        max_record_bytes: the largest input record; a larger one is an error record.
        sealed: check the knowledge base's files against its manifest (see
            :func:`~spasm_advisor.load_knowledge_base`).

    ``summary`` is kept up to date while :meth:`run` runs, so a caller that
    interrupts it still knows what was written.
    """

    def __init__(
        self,
        source: str,
        output: str,
        *,
        in_format: str | None = None,
        out_format: str | None = None,
        rules: str | None = None,
        knowledge: str | None = None,
        workers: int = 1,
        resume: bool = False,
        chunk_size: int = CHUNK_SIZE,
        record: str = "full",
        max_record_bytes: int = MAX_RECORD_BYTES,
        sealed: bool = True,
    ) -> None:
        """Describe the run; nothing is read or written until :meth:`run`."""
        self.source = source
        self.output = output
        self.in_format = in_format or format_for(source)
        self.out_format = out_format or format_for(output)
        if self.in_format not in FORMATS:
            raise BatchError(f"unknown input format '{self.in_format}' (expected one of {', '.join(FORMATS)})")
        if self.out_format not in OUTPUT_FORMATS:
            raise BatchError(f"unknown output format '{self.out_format}' (expected one of {', '.join(OUTPUT_FORMATS)})")
        if record not in RECORDS:
            raise BatchError(f"unknown record kind '{record}' (expected one of {', '.join(RECORDS)})")
        if bool(rules) != bool(knowledge):
            raise BatchError("rules and knowledge go together: give both folders")
        if resume and output == "-":
            raise BatchError("resume needs an output file, not standard output")
        if self.out_format == "parquet":
            if output == "-":
                raise BatchError("Parquet output needs an output file, not standard output")
            if resume:
                raise BatchError("Parquet output cannot be resumed (a Parquet file cannot be appended to)")
        if workers < 1:
            raise BatchError(f"workers must be at least 1, got {workers}")
        if max_record_bytes < 1:
            raise BatchError(f"the record size limit must be at least 1 byte, got {max_record_bytes}")
        self.rules, self.knowledge = rules, knowledge
        self.workers = workers
        self.resume = resume
        self.chunk_size = max(1, chunk_size)
        self.record = record
        self.max_record_bytes = max_record_bytes
        self.sealed = sealed
        self.summary = BatchSummary()

    def run(self, progress: Callable[[int], None] | None = None) -> BatchSummary:
        """Assess every record (after those already in the output, when resuming).

        ``progress`` is called with the number of records just written, after
        each chunk (resumed records are reported once, first).

        Raises:
            BatchError: if the input cannot be read, its CSV header is wrong,
                the output is not one ``resume`` can continue (or the input,
                the knowledge base or the settings changed since), or the
                output cannot be written.
            KnowledgeBaseError: if the knowledge base is broken.
        """
        # One advisor here when this process assesses; otherwise the knowledge
        # base alone, so that a broken one is reported before any worker starts.
        advisor = _load_advisor(self.rules, self.knowledge, self.sealed) if self.workers == 1 else None
        kb = advisor.knowledge_base if advisor is not None else self._knowledge_base()
        settings = _RunSettings(self.in_format, self.out_format, self.record, kb.digest, self.max_record_bytes)
        source = self._open_input()
        try:
            reader: RecordReader
            if self.in_format == "csv":
                reader = CsvReader(source, limit=self.max_record_bytes)
                rows = reader.rows()
                header = check_header(self._header(next(rows, None)), kb)
                records: Iterator[Record] = (row for row in rows if row.payload != ())  # a blank row is not a record
            else:
                reader = JsonLinesReader(source, limit=self.max_record_bytes)
                header, records = [], iter(reader)
            plan = self._plan_resume(settings)
            if plan is not None:
                records = self._verified(records, reader, plan)
            sink, log = self._open_output(settings, reader, plan)
            try:
                if progress is not None and self.summary.resumed:
                    progress(self.summary.resumed)
                self._write_all(records, reader, sink, log, header, advisor, progress)
            finally:
                if log is not None:
                    log.close()
                sink.close()
        finally:
            if source is not _stdin():
                source.close()
        return self.summary

    def _header(self, row: Record | None) -> list[str]:
        if row is None:
            return []
        if row.payload is None or isinstance(row.payload, bytes):
            raise BatchError(f"line {row.line}: cannot read the CSV header: {row.problem}")
        return list(row.payload)

    def _open_input(self) -> IO[bytes]:
        if self.source == "-":
            stream = _stdin()
            if stream is None:
                raise BatchError("standard input is closed: give an input file")
            return stream
        try:
            return open(self.source, "rb")
        except OSError as exc:
            raise BatchError(f"cannot read {self.source}: {exc.strerror or exc}") from exc

    def _input_size(self) -> int | None:
        try:
            info = os.stat(self.source) if self.source != "-" else None
        except OSError:
            return None
        return info.st_size if info is not None and stat.S_ISREG(info.st_mode) else None

    def _knowledge_base(self) -> KnowledgeBase:
        from spasm_advisor.kb.loader import load_knowledge_base
        from spasm_advisor.kb.resources import bundled_knowledge_dir, bundled_rules_dir

        if self.rules and self.knowledge:
            return load_knowledge_base(self.rules, self.knowledge, sealed=self.sealed)
        return load_knowledge_base(
            bundled_rules_dir(),
            bundled_knowledge_dir(),
            rules_label="rules",
            knowledge_label="knowledge",
            sealed=self.sealed,
        )

    def _plan_resume(self, settings: _RunSettings) -> _ResumePlan | None:
        """Where to resume (None: start afresh), from the output and its resume record; nothing is written.

        Raises:
            BatchError: if the output or resume record cannot be read, or the
                run cannot be resumed (with the reason).
        """
        path = Path(self.output)
        if not self.resume or not path.exists() or path.stat().st_size == 0:
            return None
        if not path.is_file():
            raise BatchError(f"cannot resume {self.output}: it is not a regular file")
        try:
            keep = _inspect_output(path, self.out_format, self.summary, self.record)
        except OSError as exc:
            raise BatchError(f"cannot read {self.output}: {exc.strerror or exc}") from exc
        done = self.summary.records
        record_path = _resume_path(self.output)
        cannot = f"cannot resume {self.output}"
        if not record_path.is_file():
            raise BatchError(
                f"{cannot}: its resume record {record_path} is missing, so whether the input changed "
                "cannot be checked; run without --resume to start again"
            )
        header, checkpoints = _ResumeRecord.read(record_path)
        for name, now in asdict(settings).items():
            if header.get(name) != now:
                what = "the knowledge base" if name == "knowledge_base" else name.replace("_", " ")
                raise BatchError(
                    f"{cannot}: {what} changed since the run started ({header.get(name)} then, {now} now); "
                    "run without --resume to start again"
                )
        last, last_end = checkpoints[-1]
        if done > last.records:
            # Written after the last checkpoint (a kill before it was noted): written again.
            self.summary = BatchSummary()
            keep = _inspect_output(path, self.out_format, self.summary, self.record, max_records=last.records)
            verify, record_keep = last, last_end
        else:
            verify, record_keep = next((c, end) for c, end in checkpoints if c.records >= done)
        if verify.records == self.summary.records and keep != verify.output_bytes:
            raise BatchError(f"{cannot}: it was changed after the run wrote it; run without --resume to start again")
        size = self._input_size()
        if size is not None and size < verify.input_bytes:
            raise BatchError(
                f"{cannot}: the input changed before the resume point: it is {size:,} bytes, "
                f"but the run had read {verify.input_bytes:,}; run without --resume to start again"
            )
        self.summary.resumed = self.summary.records
        return _ResumePlan(self.summary.records, keep, verify, record_keep, header)

    def _verified(self, records: Iterator[Record], reader: RecordReader, plan: _ResumePlan) -> Iterator[Record]:
        """The records after the resume point, once the input up to the last checkpoint is checked unchanged.

        Reads (and holds) the records up to that checkpoint now: at most one
        chunk beyond the resume point.

        Raises:
            BatchError: if the input is shorter, or its bytes before the checkpoint differ.
        """
        held: list[Record] = []
        count = 0
        if plan.verify.records > 0:
            for record in records:
                count += 1
                if count > plan.skip:
                    held.append(record)
                if count == plan.verify.records:
                    break
        if count < plan.verify.records:
            raise BatchError(
                f"cannot resume {self.output}: the input changed before the resume point: it has {count:,} "
                f"records, but the run had read {plan.verify.records:,}; run without --resume to start again"
            )
        offset, digest = reader.checkpoint()
        if (offset, digest) != (plan.verify.input_bytes, plan.verify.input_sha256):
            started = plan.settings.get("input_size")
            sizes = f" (it was {started:,} bytes when the run started)" if isinstance(started, int) else ""
            raise BatchError(
                f"cannot resume {self.output}: the input changed before the resume point: its first "
                f"{plan.verify.input_bytes:,} bytes, the {plan.verify.records:,} records the earlier run had read, "
                f"are not the same{sizes}; run without --resume to start again"
            )
        return itertools.chain(held, records)

    def _open_output(
        self, settings: _RunSettings, reader: RecordReader, plan: _ResumePlan | None
    ) -> tuple[_Output, _ResumeRecord | None]:
        """The output, positioned for writing, and its resume record (None for standard output, a device, Parquet)."""
        if self.out_format == "parquet":
            return _Output(_ParquetSink.open(self.output, full=self.record == "full"), self.output, 0, False), None
        header = _csv_line(CSV_COLUMNS).encode() if self.out_format == "csv" else b""
        if self.output == "-":
            stream = _stdout_or_none()
            if stream is None:
                raise BatchError("standard output is closed: give an output file with -o")
            sink = _Output(stream, "standard output", 0, resumable=False)
            if header:
                sink.write(header, 0)
            return sink, None
        path = Path(self.output)
        if plan is not None:
            stream = _open_for_writing(path, "r+b", "the output")
            try:
                stream.truncate(plan.keep_output)
                stream.seek(plan.keep_output)
            except OSError as exc:
                stream.close()
                raise BatchError(f"cannot write {self.output}: {exc.strerror or exc}") from exc
            sink = _Output(stream, self.output, plan.keep_output, resumable=True)
            if plan.keep_output == 0 and header:
                sink.write(header, 0)
            return sink, _ResumeRecord.resume(_resume_path(self.output), plan.keep_record)
        stream = _open_for_writing(path, "wb", "the output")
        regular = stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
        sink = _Output(stream, self.output, 0, resumable=regular)
        if header:
            sink.write(header, 0)
        if not regular:  # /dev/null, a FIFO: nothing to resume
            return sink, None
        offset, digest = reader.checkpoint()
        first = _Checkpoint(0, offset, digest, sink.size)
        return sink, _ResumeRecord.start(_resume_path(self.output), settings, self._input_size(), first)

    def _chunks(
        self, records: Iterator[Record], reader: RecordReader
    ) -> Iterator[tuple[list[Record], tuple[int, str]]]:
        """Chunks of records, each with the input checkpoint just after its last record."""
        chunk: list[Record] = []
        for record in records:
            chunk.append(record)
            if len(chunk) >= self.chunk_size:
                yield chunk, reader.checkpoint()
                chunk = []
        if chunk:
            yield chunk, reader.checkpoint()

    def _write(
        self,
        sink: _Output,
        log: _ResumeRecord | None,
        done: tuple[bytes | list[tuple[Any, ...]], list[str | None]],
        position: tuple[int, str],
        progress: Callable[[int], None] | None,
    ) -> None:
        # One write per chunk, of whole records; then the checkpoint, so the
        # resume record never claims records the output does not hold.
        data, triages = done
        sink.write(data, self.summary.records)
        for triage in triages:
            self.summary.add(triage)
        if log is not None:
            log.add(_Checkpoint(self.summary.records, position[0], position[1], sink.size))
        if progress is not None:
            progress(len(triages))

    def _write_all(
        self,
        records: Iterator[Record],
        reader: RecordReader,
        sink: _Output,
        log: _ResumeRecord | None,
        header: Sequence[str],
        advisor: Advisor | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        chunks = self._chunks(records, reader)
        if advisor is not None:
            assessor = RecordAssessor(
                advisor, self.in_format, self.out_format, header, self.record, self.max_record_bytes
            )
            for chunk, position in chunks:
                self._write(sink, log, assessor.chunk(chunk), position, progress)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Spawned, not forked: a worker starts clean whatever threads the
        # caller runs (a progress bar's, say), and works the same on every OS.
        executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(
                os.getpid(),
                self.rules,
                self.knowledge,
                self.sealed,
                self.in_format,
                self.out_format,
                list(header),
                self.record,
                self.max_record_bytes,
            ),
        )
        pending: deque[tuple[Any, tuple[int, str]]] = deque()
        try:
            for chunk, position in chunks:
                pending.append((executor.submit(_work, chunk), position))
                # A bounded number of chunks in flight: memory stays flat.
                if len(pending) >= 3 * self.workers:
                    future, at = pending.popleft()
                    self._write(sink, log, future.result(), at, progress)
            while pending:
                future, at = pending.popleft()
                self._write(sink, log, future.result(), at, progress)
        finally:
            for future, _ in pending:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)


def _stdin() -> IO[bytes] | None:
    return sys.stdin.buffer if sys.stdin is not None and hasattr(sys.stdin, "buffer") else None


class _ParquetSink:
    """Rows to a Parquet file, a row group of :data:`PARQUET_ROW_GROUP` rows at a time.

    Used where the text output's stream is: ``write`` takes a chunk's rows,
    ``flush`` writes the full row groups held, ``close`` the rest and the
    file's footer (so an interrupted run that closes it leaves a readable
    file of the records counted).
    """

    def __init__(self, writer: Any, schema: Any) -> None:
        self._writer = writer
        self._schema = schema
        self._rows: list[tuple[Any, ...]] = []

    @classmethod
    def open(cls, path: str, *, full: bool) -> _ParquetSink:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise BatchError("Parquet output needs pyarrow: pip install 'spasm-advisor[dask]'") from None
        schema = parquet_schema(line=True, full=full)
        try:
            return cls(pq.ParquetWriter(path, schema, compression="zstd"), schema)
        except OSError as exc:
            raise BatchError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows.extend(rows)

    def flush(self) -> None:
        while len(self._rows) >= PARQUET_ROW_GROUP:
            self._write_group(self._rows[:PARQUET_ROW_GROUP])
            del self._rows[:PARQUET_ROW_GROUP]

    def close(self) -> None:
        try:
            self.flush()
            if self._rows:
                self._write_group(self._rows)
                self._rows = []
        finally:
            self._writer.close()

    def _write_group(self, rows: list[tuple[Any, ...]]) -> None:
        import pyarrow as pa

        cells = zip(*rows, strict=True)  # row by row to column by column
        columns = [pa.array(column, type=field.type) for column, field in zip(cells, self._schema, strict=True)]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=self._schema))


def default_workers() -> int:
    """The number of worker processes to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)

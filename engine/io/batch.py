"""Assessing many cases: JSON Lines or CSV in, exactly one record out per record in.

A :class:`Batch` streams its input: records are read, assessed and written
in order, a bounded number at a time, so memory stays flat however long the
input is. With several workers, chunks of records go to worker processes,
each with its own :class:`~spasm_advisor.Advisor`, and come back in input order.

Input:

* **JSON Lines**: one case per line, a JSON object of fact names to values;
  blank lines are not records.
* **CSV**: a header row of fact names, then one case per row. An empty cell
  is unknown; ``true``/``false`` (any case) for yes/no facts, whole numbers
  for integer facts, the value itself for the others.

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
written whole, ending in a newline, and flushed chunk by chunk, so an
interrupted run leaves only complete records; ``resume=True`` counts them,
drops a partial last line if a kill left one, and continues with the next
input record. This module never prints: progress goes to a callback and the
counts come back as a :class:`BatchSummary`.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import re
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from spasm_advisor._suggest import did_you_mean
from spasm_advisor.errors import BatchError, CaseError, CaseProblem, CellError
from spasm_advisor.io.case import Case
from spasm_advisor.io.output_records import RECORDS, FullRecords, SummaryRecords, error_record, record_kind
from spasm_advisor.io.tables import CSV_COLUMNS, csv_row, error_row, parquet_schema
from spasm_advisor.io.tables import summary_row as table_row
from spasm_advisor.kb.model import TRIAGE_LEVELS, FactSpec, KnowledgeBase

if TYPE_CHECKING:
    from spasm_advisor.inference.advisor import Advisor
    from spasm_advisor.inference.assessment import Assessment, AssessmentSummary

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "OUTPUT_FORMATS",
    "RECORDS",
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

_INTEGER = re.compile(r"[+-]?[0-9]+")
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid value")


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
    ) -> None:
        """Prepare to read ``in_format`` records and write ``out_format`` ones."""
        self.advisor = advisor
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
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("not UTF-8 text") from None
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise _invalid(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        except ValueError as exc:
            raise _invalid(f"invalid JSON: {exc}") from None
        except RecursionError:
            raise _invalid("invalid JSON: nested too deeply") from None
        # Case validation reports anything but a mapping.
        return data  # type: ignore[no-any-return]

    def record(self, line: int, payload: bytes | Sequence[str]) -> tuple[Any, str | None]:
        """The output record for one input record, and its triage (None for an error).

        The record is a line of text (with its newline), or a row of the
        Parquet columns.
        """
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

    def chunk(self, records: Sequence[tuple[int, Any]]) -> tuple[bytes | list[tuple[Any, ...]], list[str | None]]:
        """The output of a chunk of records, encoded, and each record's triage (None for an error).

        Encoded here, in the worker, so that the process writing the output
        only copies bytes (or, for Parquet, hands rows to pyarrow).
        """
        results = [self.record(line, payload) for line, payload in records]
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


def _load_advisor(rules: str | None, knowledge: str | None) -> Advisor:
    from spasm_advisor.inference.advisor import Advisor

    if rules and knowledge:
        return Advisor.from_paths(rules, knowledge)
    return Advisor.default()


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
    in_format: str,
    out_format: str,
    header: Sequence[str],
    record: str = "full",
) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="spasm-advisor-parent-watch", daemon=True).start()
    global _WORKER
    _WORKER = RecordAssessor(_load_advisor(rules, knowledge), in_format, out_format, header, record)
    # Everything built so far lives as long as the worker: keep it out of
    # the garbage collector's full passes.
    gc.freeze()


def _work(records: Sequence[tuple[int, Any]]) -> tuple[bytes | list[tuple[Any, ...]], list[str | None]]:
    assert _WORKER is not None, "worker not started"
    return _WORKER.chunk(records)


# ---------------------------------------------------------------------------
# Reading input and inspecting output
# ---------------------------------------------------------------------------


def _jsonl_records(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, 1):
        text = raw.rstrip(b"\r\n")
        if text.strip():
            yield number, text


def _csv_rows(stream: IO[bytes]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    # Undecodable bytes become U+FFFD, so that row gets an error record
    # rather than stopping the batch.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return [], iter(())
    except csv.Error as exc:
        raise BatchError(f"line 1: cannot read the CSV header: {exc}") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise BatchError(f"line {start}: malformed CSV: {exc}") from exc
            if row:  # a blank line is not a record
                yield start, row
            start = reader.line_num + 1

    return header, rows()


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


def count_records(path: str, in_format: str) -> int:
    """How many records an input file holds, for progress (CSV: non-blank lines after the header)."""
    count = 0
    with open(path, "rb") as stream:
        if in_format == "csv":
            for line in stream:
                count += bool(line.strip())
            return max(count - 1, 0)
        for line in stream:
            count += bool(line.strip())
    return count


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


def _inspect_output(path: Path, out_format: str, summary: BatchSummary, record: str = "full") -> int:
    """Count the complete records of an earlier run's output into ``summary``; return the byte length to keep.

    A last line without its newline is a record cut short by a kill: it is
    not counted, and the caller truncates the file before it. JSON Lines
    records must be of the ``record`` kind: a file of full records is not
    continued with summaries, nor the other way round.
    """
    keep = 0
    with open(path, "rb") as stream:
        for number, line in enumerate(stream, 1):
            if not line.endswith(b"\n"):
                break  # cut short
            keep += len(line)
            if out_format == "csv":
                row = next(csv.reader([line.decode("utf-8", "replace")]))
                if number == 1:
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
        self.rules, self.knowledge = rules, knowledge
        self.workers = workers
        self.resume = resume
        self.chunk_size = max(1, chunk_size)
        self.record = record
        self.summary = BatchSummary()

    def run(self, progress: Callable[[int], None] | None = None) -> BatchSummary:
        """Assess every record (after those already in the output, when resuming).

        ``progress`` is called with the number of records just written, after
        each chunk (resumed records are reported once, first).

        Raises:
            BatchError: if the input cannot be read, its CSV header is wrong,
                or the output is not one ``resume`` can continue.
            KnowledgeBaseError: if the knowledge base is broken.
        """
        # One advisor here when this process assesses; otherwise the knowledge
        # base alone, so that a broken one is reported before any worker starts.
        advisor = _load_advisor(self.rules, self.knowledge) if self.workers == 1 else None
        kb = advisor.knowledge_base if advisor is not None else self._knowledge_base()
        source = sys.stdin.buffer if self.source == "-" else self._open_input()
        records: Iterator[tuple[int, Any]]
        try:
            if self.in_format == "csv":
                raw_header, records = _csv_rows(source)
                header = check_header(raw_header, kb)
            else:
                header, records = [], _jsonl_records(source)
            sink, skip = self._open_output()
            try:
                if progress is not None and skip:
                    progress(skip)
                self._write_all(records, skip, sink, header, advisor, progress)
            finally:
                sink.flush()
                if sink is not sys.stdout.buffer:
                    sink.close()
        finally:
            if source is not sys.stdin.buffer:
                source.close()
        return self.summary

    def _open_input(self) -> IO[bytes]:
        try:
            return open(self.source, "rb")
        except OSError as exc:
            raise BatchError(f"cannot read {self.source}: {exc.strerror or exc}") from exc

    def _knowledge_base(self) -> KnowledgeBase:
        from spasm_advisor.kb.loader import load_knowledge_base
        from spasm_advisor.kb.resources import bundled_knowledge_dir, bundled_rules_dir

        if self.rules and self.knowledge:
            return load_knowledge_base(self.rules, self.knowledge)
        return load_knowledge_base(
            bundled_rules_dir(), bundled_knowledge_dir(), rules_label="rules", knowledge_label="knowledge"
        )

    def _open_output(self) -> tuple[IO[bytes], int]:
        """The output stream, positioned for writing, and how many input records it already covers."""
        if self.out_format == "parquet":
            return _ParquetSink.open(self.output, full=self.record == "full"), 0  # type: ignore[return-value]
        if self.output == "-":
            sink: IO[bytes] = sys.stdout.buffer
            if self.out_format == "csv":
                sink.write(_csv_line(CSV_COLUMNS).encode())
            return sink, 0
        path = Path(self.output)
        skip = 0
        try:
            if self.resume and path.exists() and path.stat().st_size > 0:
                keep = _inspect_output(path, self.out_format, self.summary, self.record)
                skip = self.summary.resumed = self.summary.records
                with open(path, "r+b") as stream:
                    stream.truncate(keep)
                sink = open(path, "ab")  # noqa: SIM115  (the caller closes it)
                if keep == 0 and self.out_format == "csv":
                    sink.write(_csv_line(CSV_COLUMNS).encode())
            else:
                sink = open(path, "wb")  # noqa: SIM115  (the caller closes it)
                if self.out_format == "csv":
                    sink.write(_csv_line(CSV_COLUMNS).encode())
        except OSError as exc:
            raise BatchError(f"cannot write {self.output}: {exc.strerror or exc}") from exc
        return sink, skip

    def _chunks(self, records: Iterator[tuple[int, Any]], skip: int) -> Iterator[list[tuple[int, Any]]]:
        chunk: list[tuple[int, Any]] = []
        for record in records:
            if skip:
                skip -= 1
                continue
            chunk.append(record)
            if len(chunk) >= self.chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _write(
        self,
        sink: IO[bytes],
        done: tuple[bytes | list[tuple[Any, ...]], list[str | None]],
        progress: Callable[[int], None] | None,
    ) -> None:
        # One write per chunk, of whole records, then flush: an interruption
        # between chunks leaves only complete records behind. (A Parquet sink
        # takes rows and writes them a row group at a time.)
        data, triages = done
        sink.write(data)  # type: ignore[arg-type]
        sink.flush()
        for triage in triages:
            self.summary.add(triage)
        if progress is not None:
            progress(len(triages))

    def _write_all(
        self,
        records: Iterator[tuple[int, Any]],
        skip: int,
        sink: IO[bytes],
        header: Sequence[str],
        advisor: Advisor | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        chunks = self._chunks(records, skip)
        if advisor is not None:
            assessor = RecordAssessor(advisor, self.in_format, self.out_format, header, self.record)
            for chunk in chunks:
                self._write(sink, assessor.chunk(chunk), progress)
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
                self.in_format,
                self.out_format,
                list(header),
                self.record,
            ),
        )
        pending: deque[Any] = deque()
        try:
            for chunk in chunks:
                pending.append(executor.submit(_work, chunk))
                # A bounded number of chunks in flight: memory stays flat.
                if len(pending) >= 3 * self.workers:
                    self._write(sink, pending.popleft().result(), progress)
            while pending:
                self._write(sink, pending.popleft().result(), progress)
        finally:
            for future in pending:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)


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

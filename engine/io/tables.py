"""Assessments as table rows: the summary columns of Dask results and of Parquet output.

One row per case, the same columns for :func:`spasm_advisor.io.dask_support.assess_partitions`
(``full=False``) and for ``spasm-advisor batch -o results.parquet``. The first
five are ``batch``'s CSV columns; every cell is a string except
``withheld_reasons``. An input record that could not be assessed has its
message in ``error`` and empty cells (an empty list in ``withheld_reasons``).

========================  ==========================================  =======================================
column                    Parquet type                                content
========================  ==========================================  =======================================
``line``                  ``int64``                                   input line (``batch`` output only)
``triage``                ``string``                                  triage level
``recommendations``       ``string``                                  recommendation ids, ``;``-joined
``withheld``              ``string``                                  withheld ids, each once, ``;``-joined
``unanswered_red_flags``  ``string``                                  red flags not answered, ``;``-joined
``error``                 ``string``                                  why the record was not assessed
``referral``              ``string``                                  referral recommendations, ``;``-joined
``relief``                ``string``                                  relief recommendations, ``;``-joined
``therapy``               ``string``                                  therapy recommendations, ``;``-joined
``withheld_reasons``      ``list<struct<id, rule, reason: string>>``  each withholding: item, rule, reason
``findings``              ``string``                                  findings, sorted, ``;``-joined
``fired_rules``           ``string``                                  rules fired, in order, ``;``-joined
``kb_version``            ``string``                                  knowledge-base version
``kb_digest``             ``string``                                  knowledge-base digest
``assessment``            ``string``                                  the full JSON contract (``full`` only)
========================  ==========================================  =======================================

Every column is non-null. Parquet output needs ``pyarrow`` (the ``dask`` extra).
"""

from __future__ import annotations

from typing import Any

from spasm_advisor.inference.assessment import AssessmentSummary
from spasm_advisor.kb.model import CATEGORIES

__all__ = [
    "ASSESSMENT_COLUMN",
    "CSV_COLUMNS",
    "SUMMARY_COLUMNS",
    "csv_row",
    "error_row",
    "parquet_schema",
    "summary_row",
]

#: The columns of ``batch``'s CSV output.
CSV_COLUMNS = ("line", "triage", "recommendations", "withheld", "unanswered_red_flags", "error")
# Recommendation categories in output order (referral first), as the assessment lists them.
_CATEGORY_ORDER = ("referral", *(c for c in CATEGORIES if c != "referral"))
#: The summary columns after ``line``: the CSV columns, then the rest of a summary record.
SUMMARY_COLUMNS: tuple[str, ...] = (
    *CSV_COLUMNS[1:],
    *_CATEGORY_ORDER,
    "withheld_reasons",
    "findings",
    "fired_rules",
    "kb_version",
    "kb_digest",
)
#: The column holding the full JSON contract in ``full`` results.
ASSESSMENT_COLUMN = "assessment"

_EMPTY_ROW: tuple[Any, ...] = ("",) * len(_CATEGORY_ORDER) + ([], "", "", "", "")


def csv_row(line: int, summary: AssessmentSummary) -> tuple[str, ...]:
    """The CSV columns (:data:`CSV_COLUMNS`) of an assessed record."""
    return (
        str(line),
        summary.triage,
        ";".join(summary.recommendation_ids()),
        ";".join(summary.withheld_ids()),
        ";".join(summary.unanswered_red_flags),
        "",
    )


def summary_row(summary: AssessmentSummary) -> tuple[Any, ...]:
    """The :data:`SUMMARY_COLUMNS` of an assessed record."""
    by_category: dict[str, list[str]] = {category: [] for category in _CATEGORY_ORDER}
    for rec_id, category in summary.recommendations:
        by_category[category].append(rec_id)
    return (
        *csv_row(0, summary)[1:],
        *(";".join(by_category[category]) for category in _CATEGORY_ORDER),
        [{"id": rec_id, "rule": rule, "reason": reason} for rec_id, rule, reason in summary.withheld],
        ";".join(summary.findings),
        ";".join(summary.fired_rules),
        summary.kb_version,
        summary.kb_digest,
    )


def error_row(message: str) -> tuple[Any, ...]:
    """The :data:`SUMMARY_COLUMNS` of a record that could not be assessed: its message, nothing else."""
    one_line = message.replace("\r", " ").replace("\n", " ")
    return ("", "", "", "", one_line, *_EMPTY_ROW)


def parquet_schema(*, line: bool, full: bool) -> Any:
    """The ``pyarrow.Schema`` of summary rows: with ``line`` first (``batch``), with ``assessment`` last (``full``).

    Raises:
        ImportError: if pyarrow is not installed.
    """
    import pyarrow as pa

    reason = pa.struct([("id", pa.string()), ("rule", pa.string()), ("reason", pa.string())])
    fields = [pa.field("line", pa.int64(), nullable=False)] if line else []
    for name in SUMMARY_COLUMNS:
        kind = pa.list_(pa.field("item", reason, nullable=False)) if name == "withheld_reasons" else pa.string()
        fields.append(pa.field(name, kind, nullable=False))
    if full:
        fields.append(pa.field(ASSESSMENT_COLUMN, pa.string(), nullable=False))
    return pa.schema(fields)

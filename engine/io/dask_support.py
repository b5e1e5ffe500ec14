"""Assessing a partitioned dataset on a Dask cluster (the ``dask`` extra).

Each row of a Dask DataFrame is a case: columns are fact names, cells are
values, and a missing cell (``None``, NaN, ``pd.NA`` or an empty string) is
unknown. :func:`assess_partitions` maps every partition through one
:class:`~spasm_advisor.Advisor` per worker process, built on first use and reused
for every partition that process handles::

    import dask.dataframe as dd
    from distributed import Client
    from spasm_advisor.io.dask_support import assess_partitions

    client = Client("scheduler:8786")               # or a LocalCluster
    cases = dd.read_csv("cases-*.csv", dtype=str, keep_default_na=False)
    results = assess_partitions(cases)              # lazy, one row per case
    to_parquet(results, "results/")                 # or .compute(), .to_csv(...)

The result has the input's index and partitions, and the summary columns
of :mod:`spasm_advisor.io.tables` (:data:`SUMMARY_COLUMNS`): first the
columns of ``spasm-advisor batch`` CSV output without ``line``
(:data:`COLUMNS`), then the rest of a summary record (recommendations by
category, withheld items with rule and reason, findings, rules fired,
knowledge base), row for row what ``batch --record summary`` gives. With
``full=True`` there is also ``assessment`` (the JSON contract, as ``batch``
writes it to full JSON Lines records). :func:`to_parquet` writes the result
with the documented Parquet schema. Cells are read as ``batch`` reads CSV cells when they are
strings (``read_csv(..., dtype=str, keep_default_na=False)`` gives exactly
``batch``'s results); typed columns are accepted too, with whole-number
floats (pandas' integers with missing values) read as integers.
"""

from __future__ import annotations

import math
from functools import lru_cache
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from spasm_advisor.errors import CaseError
from spasm_advisor.io.batch import BatchError, cell_value, check_header, facts_from_cells
from spasm_advisor.io.output_records import FullRecords
from spasm_advisor.io.tables import (
    ASSESSMENT_COLUMN,
    CSV_COLUMNS,
    SUMMARY_COLUMNS,
    error_row,
    parquet_schema,
    summary_row,
)
from spasm_advisor.kb.model import FactSpec

if TYPE_CHECKING:
    from spasm_advisor.inference.advisor import Advisor

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "assess_frame", "assess_partitions", "to_parquet"]

#: The first result columns (``spasm-advisor batch`` CSV columns without ``line``).
COLUMNS: tuple[str, ...] = CSV_COLUMNS[1:]


@lru_cache(maxsize=4)
def _advisor(rules: str | None, knowledge: str | None) -> Advisor:
    """This process's advisor for a knowledge base: built once, shared by its threads and partitions."""
    from spasm_advisor.inference.advisor import Advisor

    if rules and knowledge:
        return Advisor.from_paths(rules, knowledge)
    return Advisor.default()


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    # pandas.NA and NaT: neither equal to themselves nor usable as a truth value.
    try:
        return bool(value != value)
    except TypeError:
        return True


def _value(spec: FactSpec, value: Any) -> Any:
    """A cell's value for ``spec``'s fact: strings as CSV cells, numpy and pandas scalars as plain values."""
    if _missing(value):
        return None
    if isinstance(value, str):
        return cell_value(spec, value)
    if spec.type == "boolean" and type(value).__name__ == "bool_":  # numpy.bool_
        return bool(value)
    if spec.type == "integer" and not isinstance(value, bool):
        if isinstance(value, Integral):
            return int(value)
        if isinstance(value, Real) and float(value).is_integer():
            return int(float(value))  # pandas stores integers with missing values as floats
    return value  # anything else is for case validation to report


def _row(
    advisor: Advisor,
    specs: tuple[tuple[str, FactSpec], ...],
    cells: tuple[Any, ...],
    encoder: FullRecords | None,
) -> tuple[Any, ...]:
    try:
        facts = facts_from_cells(specs, cells, advisor.knowledge_base, _value)
        if encoder is None:
            return summary_row(advisor.summarise(facts))
        assessment = advisor.assess(facts)
        return (*summary_row(assessment.summary()), encoder.contract(assessment))
    except CaseError as exc:
        message = str(exc)
    except Exception as exc:  # one row never stops the computation
        message = f"internal error: {type(exc).__name__}: {exc}"
    return (*error_row(message), *(("",) if encoder is not None else ()))


def _columns(full: bool) -> list[str]:
    return [*SUMMARY_COLUMNS, ASSESSMENT_COLUMN] if full else list(SUMMARY_COLUMNS)


def assess_frame(frame: Any, rules: str | None = None, knowledge: str | None = None, full: bool = False) -> Any:
    """Assess every row of a pandas DataFrame (one partition).

    Returns a pandas DataFrame with the same index and the columns
    :data:`SUMMARY_COLUMNS` (plus ``assessment`` with ``full``).
    """
    import pandas as pd

    advisor = _advisor(rules, knowledge)
    facts = advisor.knowledge_base.facts
    specs = tuple((str(name), facts[str(name)]) for name in frame.columns)
    encoder = FullRecords() if full else None
    rows = [_row(advisor, specs, cells, encoder) for cells in frame.itertuples(index=False, name=None)]
    return pd.DataFrame(rows, index=frame.index, columns=_columns(full), dtype=object)


def assess_partitions(cases: Any, *, rules: str | None = None, knowledge: str | None = None, full: bool = False) -> Any:
    """Assess every row of a Dask DataFrame of cases, partition by partition, on the current scheduler.

    Args:
        cases: a ``dask.dataframe.DataFrame`` whose columns are fact names.
        rules: another knowledge base's rules folder (with ``knowledge``),
            readable from every worker.
        knowledge: that knowledge base's knowledge folder.
        full: add the ``assessment`` column (the JSON contract of each row).

    Returns:
        A lazy Dask DataFrame with the input's index and partitions and the
        columns :data:`SUMMARY_COLUMNS` (plus ``assessment``). An invalid row
        gets its message in ``error`` and empty assessment columns (an empty
        list in ``withheld_reasons``); nothing is dropped.

    Raises:
        BatchError: if a column is not a fact of the knowledge base.
    """
    import pandas as pd

    if bool(rules) != bool(knowledge):
        raise BatchError("rules and knowledge go together: give both folders")
    check_header([str(c) for c in cases.columns], _knowledge_base(rules, knowledge))
    meta = pd.DataFrame({name: pd.Series(dtype=object) for name in _columns(full)})
    return cases.map_partitions(assess_frame, rules, knowledge, full, meta=meta)


def to_parquet(results: Any, path: str, *, full: bool | None = None, **options: Any) -> None:
    """Write :func:`assess_partitions` results to a Parquet dataset with the schema of :mod:`spasm_advisor.io.tables`.

    One file per partition, as ``dask.dataframe.DataFrame.to_parquet`` writes
    them, with the summary columns (and ``assessment``) only: the index is
    not written (a CSV's partitions each count their rows from 0).

    Args:
        results: what :func:`assess_partitions` returned.
        path: the dataset's folder (or any location Dask can write to).
        full: whether ``results`` has the ``assessment`` column (default: look).
        options: passed on to ``to_parquet`` (``compression``, ``compute_kwargs``, ...).

    Raises:
        ImportError: if pyarrow is not installed.
    """
    if full is None:
        full = ASSESSMENT_COLUMN in results.columns
    options.setdefault("compression", "zstd")
    results.to_parquet(
        path, engine="pyarrow", schema=parquet_schema(line=False, full=full), write_index=False, **options
    )


def _knowledge_base(rules: str | None, knowledge: str | None) -> Any:
    return _advisor(rules, knowledge).knowledge_base

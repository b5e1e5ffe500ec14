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
    results.to_csv("results-*.csv")                 # or .compute(), .to_parquet(...)

The result has the input's index and partitions, and the columns of
``spasm-advisor batch`` CSV output without ``line`` (:data:`COLUMNS`), plus
``assessment`` (the JSON contract, as ``batch`` writes it to JSON Lines)
with ``full=True``. Cells are read as ``batch`` reads CSV cells when they are
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
from spasm_advisor.io.batch import CSV_COLUMNS, BatchError, cell_value, check_header, facts_from_cells, summary_row
from spasm_advisor.io.compact_json import CompactJSON
from spasm_advisor.kb.model import FactSpec

if TYPE_CHECKING:
    from spasm_advisor.inference.advisor import Advisor

__all__ = ["COLUMNS", "assess_frame", "assess_partitions"]

#: Result columns (``spasm-advisor batch`` CSV columns without ``line``).
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
    encoder: CompactJSON | None,
) -> tuple[str, ...]:
    full = encoder is not None
    try:
        assessment = advisor.assess(facts_from_cells(specs, cells, advisor.knowledge_base, _value))
    except CaseError as exc:
        return ("", "", "", "", str(exc).replace("\r", " ").replace("\n", " ")) + (("",) if full else ())
    except Exception as exc:  # one row never stops the computation
        return ("", "", "", "", f"internal error: {type(exc).__name__}: {exc}") + (("",) if full else ())
    row = summary_row(0, assessment)[1:]
    if encoder is not None:
        row += (encoder.encode(assessment),)
    return row


def assess_frame(frame: Any, rules: str | None = None, knowledge: str | None = None, full: bool = False) -> Any:
    """Assess every row of a pandas DataFrame (one partition).

    Returns a pandas DataFrame with the same index and the columns
    :data:`COLUMNS` (plus ``assessment`` with ``full``).
    """
    import pandas as pd

    advisor = _advisor(rules, knowledge)
    facts = advisor.knowledge_base.facts
    specs = tuple((str(name), facts[str(name)]) for name in frame.columns)
    encoder = CompactJSON() if full else None
    rows = [_row(advisor, specs, cells, encoder) for cells in frame.itertuples(index=False, name=None)]
    columns = [*COLUMNS, "assessment"] if full else list(COLUMNS)
    return pd.DataFrame(rows, index=frame.index, columns=columns, dtype=object)


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
        columns :data:`COLUMNS` (plus ``assessment``). An invalid row gets its
        message in ``error`` and empty assessment columns; nothing is dropped.

    Raises:
        BatchError: if a column is not a fact of the knowledge base.
    """
    import pandas as pd

    if bool(rules) != bool(knowledge):
        raise BatchError("rules and knowledge go together: give both folders")
    check_header([str(c) for c in cases.columns], _knowledge_base(rules, knowledge))
    columns = [*COLUMNS, "assessment"] if full else list(COLUMNS)
    meta = pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return cases.map_partitions(assess_frame, rules, knowledge, full, meta=meta)


def _knowledge_base(rules: str | None, knowledge: str | None) -> Any:
    return _advisor(rules, knowledge).knowledge_base

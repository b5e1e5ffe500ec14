"""spasm_advisor.io.dask_support on a local Dask cluster of two worker processes gives what batch gives."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from locations import REPO

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from summary_rows import row_of  # noqa: E402
from test_batch import generate  # noqa: E402

from spasm_advisor import Advisor  # noqa: E402
from spasm_advisor.io.batch import BatchError  # noqa: E402
from spasm_advisor.io.dask_support import COLUMNS, SUMMARY_COLUMNS, assess_frame, assess_partitions  # noqa: E402
from spasm_advisor.io.output_records import expand_summary  # noqa: E402

KB = Advisor.default().knowledge_base
NAMES = list(KB.facts)

# Starting and stopping a cluster makes distributed and its dependencies
# talk: none of that is about this project.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning", "ignore::UserWarning")


def _cell(value: object) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _batch(source: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """spasm-advisor batch SOURCE -o OUT OPTIONS --quiet, run as the module the repository ships."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "batch", str(source), "-o", str(out), *options, "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


@pytest.fixture(scope="module", name="cases_csv")
def _cases_csv(tmp_path_factory) -> tuple[Path, list[list[str]], list[dict[str, object]]]:
    """A CSV of 400 cases (some invalid), and spasm-advisor batch's CSV and JSON Lines output for it."""
    folder = tmp_path_factory.mktemp("dask")
    rows = [[_cell(case.get(name)) for name in NAMES] for case in generate(400, seed=11)]
    rows[5][NAMES.index("age")] = "forty"
    rows[123][NAMES.index("fever")] = "maybe"
    rows[399][NAMES.index("posture")] = "slouched"
    source = folder / "cases.csv"
    with open(source, "w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(NAMES)
        writer.writerows(rows)
    outputs = {}
    for fmt in ("csv", "jsonl"):
        out = folder / f"batch.{fmt}"
        proc = _batch(source, out, "--workers", "1")
        assert proc.returncode == 1, proc.stderr  # the three invalid rows
        outputs[fmt] = out.read_text()
    batch_rows = [row[1:] for row in csv.reader(io.StringIO(outputs["csv"]))][1:]
    batch_records = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    return source, batch_rows, batch_records


@pytest.fixture(scope="module", name="client")
def _client():
    """A local cluster: two worker processes, one thread each."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_cluster_results_equal_single_process_batch(cases_csv, client):
    """Row for row, batch's CSV columns and JSON Lines contract; each worker built one advisor."""
    source, batch_rows, batch_records = cases_csv
    cases = dd.read_csv(source, dtype=str, keep_default_na=False, blocksize=source.stat().st_size // 4)
    assert cases.npartitions >= 3
    result = assess_partitions(cases, full=True)
    assert list(result.columns) == [*SUMMARY_COLUMNS, "assessment"]
    assert list(result.columns)[: len(COLUMNS)] == list(COLUMNS)
    frame = result.compute()
    assert len(frame) == len(batch_rows) == 400
    assert [list(row) for row in frame[list(COLUMNS)].itertuples(index=False, name=None)] == batch_rows
    assert [r["line"] for r in batch_records if "error" in r] == [7, 125, 401]
    for assessment, record in zip(frame["assessment"], batch_records, strict=True):
        contract = {k: v for k, v in record.items() if k != "line"}
        if "error" in record:
            assert assessment == "", record["line"]
        else:
            assert json.loads(assessment) == contract, record["line"]
    # One advisor per worker process, built once whatever the number of partitions it ran.
    built = client.run(lambda: __import__("spasm_advisor.io.dask_support").io.dask_support._advisor.cache_info().misses)
    assert len(built) == 2
    assert set(built.values()) <= {0, 1}
    assert sum(built.values()) >= 1


def test_typed_columns_and_missing_values():
    """Typed pandas columns work too: booleans, integers stored as floats; NaN, pd.NA and None are unknown."""
    frame = pd.DataFrame(
        {
            "age": [35.0, float("nan"), 70.0, 40.5],
            "saddle_anaesthesia": [True, None, False, pd.NA],
            "posture": ["poor", None, "good", "poor"],
        }
    )
    result = assess_frame(frame)
    advisor = Advisor.default()
    expected = [
        advisor.assess({"age": 35, "saddle_anaesthesia": True, "posture": "poor"}),
        advisor.assess({}),
        advisor.assess({"age": 70, "saddle_anaesthesia": False, "posture": "good"}),
    ]
    assert list(result["triage"][:3]) == [a.triage for a in expected]
    assert list(result["recommendations"][:3]) == [";".join(a.recommendation_ids()) for a in expected]
    assert result["triage"][3] == ""
    assert "age" in result["error"][3]
    assert list(result.index) == list(frame.index)


def test_unknown_column_is_refused_before_computing():
    """A column that is not a fact stops the call, naming it."""
    cases = dd.from_pandas(pd.DataFrame({"age": ["35"], "numbess": ["true"]}), npartitions=1)
    with pytest.raises(BatchError, match="numbess"):
        assess_partitions(cases)


def test_summary_columns_match_batch_summary_records_row_for_row(cases_csv, client, tmp_path):
    """full=False: the summary columns, row for row what 'batch --record summary' writes for the same file."""
    source, batch_rows, _ = cases_csv
    out = tmp_path / "summary.jsonl"
    proc = _batch(source, out, "--record", "summary")
    assert proc.returncode == 1, proc.stderr
    records = [expand_summary(json.loads(line), KB) for line in out.read_text().splitlines()]
    cases = dd.read_csv(source, dtype=str, keep_default_na=False, blocksize=source.stat().st_size // 4)
    result = assess_partitions(cases)
    assert list(result.columns) == list(SUMMARY_COLUMNS)
    frame = result.compute()
    assert len(frame) == len(records) == 400
    for (_, row), record in zip(frame.iterrows(), records, strict=True):
        assert dict(row) == row_of(record), record["line"]
    # The CSV columns come first and are batch's CSV, unchanged.
    assert [list(row) for row in frame[list(COLUMNS)].itertuples(index=False, name=None)] == batch_rows
    assert sum(frame["error"] != "") == 3

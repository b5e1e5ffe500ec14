"""Parquet output: batch -o results.parquet and Dask results, with the documented schema, round trip."""

from __future__ import annotations

import json

import pytest

pa = pytest.importorskip("pyarrow", reason="Parquet output needs pyarrow (the 'dask' extra); not installed")
pq = pytest.importorskip("pyarrow.parquet", reason="Parquet output needs pyarrow (the 'dask' extra); not installed")

from summary_rows import row_of  # noqa: E402
from test_batch import ADVISOR, KB, generate, run  # noqa: E402

from spasm_advisor.io import batch as batch_module  # noqa: E402
from spasm_advisor.io.batch import Batch  # noqa: E402
from spasm_advisor.io.output_records import expand_summary  # noqa: E402
from spasm_advisor.io.tables import SUMMARY_COLUMNS, parquet_schema  # noqa: E402


@pytest.fixture(scope="module", name="source")
def _source(tmp_path_factory):
    """250 cases, two of them invalid, as JSON Lines."""
    folder = tmp_path_factory.mktemp("parquet")
    lines = [json.dumps(c) for c in generate(250, seed=31)]
    lines[9] = '{"age": -4}'
    lines[200] = '{"fever": "maybe"}'
    path = folder / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_schema_is_the_documented_one():
    """line, the summary columns, assessment with full; all non-null; withheld_reasons a list of structs."""
    summary = parquet_schema(line=True, full=False)
    assert summary.names == ["line", *SUMMARY_COLUMNS]
    assert parquet_schema(line=False, full=True).names == [*SUMMARY_COLUMNS, "assessment"]
    assert summary.field("line").type == pa.int64()
    assert all(not field.nullable for field in summary)
    reasons = summary.field("withheld_reasons").type
    assert pa.types.is_list(reasons)
    assert [f.name for f in reasons.value_type] == ["id", "rule", "reason"]
    others = [f for f in summary if f.name not in ("line", "withheld_reasons")]
    assert all(f.type == pa.string() for f in others)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_batch_parquet_round_trip_matches_summary_records(source, tmp_path, workers):
    """Read back, the Parquet file has the schema and, row for row, what the summary JSON Lines say."""
    out, summary = tmp_path / "results.parquet", tmp_path / "summary.jsonl"
    result = run(str(source), "-o", str(out), "--record", "summary", "--workers", workers)
    assert result.returncode == 1, result.stderr
    assert "250 records" in result.stderr
    assert "2 errors" in result.stderr
    assert run(str(source), "-o", str(summary), "--record", "summary", "--workers", "1", "--quiet").returncode == 1
    table = pq.read_table(out)
    assert table.schema.equals(parquet_schema(line=True, full=False))
    records = [expand_summary(json.loads(line), KB) for line in summary.read_text().splitlines()]
    rows = table.to_pylist()
    assert len(rows) == len(records) == 250
    for row, record in zip(rows, records, strict=True):
        assert row.pop("line") == record["line"]
        assert row == row_of(record)
    assert [r["line"] for r in records if "error" in r] == [10, 201]


def test_full_parquet_has_the_json_contract(source, tmp_path):
    """--record full adds assessment: the JSON contract of each assessed row, empty for an error."""
    out = tmp_path / "full.parquet"
    assert run(str(source), "-o", str(out), "--record", "full", "--workers", "1", "--quiet").returncode == 1
    table = pq.read_table(out)
    assert table.schema.equals(parquet_schema(line=True, full=True))
    cases = [json.loads(line) for line in source.read_text().splitlines()]
    for row in table.to_pylist()[:60]:
        if row["error"]:
            assert row["assessment"] == ""
        else:
            assert json.loads(row["assessment"]) == ADVISOR.assess(cases[row["line"] - 1]).to_dict()


def test_parquet_is_written_a_row_group_at_a_time(source, tmp_path, monkeypatch):
    """The parent holds at most one row group (plus a chunk): row groups of the set size, every record once."""
    monkeypatch.setattr(batch_module, "PARQUET_ROW_GROUP", 40)
    out = tmp_path / "groups.parquet"
    summary = Batch(str(source), str(out), workers=1, record="summary", chunk_size=15).run()
    assert summary.records == 250
    metadata = pq.ParquetFile(out).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [40] * 6 + [10]
    assert pq.read_table(out, columns=["line"]).column("line").to_pylist() == list(range(1, 251))


def test_parquet_refuses_resume_and_standard_output(source, tmp_path):
    """A Parquet file cannot be appended to nor streamed: both are usage errors, with one line."""
    resumed = run(str(source), "-o", str(tmp_path / "r.parquet"), "--resume", "--record", "summary")
    assert resumed.returncode == 2
    assert "cannot be resumed" in resumed.stderr
    piped = run(str(source), "--output-format", "parquet")
    assert piped.returncode == 2
    assert "needs an output file" in piped.stderr
    assert "Traceback" not in resumed.stderr + piped.stderr


def test_dask_results_to_parquet_round_trip(tmp_path):
    """to_parquet writes Dask results with the schema; read back they equal the computed frame."""
    dd = pytest.importorskip("dask.dataframe", reason="needs the 'dask' extra")
    pd = pytest.importorskip("pandas", reason="needs the 'dask' extra")
    from spasm_advisor.io.dask_support import assess_partitions, to_parquet

    frame = pd.DataFrame(
        {
            "age": ["35", "70", "", "forty"],
            "saddle_anaesthesia": ["true", "", "false", ""],
            "pregnant": ["", "true"] * 2,
        }
    )
    results = assess_partitions(dd.from_pandas(frame, npartitions=2))
    to_parquet(results, str(tmp_path / "dataset"), compute_kwargs={"scheduler": "sync"})
    table = pq.read_table(tmp_path / "dataset")
    schema = parquet_schema(line=False, full=False)
    for field in schema:
        assert table.schema.field(field.name).type == field.type, field.name
    expected = results.compute(scheduler="sync")
    read = table.to_pandas()
    assert list(read["triage"]) == list(expected["triage"])
    assert [list(map(dict, cell)) for cell in read["withheld_reasons"]] == list(expected["withheld_reasons"])
    assert read["error"].iloc[3].startswith("age")

"""batch --record full|summary: full records as they always were, summary records small and faithful."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import pytest
from test_batch import ADVISOR, KB, generate, jsonl, run

from spasm_advisor.io.output_records import SummaryRecords, expand_summary, finding_numbers, record_kind, rule_numbers
from spasm_advisor.testing import sample_cases

REPO = Path(__file__).resolve().parent.parent


def reference_full_line(line: int, case: object) -> str:
    """Today's full record, made the plain way: the JSON contract of assess(), compact, after the line."""
    data = {"line": line, **ADVISOR.assess(case).to_dict()}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def projection(line: int, case: object) -> dict[str, object]:
    """What a summary record says, in names, taken from the full JSON contract of the same case."""
    contract = ADVISOR.assess(case).to_dict()
    return {
        "line": line,
        "triage": contract["triage"],
        "recommendations": [{"id": r["id"], "category": r["category"]} for r in contract["recommendations"]],
        "withheld": [{"id": w["id"], "reason": w["reason"], "rule": w["rule"]} for w in contract["withheld"]],
        "unanswered_red_flags": contract["unanswered_red_flags"],
        "findings": contract["findings"],
        "fired_rules": contract["fired_rules"],
        "knowledge_base": contract["knowledge_base"],
    }


@pytest.fixture(scope="module", name="mixed")
def _mixed(tmp_path_factory) -> tuple[Path, list[object | None]]:
    """300 cases with broken lines and a blank line among them; None where a line is not a case."""
    folder = tmp_path_factory.mktemp("records")
    cases: list[object | None] = list(generate(300, seed=21))
    lines = [json.dumps(c) for c in cases]
    for index, text in ((3, '{"numbess": true}'), (150, "[1, 2]"), (299, "not json")):
        lines[index], cases[index] = text, None
    lines[77], cases[77] = "", None  # blank: no record at all
    source = folder / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    return source, cases


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_records_are_byte_for_byte_todays(mixed, tmp_path, workers):
    """--record full (and no --record) writes json.dumps of the line and to_dict(), byte for byte."""
    source, cases = mixed
    out, default = tmp_path / "full.jsonl", tmp_path / "default.jsonl"
    assert run(str(source), "-o", str(out), "--record", "full", "--workers", workers, "--quiet").returncode == 1
    assert run(str(source), "-o", str(default), "--workers", workers, "--quiet").returncode == 1
    written = out.read_text(encoding="utf-8")
    assert default.read_text(encoding="utf-8") == written
    lines = written.splitlines(keepends=True)
    numbered = [(number, case) for number, case in enumerate(cases, 1) if number != 78]
    assert len(lines) == len(numbered) == 299
    for text, (number, case) in zip(lines, numbered, strict=True):
        if case is None:
            assert set(json.loads(text)) == {"line", "error"}
            assert json.loads(text)["line"] == number
        else:
            assert text == reference_full_line(number, case), number


@pytest.mark.parametrize("workers", ["1", "2"])
def test_summary_records_say_what_the_full_contract_says(mixed, tmp_path, workers):
    """Expanded with the same knowledge base, each summary record equals the full contract's parts."""
    source, cases = mixed
    out = tmp_path / "summary.jsonl"
    result = run(str(source), "-o", str(out), "--record", "summary", "--workers", workers)
    assert result.returncode == 1, result.stderr
    assert "299 records" in result.stderr
    assert "3 errors" in result.stderr
    records = jsonl(out.read_text(encoding="utf-8"))
    numbered = [(number, case) for number, case in enumerate(cases, 1) if number != 78]
    assert len(records) == len(numbered)
    for record, (number, case) in zip(records, numbered, strict=True):
        assert record["line"] == number
        if case is None:
            assert set(record) == {"line", "error"}
        else:
            assert expand_summary(record, KB) == projection(number, case), number


def test_summary_and_full_error_records_are_the_same(mixed, tmp_path):
    """A record that cannot be assessed reads the same in both kinds."""
    source, _ = mixed
    outputs = {}
    for kind in ("full", "summary"):
        out = tmp_path / f"{kind}.jsonl"
        run(str(source), "-o", str(out), "--record", kind, "--workers", "1", "--quiet")
        outputs[kind] = [line for line in out.read_text().splitlines() if record_kind(line) == "error"]
    assert len(outputs["full"]) == 3
    assert outputs["full"] == outputs["summary"]


def _benchmark():
    spec = importlib.util.spec_from_file_location("bench", REPO / "benchmarks" / "bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_records_average_under_1_kb_on_the_benchmark_cases():
    """Bytes counted on the benchmark's own batch cases: summaries average under 1,000 bytes, full ones 20x more."""
    bench = _benchmark()
    cases = bench.generate(KB, 2000, seed=bench.BATCH_SEED)
    encoder = SummaryRecords(KB)
    # Line numbers of a million-line file: the widest the benchmark writes.
    sizes = [len(encoder.encode(ADVISOR.summarise(case), 999_000 + i).encode()) for i, case in enumerate(cases)]
    assert statistics.mean(sizes) < 1000
    assert statistics.median(sizes) < 1000
    full = [len(reference_full_line(999_000 + i, case).encode()) for i, case in enumerate(cases[:200])]
    assert statistics.mean(full) > 20 * statistics.mean(sizes[:200])


def test_summary_numbers_are_positions_in_the_knowledge_base():
    """Rule n is kb.rules[n]; finding n is the n-th finding by name."""
    rules, findings = rule_numbers(KB), finding_numbers(KB)
    assert [KB.rules[n].id for n in rules.values()] == list(rules)
    assert sorted(findings, key=findings.__getitem__) == sorted(KB.findings)
    case = {"saddle_anaesthesia": True, "pregnant": True, "age": 30}
    record = json.loads(SummaryRecords(KB).encode(ADVISOR.summarise(case), 1))
    assessment = ADVISOR.assess(case)
    assert record["fired_rules"] == [rules[r] for r in assessment.fired_rules]
    assert record["findings"] == [findings[f] for f in assessment.findings]
    assert record["triage"] == "emergency"


def test_expanding_refuses_another_knowledge_base_and_bad_numbers(mini):
    """Numbers mean nothing without the knowledge base they were made with: a different digest is refused."""
    record = json.loads(SummaryRecords(KB).encode(ADVISOR.summarise({"fever": True}), 1))
    with pytest.raises(ValueError, match="made with knowledge base"):
        expand_summary(record, mini.knowledge_base)
    with pytest.raises(ValueError, match="rule number 100000"):
        expand_summary({**record, "fired_rules": [100000]}, KB)
    with pytest.raises(ValueError, match="finding number -1"):
        expand_summary({**record, "findings": [-1]}, KB)
    with pytest.raises(ValueError, match="knowledge base"):
        SummaryRecords(mini.knowledge_base).encode(ADVISOR.summarise({}), 1)


def test_resume_continues_summary_records_and_refuses_the_other_kind(mixed, tmp_path):
    """A cut summary output resumes to exactly the uninterrupted one; resuming it as full is refused."""
    source, _ = mixed
    out = tmp_path / "summary.jsonl"
    run(str(source), "-o", str(out), "--record", "summary", "--workers", "1", "--quiet")
    whole = out.read_bytes()
    cut = whole.index(b"\n", len(whole) // 2) + 25
    out.write_bytes(whole[:cut])
    refused = run(str(source), "-o", str(out), "--resume", "--workers", "1")
    assert refused.returncode == 2
    assert "summary record; resume with --record summary" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert out.read_bytes() == whole[:cut]
    resumed = run(str(source), "-o", str(out), "--resume", "--record", "summary", "--workers", "2")
    assert resumed.returncode == 1, resumed.stderr
    assert out.read_bytes() == whole
    # And the other way round: a file of full records is not continued with summaries.
    full = tmp_path / "full.jsonl"
    run(str(source), "-o", str(full), "--workers", "1", "--quiet")
    refused = run(str(source), "-o", str(full), "--resume", "--record", "summary", "--workers", "1")
    assert refused.returncode == 2
    assert "full record; resume with --record full" in refused.stderr


def test_csv_output_is_the_same_whatever_the_record_kind(mixed, tmp_path):
    """CSV has its own columns: --record changes nothing in it."""
    source, _ = mixed
    outputs = []
    for kind in ("full", "summary"):
        out = tmp_path / f"{kind}.csv"
        assert run(str(source), "-o", str(out), "--record", kind, "--workers", "1", "--quiet").returncode == 1
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == 300  # header and 299 records


def test_summarise_is_assess_without_explanations():
    """Advisor.summarise gives exactly assess().summary(), the fast path and the full one agreeing."""
    for case in sample_cases(KB, 300, seed=5, red_flag_yes_rate=0.1):
        assert ADVISOR.summarise(case) == ADVISOR.assess(case).summary()


def test_unknown_record_kind_is_a_usage_error(mixed):
    source, _ = mixed
    result = run(str(source), "--record", "tiny")
    assert result.returncode == 2
    assert "--record" in result.stderr


def test_parquet_without_pyarrow_is_one_clear_error(mixed, tmp_path, monkeypatch):
    """Without pyarrow, Parquet output stops before reading anything, saying what to install."""
    import sys

    from spasm_advisor.io.batch import Batch, BatchError

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    source, _ = mixed
    out = tmp_path / "results.parquet"
    with pytest.raises(BatchError, match=r"Parquet output needs pyarrow: pip install 'spasm-advisor\[dask\]'"):
        Batch(str(source), str(out), workers=1).run()
    assert not out.exists()

"""Spasm Advisor benchmark: latency, throughput, start-up, memory and batch speed.

Run from the repository (the project installed, e.g. ``pip install -e .``)::

    python benchmarks/bench.py                       # everything, about two minutes
    python benchmarks/bench.py --cases 500 --batch-cases 2000   # quicker
    python benchmarks/bench.py --memory-cases 1000000           # memory over a long batch only

Every figure comes from the bundled knowledge base and a fixed, seeded set
of generated cases (each fact unknown a third of the time, otherwise a
value, integers near the thresholds the rules compare them with), so two
runs on one machine measure the same work. Latencies are wall-clock, per
call, with the garbage collector on, as an embedding application sees them.
Targets are the ones of issue 5 for a 2-core machine; the figures say PASS
or MISS against them but nothing fails: speed is for people to judge.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Seed of the batch figures' cases (tests count the bytes of their summary records).
BATCH_SEED = 7


def generate(kb, count: int, seed: int = 20251125) -> list[dict[str, object]]:
    """A fixed set of valid cases for ``kb``."""
    from spasm_advisor.testing import sample_cases

    return sample_cases(kb, count, seed=seed)


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def timed(
    fn: Callable[[dict[str, object]], object], cases: list[dict[str, object]], warmup: int = 50
) -> dict[str, float]:
    """p50, p99 (ms) and calls per second of ``fn`` over ``cases``."""
    for case in cases[:warmup]:
        fn(case)
    times = []
    clock = time.perf_counter
    start = clock()
    for case in cases:
        t = clock()
        fn(case)
        times.append(clock() - t)
    total = clock() - start
    times.sort()
    return {
        "p50": percentile(times, 0.5) * 1e3,
        "p99": percentile(times, 0.99) * 1e3,
        "rate": len(cases) / total,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {cores} cores, Python {platform.python_version()}, load average {load:.2f} at start"


def script() -> str:
    found = Path(sys.executable).parent / "spasm-advisor"
    return str(found) if found.exists() else (shutil.which("spasm-advisor") or "spasm-advisor")


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def bench_load() -> None:
    from spasm_advisor.inference.compiler import compile_knowledge_base
    from spasm_advisor.kb.loader import load_knowledge_base
    from spasm_advisor.kb.resources import bundled_knowledge_dir, bundled_rules_dir

    loads, compiles, engines = [], [], []
    for _ in range(5):
        t = time.perf_counter()
        kb = load_knowledge_base(bundled_rules_dir(), bundled_knowledge_dir())
        loads.append(time.perf_counter() - t)
        t = time.perf_counter()
        compiled = compile_knowledge_base(kb)
        compiles.append(time.perf_counter() - t)
        t = time.perf_counter()
        compiled.new_engine()
        engines.append(time.perf_counter() - t)
    print(f"knowledge base: {len(kb.rules)} rules, {len(compiled.branches)} branches, {len(kb.facts)} facts")
    print(f"  load (YAML, validate)         {min(loads) * 1e3:7.1f} ms")
    print(f"  compile (experta rule class)  {min(compiles) * 1e3:7.1f} ms")
    print(f"  build one engine (Rete)       {min(engines) * 1e3:7.1f} ms")


def bench_assess(count: int) -> None:
    from spasm_advisor import Advisor
    from spasm_advisor.inference.reference import ReferenceInterpreter

    advisor = Advisor.default()
    kb = advisor.knowledge_base
    cases = generate(kb, count)
    reference = ReferenceInterpreter(kb)
    compiled = advisor.compiled
    assembler = advisor._assembler

    def naive(case: dict[str, object]) -> object:
        # What plain experta use costs: a new engine (a new Rete network) per case.
        valid = advisor.case(case)
        trace, findings = compiled.new_engine().run_case({n: valid.get(n) for n in compiled.fact_names})
        return assembler.assemble(valid, [compiled.branches[i] for i in trace], findings)

    # Same results first: speed of wrong answers is no use.
    for case in cases[:200]:
        assert advisor.assess(case).to_json() == reference.assess(case).to_json() == naive(case).to_json()
    fast = timed(advisor.assess, cases)
    slow = timed(naive, cases[: max(50, count // 10)], warmup=5)
    plain = timed(reference.assess, cases)
    fired = statistics.mean(len(advisor.assess(c).fired_rules) for c in cases[:500])
    print(f"Advisor.assess over {count:,} cases (mean {fired:.0f} rules fired per case)")

    def row(label: str, stats: dict[str, float], note: str = "") -> None:
        print(f"  {label:30} p50 {stats['p50']:6.3f} ms  p99 {stats['p99']:6.3f} ms  {stats['rate']:7,.0f}/s{note}")

    row("reused engine (Advisor.assess)", fast)
    row("new engine per case", slow, f"  ({slow['p50'] / fast['p50']:.1f}x slower)")
    row("reference interpreter", plain, f"  ({plain['p50'] / fast['p50']:.2f}x Advisor.assess)")
    print(
        f"  targets: p50 <= 1.0 ms {verdict(fast['p50'] <= 1.0)}"
        f" (stretch 0.5 ms {verdict(fast['p50'] <= 0.5)}),"
        f" p99 < 2 ms {verdict(fast['p99'] < 2.0)}"
    )
    from spasm_advisor.io.compact_json import CompactJSON

    encoder = CompactJSON()
    plain_json = timed(lambda c: json.dumps(advisor.assess(c).to_dict(), separators=(",", ":")), cases[:2000])
    compact = timed(lambda c: encoder.encode(advisor.assess(c)), cases[:2000])
    row("assess + json.dumps(to_dict())", plain_json)
    row("assess + CompactJSON (batch)", compact)


def bench_memory_per_engine() -> None:
    from spasm_advisor import Advisor

    advisor = Advisor.default()
    case = generate(advisor.knowledge_base, 1)[0]
    advisor.assess(case)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    engine = advisor.compiled.new_engine()
    engine.run_case({n: case.get(n) for n in advisor.compiled.fact_names})
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    size = sum(s.size_diff for s in after.compare_to(before, "filename"))
    print(f"memory per engine (Rete network and memories, one case in it): {size / 1024:,.0f} KiB")
    del engine


def bench_cold_start(runs: int) -> None:
    example = REPO / "examples" / "desk_worker.yaml"
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run([script(), "assess", str(example)], capture_output=True, check=False)
        times.append(time.perf_counter() - t)
        assert proc.returncode == 0, proc.stderr
    times.sort()
    print(
        f"CLI cold start, 'spasm-advisor assess examples/desk_worker.yaml', {runs} runs:"
        f" median {statistics.median(times) * 1e3:.0f} ms, best {times[0] * 1e3:.0f} ms"
        f"  (target < 300 ms: {verdict(statistics.median(times) < 0.3)})"
    )


def run_batch(source: Path, output: str, workers: int, fmt: str) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        [
            script(),
            "batch",
            str(source),
            "-o",
            output,
            "--output-format",
            fmt,
            "--workers",
            str(workers),
            "--quiet",
        ],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return time.perf_counter() - t


def bench_batch(count: int) -> None:
    from spasm_advisor import Advisor

    cases = generate(Advisor.default().knowledge_base, count, seed=BATCH_SEED)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "cases.jsonl"
        source.write_text("".join(json.dumps(c) + "\n" for c in cases))
        tiny = Path(folder) / "one.jsonl"
        tiny.write_text(json.dumps(cases[0]) + "\n")
        print(f"batch throughput, {count:,} cases, end to end (start-up included), output to a file:")
        for fmt in ("csv", "jsonl"):
            for workers in (1, 2):
                start = run_batch(tiny, str(Path(folder) / f"warm.{fmt}"), workers, fmt)
                elapsed = run_batch(source, str(Path(folder) / f"out.{fmt}"), workers, fmt)
                rate = count / elapsed
                steady = count / max(elapsed - start, 1e-9)
                note = f"  (target >= 2,000/s: {verdict(rate >= 2000)})" if workers == 2 else ""
                label = f"{fmt} output, {workers} worker{'s' if workers > 1 else ''}"
                print(f"  {label:22} {elapsed:6.2f} s, {rate:7,.0f} cases/s ({steady:,.0f}/s after start-up){note}")


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def bench_memory_batch(count: int, workers: int) -> None:
    """Stream ``count`` generated cases through batch; sample every process's RSS as it goes."""
    from spasm_advisor import Advisor

    kb = Advisor.default().knowledge_base
    block = generate(kb, 10_000, seed=3)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "cases.jsonl"
        with open(source, "w") as stream:
            lines = [json.dumps(c) + "\n" for c in block]
            for start in range(0, count, len(lines)):
                stream.writelines(lines[: min(len(lines), count - start)])
        output = Path(folder) / "out.csv"
        proc = subprocess.Popen(
            [script(), "batch", str(source), "-o", str(output), "--workers", str(workers), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        samples: list[tuple[float, int, int, int]] = []  # (seconds, records done, parent KiB, largest worker KiB)
        started = time.perf_counter()

        def sample() -> None:
            while proc.poll() is None:
                main = _rss_kib(proc.pid)
                workers_rss = [_rss_kib(c) for c in _children(proc.pid)]
                # Output bytes so far: turned into records once the total is known.
                done = output.stat().st_size if output.exists() else 0
                samples.append((time.perf_counter() - started, done, main, max(workers_rss, default=0)))
                time.sleep(max(0.5, (time.perf_counter() - started) / 200))

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        _, err = proc.communicate()
        watcher.join()
        elapsed = time.perf_counter() - started
        assert proc.returncode == 0, err
        size = output.stat().st_size
        with open(output, "rb") as stream:
            written = sum(1 for _ in stream) - 1
    assert written == count
    samples = [(t, int(count * done / size), main, worker) for t, done, main, worker in samples]
    rate = count / elapsed
    print(f"memory over a {count:,}-case batch ({workers} workers, CSV output): {elapsed:,.0f} s, {rate:,.0f} cases/s")
    print("  records done   parent RSS   largest worker RSS")
    picks = [samples[int(i * (len(samples) - 1) / 6)] for i in range(7)] if samples else []
    for _, done, main, worker in picks:
        print(f"  {done:12,}   {main / 1024:7.1f} MB   {worker / 1024:7.1f} MB")
    peak_main = max((s[2] for s in samples), default=0) / 1024
    peak_worker = max((s[3] for s in samples), default=0) / 1024
    later = [s for s in samples if s[1] >= count // 10]
    growth = (max(s[3] for s in later) - min(s[3] for s in later)) / 1024 if later else 0.0
    print(
        f"  peak: parent {peak_main:.1f} MB, worker {peak_worker:.1f} MB; worker growth after the first 10%:"
        f" {growth:.1f} MB  (target < 200 MB per process, flat: {verdict(max(peak_main, peak_worker) < 200)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="cases for the latency figures (default 5000)")
    parser.add_argument("--batch-cases", type=int, default=20000, help="cases for the batch figures (default 20000)")
    parser.add_argument("--cold-runs", type=int, default=10, help="CLI start-ups to time (default 10)")
    parser.add_argument(
        "--memory-cases", type=int, default=0, help="run only the long-batch memory check, over N cases"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers for --memory-cases (default 2)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.memory_cases:
        bench_memory_batch(args.memory_cases, args.workers)
        return
    bench_load()
    bench_assess(args.cases)
    bench_memory_per_engine()
    bench_cold_start(args.cold_runs)
    bench_batch(args.batch_cases)


if __name__ == "__main__":
    main()

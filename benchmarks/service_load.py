"""Load run of the CDS Hooks service on loopback: patient-view calls from concurrent clients.

Run from the repository with the server extra installed::

    python benchmarks/service_load.py                  # 5,000 calls, 16 clients, one worker
    python benchmarks/service_load.py --workers 2      # the same on two worker processes
    python benchmarks/service_load.py --calls 1000 --clients 4 --json

Starts ``spasm-advisor serve`` (``--workers``, default one) on a free
loopback port with a temporary feedback database, warms it up, then sends a
bounded number of ``patient-view`` calls: each a prefetched chart (Patient,
Conditions, MedicationStatements, AllergyIntolerance, Observations) plus an
interview QuestionnaireResponse built from a fixed, seeded set of generated
cases, so every call assesses a different case. It reports, for one client
and for the concurrent clients:

* latency seen by the client (p50, p99) and the server's own time per call
  from its ``Server-Timing`` header: ``app`` (the whole application) and
  ``hook`` (the hook's own work, from its body read to its response
  encoded), neither of which counts the client or the queue;
* throughput (calls per second) and the error count (anything but 200);
* the servers' processor time per call (user and system, summed over the
  workers), which the machine's other work inflates far less than wall time;
* the servers' resident memory (VmRSS, summed over the workers) after
  warm-up and after the run.

With C clients in flight and one worker, a call waits for the others ahead
of it (Little's law: latency = calls in flight / throughput, about C times
the service time), so the per-call targets are judged on the server's own
time and on the client latency with one client; the concurrent run shows
throughput and the tail under load.

Baselines measured in the same run: ``GET /healthz`` through the same HTTP
stack (what the framework and the loopback cost) and the engine alone
(``Advisor.assess`` in this process, on the same cases, before and after the
calls: the ratio uses their mean). Figures are printed with ratios to them;
nothing fails: speed is for people to judge. Traffic goes to 127.0.0.1 only
and the loops are bounded by count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "cds_hooks"
SERVICE = "spasm-advisor-patient-view"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (uvicorn's workers when there are several)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def serving_pids(pid: int, workers: int) -> list[int]:
    """The processes that answer calls: the serve process itself, or its workers."""
    return [pid] if workers == 1 else children(pid)


def bodies(count: int, red_flag_yes_rate: float | None = None) -> list[dict]:
    """``count`` patient-view calls: the fixture chart plus a generated interview each (a fixed seed)."""
    from spasm_advisor import Advisor
    from spasm_advisor.service.questionnaire import QUESTIONNAIRE_URL, VALUE_SYSTEM
    from spasm_advisor.testing import sample_cases

    kb = Advisor.default().knowledge_base
    chart = json.loads((DATA / "patient-view-chart.json").read_text())
    chart_facts = {"age", "osteoporosis", "history_of_cancer", "nsaid_allergy", "pain_severity", "on_anticoagulants"}
    out = []
    for case in sample_cases(kb, count, seed=20261201, red_flag_yes_rate=red_flag_yes_rate):
        items = []
        for name, value in case.items():
            if value is None or name in chart_facts:
                continue
            if isinstance(value, bool):
                answer = {"valueBoolean": value}
            elif isinstance(value, int):
                answer = {"valueInteger": value}
            else:
                answer = {"valueCoding": {"system": VALUE_SYSTEM, "code": value}}
            items.append({"linkId": name, "answer": [answer]})
        body = json.loads(json.dumps(chart))
        body["hookInstance"] = str(uuid.uuid4())
        body["prefetch"]["interview"] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {
                    "resource": {
                        "resourceType": "QuestionnaireResponse",
                        "status": "completed",
                        "questionnaire": QUESTIONNAIRE_URL,
                        "item": items,
                    }
                }
            ],
        }
        out.append(body)
    return out


async def drive(url: str, payloads: list[bytes], clients: int, path: str, method: str) -> dict:
    from spasm_advisor.service.middleware import server_timing

    latencies: list[float] = []
    server_ms: list[float] = []
    hook_ms: list[float] = []
    errors = 0
    queue = list(reversed(payloads))
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            while queue:
                payload = queue.pop()
                started = time.perf_counter()
                if method == "GET":
                    response = await client.get(path)
                else:
                    response = await client.post(path, content=payload, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors += 1
                timing = server_timing(response.headers.get("server-timing", ""))
                if "app" in timing:
                    server_ms.append(timing["app"])
                if "hook" in timing:
                    hook_ms.append(timing["hook"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "calls": len(payloads),
        "clients": clients,
        "errors": errors,
        "throughput_per_s": len(payloads) / elapsed,
        "client_p50_ms": percentile(latencies, 0.50),
        "client_p99_ms": percentile(latencies, 0.99),
        "server_p50_ms": percentile(server_ms, 0.50),
        "server_p99_ms": percentile(server_ms, 0.99),
        "hook_p50_ms": percentile(hook_ms, 0.50) if hook_ms else None,
        "hook_p99_ms": percentile(hook_ms, 0.99) if hook_ms else None,
    }


def engine_baseline(payload_bodies: list[dict]) -> dict:
    """The engine alone on the same cases: build the case the service would, time ``assess``."""
    from spasm_advisor import Advisor

    advisor = Advisor.default()
    cases = []
    for body in payload_bodies:
        items = body["prefetch"]["interview"]["entry"][0]["resource"]["item"]
        case = {"age": 68, "osteoporosis": True, "history_of_cancer": True, "nsaid_allergy": True, "pain_severity": 7}
        case["on_anticoagulants"] = True
        for item in items:
            answer = item["answer"][0]
            case[item["linkId"]] = (
                next(iter(answer.values())) if "valueCoding" not in answer else answer["valueCoding"]["code"]
            )
        cases.append(case)
    for case in cases[:200]:
        advisor.assess(case)
    times = []
    cpu_started = time.process_time()
    for case in cases:
        started = time.perf_counter()
        advisor.assess(case)
        times.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(cases)
    return {
        "p50_ms": percentile(times, 0.5),
        "p99_ms": percentile(times, 0.99),
        "mean_ms": statistics.mean(times),
        "cpu_ms_per_call": cpu_ms,
    }


def cpu_ms(pids: list[int]) -> float:
    """Processor time (user and system) the processes have used so far, in milliseconds."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def _ms(value: float | None) -> str:
    return f"{value:>8.2f}ms" if value is not None else f"{'-':>10}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="patient-view calls under load (default 5000)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--serial", type=int, default=1000, help="calls from one client (default 1000)")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument(
        "--red-flag-yes-rate",
        type=float,
        default=None,
        metavar="P",
        help="how often a generated interview answers a warning sign yes (default 0.5: nearly all emergencies)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    script = shutil.which("spasm-advisor") or str(Path(sys.executable).parent / "spasm-advisor")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="spasm-load-"))
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            script,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--feedback-db",
            str(folder / "feedback.sqlite3"),
        ],
        env={**os.environ, "SPASM_ADVISOR_TODAY": "2026-12-01"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    hook = f"/cds-services/{SERVICE}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        payload_bodies = bodies(args.calls + 200, args.red_flag_yes_rate)
        payloads = [json.dumps(b).encode() for b in payload_bodies]
        warm = asyncio.run(drive(url, payloads[:200], max(4, args.workers * 4), hook, "POST"))
        pids = serving_pids(server.pid, args.workers)
        rss_before = sum(rss_kib(pid) for pid in pids)
        engine_before = engine_baseline(payload_bodies[200:])

        def phase(calls: list[bytes], clients: int, path: str, method: str) -> dict:
            used = cpu_ms(pids)
            figures = asyncio.run(drive(url, calls, clients, path, method))
            figures["server_cpu_ms_per_call"] = (cpu_ms(pids) - used) / len(calls)
            return figures

        health = phase([b""] * args.serial, 1, "/healthz", "GET")
        serial = phase(payloads[200 : 200 + args.serial], 1, hook, "POST")
        health_load = phase([b""] * args.calls, args.clients, "/healthz", "GET")
        load = phase(payloads[200:], args.clients, hook, "POST")
        rss_after = sum(rss_kib(pid) for pid in pids)
        engine_after = engine_baseline(payload_bodies[200:])
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    engine_p50 = (engine_before["p50_ms"] + engine_after["p50_ms"]) / 2
    engine_cpu = (engine_before["cpu_ms_per_call"] + engine_after["cpu_ms_per_call"]) / 2
    figures = {
        "workers": args.workers,
        "warm_up_errors": warm["errors"],
        "healthz_one_client": health,
        "patient_view_one_client": serial,
        "healthz_under_load": health_load,
        "patient_view_under_load": load,
        "engine_assess_in_process": {
            "before": engine_before,
            "after": engine_after,
            "p50_ms": engine_p50,
            "cpu_ms_per_call": engine_cpu,
        },
        "server_rss_kib": {"after_warm_up": rss_before, "after_run": rss_after, "growth": rss_after - rss_before},
        "ratios": {
            "patient_view_vs_healthz_server_p50": serial["server_p50_ms"] / max(health["server_p50_ms"], 1e-9),
            "patient_view_vs_healthz_client_p50": serial["client_p50_ms"] / max(health["client_p50_ms"], 1e-9),
            "patient_view_server_p50_vs_engine_p50": serial["server_p50_ms"] / max(engine_p50, 1e-9),
            "patient_view_hook_p50_vs_engine_p50": (serial["hook_p50_ms"] or 0.0) / max(engine_p50, 1e-9),
            "throughput_patient_view_vs_healthz": load["throughput_per_s"] / health_load["throughput_per_s"],
            # Processor time, which the machine's other work does not inflate as it does wall time.
            "patient_view_server_cpu_vs_engine_cpu": serial["server_cpu_ms_per_call"] / max(engine_cpu, 1e-9),
            "patient_view_server_cpu_vs_healthz_cpu": serial["server_cpu_ms_per_call"]
            / max(health["server_cpu_ms_per_call"], 1e-9),
            # Little's law: with C calls in flight, the latency a client sees is C / throughput.
            "littles_law_client_p50_ms": args.clients / load["throughput_per_s"] * 1000,
        },
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    workers = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    print(f"patient-view on loopback, {workers}; {args.calls:,} calls from {args.clients} clients\n")
    heads = ("client p50", "client p99", "app p50", "app p99", "hook p50", "hook p99", "cpu/call")
    print(f"{'':34} " + " ".join(f"{h:>10}" for h in heads) + f" {'calls/s':>9} {'errors':>6}")
    for name, row in (
        ("GET /healthz, 1 client", health),
        ("patient-view, 1 client", serial),
        (f"GET /healthz, {args.clients} clients", health_load),
        (f"patient-view, {args.clients} clients", load),
    ):
        print(
            f"{name:34} {_ms(row['client_p50_ms'])} {_ms(row['client_p99_ms'])} {_ms(row['server_p50_ms'])} "
            f"{_ms(row['server_p99_ms'])} {_ms(row['hook_p50_ms'])} {_ms(row['hook_p99_ms'])} "
            f"{_ms(row['server_cpu_ms_per_call'])} {row['throughput_per_s']:>9.0f} {row['errors']:>6}"
        )
    print(
        f"\nengine alone (Advisor.assess, same cases): p50 {engine_before['p50_ms']:.2f} ms before the calls, "
        f"{engine_after['p50_ms']:.2f} ms after (p99 {engine_before['p99_ms']:.2f} / {engine_after['p99_ms']:.2f} ms); "
        f"processor time {engine_cpu:.2f} ms a call"
    )
    ratios = figures["ratios"]
    print(
        f"patient-view, 1 client: app p50 = {ratios['patient_view_vs_healthz_server_p50']:.1f}x /healthz's, "
        f"{ratios['patient_view_server_p50_vs_engine_p50']:.2f}x the engine alone; hook p50 = "
        f"{ratios['patient_view_hook_p50_vs_engine_p50']:.2f}x the engine alone; client p50 = "
        f"{ratios['patient_view_vs_healthz_client_p50']:.1f}x /healthz's"
    )
    print(
        f"patient-view, 1 client, processor time: server = "
        f"{ratios['patient_view_server_cpu_vs_engine_cpu']:.2f}x the engine alone, "
        f"{ratios['patient_view_server_cpu_vs_healthz_cpu']:.1f}x /healthz's"
    )
    print(
        f"under load: throughput = {ratios['throughput_patient_view_vs_healthz']:.2f}x /healthz's; "
        f"{args.clients} clients / {load['throughput_per_s']:.0f} calls/s = "
        f"{ratios['littles_law_client_p50_ms']:.0f} ms (Little's law) against a client p50 of "
        f"{load['client_p50_ms']:.0f} ms"
    )
    mem = figures["server_rss_kib"]
    print(
        f"server RSS ({workers}): {mem['after_warm_up'] / 1024:.1f} MiB after warm-up, "
        f"{mem['after_run'] / 1024:.1f} MiB after the run ({mem['growth'] / 1024:+.1f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where one ``patient-view`` call spends its processor time, in-process (no sockets).

Run from the repository with the server extra installed::

    python benchmarks/service_profile.py                 # 400 calls, shares by stage
    python benchmarks/service_profile.py --calls 200 --top 25

Builds the application (``create_app``, a temporary feedback database) and
drives it as an ASGI server would, over the CDS Hooks fixture bundles in
``tests/data/cds_hooks`` and the load benchmark's generated charts, under
cProfile. It prints each stage's share of the processor time of a call (by
cProfile's cumulative time of the function that owns the stage, so nested
stages are counted once, in the innermost one), the calls per hook call of
the functions that dominate, and the engine alone (``Advisor.assess``) as a
ratio in the same run. Processor time, not wall time: it is meaningful on a
shared machine. Nothing fails: the figures are for people to judge.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_load import DATA, SERVICE, bodies

#: The stages of a call: (name, module path fragment, function name). Shares are exclusive:
#: a stage's time excludes the stages listed before it that run inside it.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("engine: Advisor.assess", "inference/advisor.py", "assess"),
    ("FHIR validation (fhir.resources)", "service/fhir_mapping.py", "parse_resource"),
    ("cards (and the report they reuse)", "io/cds_hooks.py", "assessment_cards"),
    ("feedback store (SQLite)", "service/feedback.py", "record_cards"),
    ("case: chart mapping + interview", "service/cds.py", "build_case"),
    ("response JSON encoding", "service/app.py", "_encode"),
    ("request JSON parsing", "service/app.py", "_read_json"),
    ("request checks", "service/cds.py", "check_request"),
    ("hook route (rest of it)", "service/app.py", "call_service"),
)


def fixture_bodies() -> list[dict[str, Any]]:
    """The patient-view fixture bundles that carry a prefetched Patient."""
    out = []
    for path in sorted(DATA.glob("patient-view-*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body.get("prefetch"), dict) and body["prefetch"].get("patient"):
            out.append(body)
    return out


async def _call(app: Any, path: str, payload: bytes) -> tuple[int, bytes]:
    """One POST through the ASGI interface."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _cumulative(stats: pstats.Stats, fragment: str, name: str) -> float:
    total = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.replace("\\", "/").endswith(fragment):
            total += row[3]
    return total


def _stage_shares(stats: pstats.Stats, total: float) -> list[tuple[str, float]]:
    """Exclusive time per stage: each stage's cumulative time minus the earlier stages inside it."""
    nesting = {
        "cards (and the report they reuse)": (),
        "case: chart mapping + interview": (),
        "hook route (rest of it)": (
            "engine: Advisor.assess",
            "FHIR validation (fhir.resources)",
            "cards (and the report they reuse)",
            "feedback store (SQLite)",
            "case: chart mapping + interview",
            "response JSON encoding",
            "request JSON parsing",
            "request checks",
        ),
    }
    cumulative = {name: _cumulative(stats, fragment, func) for name, fragment, func in STAGES}
    out = []
    for name, _, _ in STAGES:
        own = cumulative[name] - sum(cumulative[inner] for inner in nesting.get(name, ()))
        out.append((name, own))
    out.append(("framework (Starlette, FastAPI) and the rest", total - cumulative["hook route (rest of it)"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="patient-view calls profiled (default 400)")
    parser.add_argument("--top", type=int, default=15, help="functions listed by own time (default 15)")
    parser.add_argument(
        "--red-flag-yes-rate",
        type=float,
        default=None,
        metavar="P",
        help="how often a generated interview answers a warning sign yes (default 0.5, as service_load.py: "
        "nearly every call an emergency; 0.05 gives mostly urgent calls, whose report has open questions)",
    )
    args = parser.parse_args()

    from spasm_advisor import Advisor
    from spasm_advisor.service.app import create_app
    from spasm_advisor.service.config import ServiceConfig

    folder = Path(tempfile.mkdtemp(prefix="spasm-profile-"))
    day = datetime.date(2026, 12, 1)
    app = create_app(ServiceConfig(feedback_db=str(folder / "feedback.sqlite3"), today=lambda: day))
    fixtures = fixture_bodies()
    generated = bodies(max(0, args.calls - len(fixtures)), args.red_flag_yes_rate)
    payloads = [json.dumps(b).encode() for b in (fixtures + generated)[: args.calls]]
    path = f"/cds-services/{SERVICE}"

    async def run(batch: list[bytes]) -> list[int]:
        return [(await _call(app, path, p))[0] for p in batch]

    asyncio.run(run(payloads[:50]))  # warm-up: imports, model classes, caches
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    started = time.process_time()
    statuses = asyncio.run(run(payloads))
    elapsed = time.process_time() - started
    profiler.disable()
    errors = sum(1 for s in statuses if s != 200)

    # The engine alone on the same facts, timed by processor time in the same run (no profiler).
    advisor = Advisor.default()
    state = app.state.spasm
    cases = []
    mix: Counter[str] = Counter()
    for payload in payloads:
        status, body = asyncio.run(_call(app, path, payload))
        if status == 200:
            about = json.loads(body)["extension"]["spasm-advisor"]
            cases.append(about["facts"])
            mix[about["triage"]] += 1
    for case in cases[:50]:
        advisor.assess(case)
    started = time.process_time()
    for case in cases:
        advisor.assess(case)
    engine = (time.process_time() - started) / max(1, len(cases))
    started = time.process_time()
    asyncio.run(run(payloads))
    unprofiled = (time.process_time() - started) / len(payloads)
    state.feedback.close()

    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"{len(payloads)} patient-view calls in-process ({len(fixtures)} fixtures), {errors} errors")
    print("triage: " + ", ".join(f"{level} {count}" for level, count in mix.most_common()))
    print(f"processor time per call: {unprofiled * 1000:.2f} ms unprofiled, {elapsed / len(payloads) * 1000:.2f} ms")
    print(f"under cProfile; engine alone (Advisor.assess, same facts): {engine * 1000:.2f} ms")
    print(f"call / engine alone = {unprofiled / engine:.2f}x\n")
    print(f"{'stage':48} {'share':>6} {'ms/call (profiled)':>19}")
    for name, own in _stage_shares(stats, total):
        print(f"{name:48} {own / total:>6.1%} {own / len(payloads) * 1000:>19.3f}")
    print("\nfunctions by own time (calls per hook call):")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[: args.top]  # type: ignore[attr-defined]
    for (filename, line, function), (_, calls, own, _cum, _) in rows:
        where = "/".join(Path(filename).parts[-2:])
        print(f"  {own / total:>6.1%}  {calls / len(payloads):>8.1f}  {function} ({where}:{line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

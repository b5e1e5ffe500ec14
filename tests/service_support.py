"""Helpers for the service tests: the real ``spasm-advisor serve`` on a free loopback port.

Startup is awaited by polling
``/healthz`` a bounded number of times; the process is stopped at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from cli_runner import script

DATA = Path(__file__).parent / "data" / "cds_hooks"
TODAY = "2026-12-01"
PATIENT_VIEW = "spasm-advisor-patient-view"
ORDER_SELECT = "spasm-advisor-order-select"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    feedback_db: Path
    process: subprocess.Popen[bytes]

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


@contextlib.contextmanager
def running_server(folder: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    port = free_port()
    db = folder / "feedback.sqlite3"
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [script(), "serve", "--port", str(port), "--feedback-db", str(db), *args],
        env={**os.environ, "SPASM_ADVISOR_TODAY": TODAY, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded: at most 600 polls
            if process.poll() is not None:
                log.flush()
                raise AssertionError(f"server exited: {(folder / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("server did not answer /healthz")
        yield Server(url, db, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class FhirStub:
    """A tiny FHIR server on loopback that answers reads and searches from ``fhir-server.json``."""

    def __init__(self) -> None:
        self.data = load("fhir-server.json")
        self.requests: list[tuple[str, str | None]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != "Bearer opaque-token-123":
                    self.send_response(401)
                    self.end_headers()
                    return
                path = self.path.removeprefix("/fhir/")
                key = path if "?" not in path else path.split("?", 1)[0]
                body = stub.data.get(key)
                if body is None and "?" in path:
                    body = {"resourceType": "Bundle", "type": "searchset", "entry": []}
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FhirStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

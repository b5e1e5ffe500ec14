"""What every response gets: the JWT check of CDS clients, timing, security headers and the worker.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which runs
each request in a task group of its own and streams the response through
memory channels: a third of a hook call's framework time). It adds:

* ``Server-Timing: app;dur=<ms>``, the time in the application, before any
  metric the route gave (``hook;dur=<ms>``: the hook's own work, after its
  body was read), for clients and load tests to read;
* ``X-Content-Type-Options: nosniff``, and the Content Security Policy on
  HTML pages that set none of their own;
* :data:`WORKER_HEADER`: the process id of the worker that answered, so
  that with ``--workers N`` one can see which process served a call.
"""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spasm_advisor.service.problems import ApiError

__all__ = ["WORKER_HEADER", "ServiceHeaders", "server_timing"]

#: The response header naming the process id of the worker that answered.
WORKER_HEADER = "X-Spasm-Advisor-Worker"


def server_timing(header: str) -> dict[str, float]:
    """The durations (ms) of a ``Server-Timing`` header by metric name: ``app;dur=1.2, hook;dur=0.9``."""
    out: dict[str, float] = {}
    for metric in header.split(","):
        name, _, params = metric.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur" and name:
                try:
                    out[name] = float(value)
                except ValueError:
                    continue
    return out


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class ServiceHeaders:
    """The middleware (see the module documentation); ``jwt`` checks ``/cds-services`` calls when set."""

    def __init__(self, app: ASGIApp, *, jwt: Any | None, csp: str) -> None:
        """Wrap ``app``; ``csp`` is the policy for HTML pages."""
        self.app = app
        self.jwt = jwt
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.jwt is not None and scope["path"].startswith("/cds-services"):
            try:
                self.jwt.check(_header(scope, b"authorization"), scope["path"])
            except ApiError as exc:
                refused = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
                await refused(scope, receive, self._sender(send, time.perf_counter()))
                return
        await self.app(scope, receive, self._sender(send, time.perf_counter()))

    def _sender(self, send: Send, started: float) -> Send:
        csp = self.csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                timing = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
                given = headers.get("server-timing")
                headers["Server-Timing"] = f"{timing}, {given}" if given else timing
                headers["X-Content-Type-Options"] = "nosniff"
                headers[WORKER_HEADER] = str(os.getpid())
                if headers.get("content-type", "").startswith("text/html") and "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = csp
            await send(message)

        return send_with_headers

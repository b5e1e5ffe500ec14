"""Running the application with uvicorn: in this process, or in N worker processes sharing one socket.

With one worker uvicorn opens the listening socket through asyncio, which
turns Nagle's algorithm off on every connection (``TCP_NODELAY``). With
several, uvicorn binds the socket itself and asyncio leaves Nagle on; a
response then goes out as two small writes (the head, then the body) and the
second waits for the client's delayed acknowledgement, about 40 ms on a
kept-alive connection. So the shared socket is bound here with
``TCP_NODELAY``, which the connections accepted on it inherit.
"""

from __future__ import annotations

import inspect
import socket
from typing import Any

__all__ = ["APP_PATH", "serve"]

#: The application, for worker processes to import (configured by ``SPASM_ADVISOR_*`` variables).
APP_PATH = "spasm_advisor.service.asgi:app"


def serve(app: Any, *, host: str, port: int, workers: int, log_level: str = "warning") -> None:
    """Serve ``app`` in this process, or :data:`APP_PATH` in ``workers`` processes, until stopped."""
    import uvicorn

    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(APP_PATH, host=host, port=port, workers=workers, log_level=log_level)
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # uvicorn before 0.36 also wants the function each worker runs.
    needs_target = "target" in inspect.signature(Multiprocess).parameters
    extra = {"target": uvicorn.Server(config=config).run} if needs_target else {}
    try:
        Multiprocess(config, sockets=[sock], **extra).run()
    finally:
        sock.close()

"""Several workers share one socket bound with Nagle's algorithm off, which accepted connections inherit."""

from __future__ import annotations

import socket

from spasm_advisor.service.serving import APP_PATH, serve


def test_the_shared_socket_of_several_workers_has_nagle_off(monkeypatch):
    seen = {}

    class Supervisor:
        """Stands in for uvicorn's: looks at the socket and a connection accepted on it, starts nothing."""

        def __init__(self, config, sockets):
            seen["app"], seen["workers"] = config.app, config.workers
            (sock,) = sockets
            sock.listen()
            with socket.create_connection(sock.getsockname()[:2]):
                accepted, _ = sock.accept()
                with accepted:
                    seen["accepted"] = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            seen["listening"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

        def run(self):
            seen["ran"] = True

    monkeypatch.setattr("uvicorn.supervisors.Multiprocess", Supervisor)
    serve(None, host="127.0.0.1", port=0, workers=3)
    assert seen["app"] == APP_PATH
    assert seen["workers"] == 3
    assert seen["listening"]
    assert seen["accepted"]  # the connections accepted on it inherit TCP_NODELAY
    assert seen["ran"]

"""``spasm-advisor serve --workers 2``: two processes answer, and both write to the one feedback store."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from service_support import PATIENT_VIEW, load, running_server

from spasm_advisor.service.middleware import WORKER_HEADER

#: Calls sent at once, so that while one worker is busy the other accepts the next connection.
IN_FLIGHT = 8
#: Rounds of calls at most before giving up on seeing both workers (bounded by count, not by time).
MAX_ROUNDS = 300


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state, past "(command)"


def _post(url: str, path: str, body: dict) -> httpx.Response:
    """One call on a connection of its own (so that either worker may accept it)."""
    with httpx.Client(base_url=url, timeout=30, headers={"Connection": "close"}) as client:
        return client.post(path, json=body)


def _hook_call() -> dict:
    body = load("patient-view-chart.json")
    body["hookInstance"] = str(uuid.uuid4())
    return body


def test_two_workers_serve_and_share_the_feedback_store(tmp_path):
    with running_server(tmp_path, "--workers", "2") as server, ThreadPoolExecutor(IN_FLIGHT) as pool:
        path = f"/cds-services/{PATIENT_VIEW}"
        card_by_worker: dict[str, str] = {}
        for _ in range(MAX_ROUNDS):
            calls = [pool.submit(_post, server.url, path, _hook_call()) for _ in range(IN_FLIGHT)]
            for call in calls:
                response = call.result()
                assert response.status_code == 200, response.text
                card_by_worker.setdefault(response.headers[WORKER_HEADER], response.json()["cards"][0]["uuid"])
            if len(card_by_worker) == 2:
                break
        assert len(card_by_worker) == 2, f"only worker {set(card_by_worker)} answered"
        workers = {int(pid) for pid in card_by_worker}
        assert server.process.pid not in workers
        assert {_parent(pid) for pid in workers} == {server.process.pid}  # both are children of the serve process

        # Feedback on a card one worker issued, received by the other: it knows the card, so they share the store.
        received_by: dict[str, str] = {}
        for issuer, card in card_by_worker.items():
            feedback = {
                "feedback": [
                    {
                        "card": card,
                        "outcome": "overridden",
                        "outcomeTimestamp": "2026-12-01T10:00:00Z",
                        "overrideReason": {"reason": {"code": "already-addressed"}, "userComment": f"from {issuer}"},
                    }
                ]
            }
            for _ in range(MAX_ROUNDS):
                calls = [pool.submit(_post, server.url, f"{path}/feedback", feedback) for _ in range(IN_FLIGHT)]
                for call in calls:
                    response = call.result()
                    assert response.status_code == 200, response.text
                    assert response.json() == {"stored": 1, "unknownCards": []}
                    if response.headers[WORKER_HEADER] != issuer:
                        received_by[issuer] = response.headers[WORKER_HEADER]
                if issuer in received_by:
                    break
        assert len(received_by) == 2
        assert all(receiver != issuer for issuer, receiver in received_by.items())
    with sqlite3.connect(server.feedback_db) as db:
        for card in card_by_worker.values():
            issued = db.execute("SELECT COUNT(*) FROM cards WHERE uuid = ?", (card,)).fetchone()[0]
            known = db.execute("SELECT MIN(known_card) FROM feedback WHERE card = ?", (card,)).fetchone()[0]
            assert (issued, known) == (1, 1)

"""The feedback store shared by several processes: a write that another process overtakes waits, never fails."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

from spasm_advisor.service.feedback import FeedbackEntry, FeedbackStore

#: How long the other writer holds the lock when the store never reaches its insert (it is waiting to begin).
HOLD_S = 1.0


@dataclass(frozen=True)
class _Card:
    uuid: str
    kind: str = "withheld"
    item: str | None = "nsaid_pain_relief"
    rules: tuple[str, ...] = ("nsaid_withhold_anticoagulants",)


def test_feedback_written_while_another_process_writes_is_stored(tmp_path):
    db = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(db)
    store.record_cards("svc", "hook-1", [_Card("card-1")], "sha256:kb")
    other = sqlite3.connect(db, isolation_level=None)  # another worker's connection
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO cards VALUES ('card-2', 'svc', 'hook-2', 'withheld', NULL, '[]', 'sha256:kb', 'now')")

    at_insert, committed = threading.Event(), threading.Event()

    def trace(statement: str) -> None:
        # Hold the store just before its insert, after it has read the card, until the other writer commits.
        if statement.lstrip().upper().startswith("INSERT INTO FEEDBACK"):
            at_insert.set()
            committed.wait()

    store._db.set_trace_callback(trace)
    outcome: list[object] = []
    entry = FeedbackEntry(card="card-1", outcome="overridden", outcome_timestamp="2026-12-01T10:00:00Z")
    writer = threading.Thread(target=lambda: outcome.append(_record(store, entry)))
    writer.start()
    at_insert.wait(HOLD_S)  # reached only if the store read before taking the write lock
    other.execute("COMMIT")
    committed.set()
    writer.join()
    store._db.set_trace_callback(None)
    assert outcome == [[True]]
    assert store.counts() == {"cards": 2, "feedback": 1, "unknown_cards": 0}
    other.close()
    store.close()


def _record(store: FeedbackStore, entry: FeedbackEntry) -> object:
    try:
        return store.record_feedback("svc", [entry])
    except Exception as exc:  # the outcome is asserted in the test's own thread
        return exc

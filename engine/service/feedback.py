"""CDS Hooks feedback, stored append-only in SQLite, and the report per rule.

Two tables: ``cards`` (every card the service issued: its uuid, the service,
the kind of card, the item, the rule ids behind it and the knowledge-base
digest) and ``feedback`` (every feedback entry received, with the card's
rules and digest copied in when the card is known). Triggers make both
tables append-only: an UPDATE or DELETE aborts. Only the standard library's
``sqlite3`` is used, so ``spasm-advisor feedback report`` works without the
server extra.

Several worker processes (``serve --workers N``) share one database file:
it is in WAL mode, and each write takes the write lock when its transaction
begins (``BEGIN IMMEDIATE``), so a writer waits for another (up to the busy
timeout) instead of failing when a read inside its transaction is overtaken
by another process's write.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spasm_advisor.errors import FeedbackError

__all__ = ["FeedbackEntry", "FeedbackError", "FeedbackStore", "RuleFeedback", "render_report"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    uuid TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    hook_instance TEXT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT,
    rules TEXT NOT NULL,
    kb_digest TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card TEXT NOT NULL,
    service TEXT NOT NULL,
    outcome TEXT NOT NULL,
    accepted_suggestions TEXT NOT NULL,
    override_system TEXT,
    override_code TEXT,
    override_display TEXT,
    user_comment TEXT,
    outcome_timestamp TEXT NOT NULL,
    received_at TEXT NOT NULL,
    known_card INTEGER NOT NULL,
    rules TEXT NOT NULL,
    kb_digest TEXT
);
CREATE TRIGGER IF NOT EXISTS cards_append_only_update BEFORE UPDATE ON cards
    BEGIN SELECT RAISE(ABORT, 'cards are append-only'); END;
CREATE TRIGGER IF NOT EXISTS cards_append_only_delete BEFORE DELETE ON cards
    BEGIN SELECT RAISE(ABORT, 'cards are append-only'); END;
CREATE TRIGGER IF NOT EXISTS feedback_append_only_update BEFORE UPDATE ON feedback
    BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
CREATE TRIGGER IF NOT EXISTS feedback_append_only_delete BEFORE DELETE ON feedback
    BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
"""


#: How long a write waits for another process's write to finish, in seconds (SQLite's busy timeout).
_BUSY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One feedback entry as received (CDS Hooks 2.0 "Feedback")."""

    card: str
    outcome: str  # accepted | overridden
    outcome_timestamp: str
    accepted_suggestions: tuple[str, ...] = ()
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    user_comment: str | None = None


@dataclass(frozen=True, slots=True)
class RuleFeedback:
    """What clinicians did with the cards one rule stood behind."""

    rule: str
    cards: int
    accepted: int
    overridden: int
    reasons: tuple[tuple[str, int], ...]

    @property
    def answered(self) -> int:
        """Feedback entries received."""
        return self.accepted + self.overridden

    def rate(self, count: int) -> float | None:
        """``count`` as a share of the feedback received, or None without feedback."""
        return count / self.answered if self.answered else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rule": self.rule,
            "cards": self.cards,
            "feedback": self.answered,
            "accepted": self.accepted,
            "overridden": self.overridden,
            "acceptance_rate": self.rate(self.accepted),
            "override_rate": self.rate(self.overridden),
            "override_reasons": [{"reason": r, "count": n} for r, n in self.reasons],
        }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FeedbackStore:
    """The SQLite file of issued cards and feedback. Safe to share between threads."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        """Open (and with ``create``, create) the database at ``path``.

        Raises:
            FeedbackError: the file cannot be opened or is not such a database.
        """
        self.path = str(path)
        if not create and not Path(path).is_file():
            raise FeedbackError(f"{self.path}: no such feedback database")
        try:
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=_BUSY_TIMEOUT_S
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._db.executescript(_SCHEMA)
            else:
                tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if not {"cards", "feedback"} <= tables:
                    raise FeedbackError(f"{self.path}: not a Spasm Advisor feedback database")
        except sqlite3.Error as exc:
            raise FeedbackError(f"{self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def record_cards(self, service: str, hook_instance: str, cards: Iterable[Any], kb_digest: str) -> None:
        """Remember issued cards (objects with ``uuid``, ``kind``, ``item`` and ``rules``)."""
        now = _now()
        rows = [
            (c.uuid, service, hook_instance, c.kind, c.item, json.dumps(list(c.rules)), kb_digest, now) for c in cards
        ]
        if not rows:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise FeedbackError(f"{self.path}: cannot record cards: {exc}") from exc

    def record_feedback(self, service: str, entries: Sequence[FeedbackEntry]) -> list[bool]:
        """Store feedback entries; returns, for each, whether its card was issued by this service."""
        now = _now()
        known: list[bool] = []
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for entry in entries:
                    row = self._db.execute(
                        "SELECT rules, kb_digest FROM cards WHERE uuid = ? AND service = ?", (entry.card, service)
                    ).fetchone()
                    known.append(row is not None)
                    self._db.execute(
                        "INSERT INTO feedback (card, service, outcome, accepted_suggestions, override_system, "
                        "override_code, override_display, user_comment, outcome_timestamp, received_at, known_card, "
                        "rules, kb_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            entry.card,
                            service,
                            entry.outcome,
                            json.dumps(list(entry.accepted_suggestions)),
                            entry.override_system,
                            entry.override_code,
                            entry.override_display,
                            entry.user_comment,
                            entry.outcome_timestamp,
                            now,
                            int(row is not None),
                            row[0] if row else "[]",
                            row[1] if row else None,
                        ),
                    )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise FeedbackError(f"{self.path}: cannot record feedback: {exc}") from exc
        return known

    def counts(self) -> dict[str, int]:
        """How many cards and feedback entries are stored, and how many entries name an unknown card."""
        with self._lock:
            cards = self._db.execute("SELECT COUNT(*) FROM cards").fetchone()[0]
            feedback, unknown = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(known_card = 0), 0) FROM feedback"
            ).fetchone()
        return {"cards": int(cards), "feedback": int(feedback), "unknown_cards": int(unknown)}

    def report(self) -> list[RuleFeedback]:
        """Acceptance and override counts per rule, most overridden first."""
        issued: dict[str, int] = {}
        accepted: dict[str, int] = {}
        overridden: dict[str, int] = {}
        reasons: dict[str, dict[str, int]] = {}
        with self._lock:
            card_rows = self._db.execute("SELECT rules FROM cards").fetchall()
            feedback_rows = self._db.execute(
                "SELECT rules, outcome, override_code, override_display FROM feedback WHERE known_card = 1"
            ).fetchall()
        for (rules,) in card_rows:
            for rule in json.loads(rules):
                issued[rule] = issued.get(rule, 0) + 1
        for rules, outcome, code, display in feedback_rows:
            for rule in json.loads(rules):
                if outcome == "accepted":
                    accepted[rule] = accepted.get(rule, 0) + 1
                else:
                    overridden[rule] = overridden.get(rule, 0) + 1
                    reason = display or code or "no reason given"
                    per_rule = reasons.setdefault(rule, {})
                    per_rule[reason] = per_rule.get(reason, 0) + 1
        rows = [
            RuleFeedback(
                rule=rule,
                cards=issued.get(rule, 0),
                accepted=accepted.get(rule, 0),
                overridden=overridden.get(rule, 0),
                reasons=tuple(sorted(reasons.get(rule, {}).items(), key=lambda kv: (-kv[1], kv[0]))),
            )
            for rule in sorted(set(issued) | set(accepted) | set(overridden))
        ]
        return sorted(rows, key=lambda r: (-(r.rate(r.overridden) or 0.0), -r.answered, r.rule))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_report(rows: Sequence[RuleFeedback], counts: dict[str, int]) -> str:
    """The report as text: one line per rule, then the override reasons."""
    lines = [
        f"{counts['cards']:,} cards issued, {counts['feedback']:,} feedback entries"
        + (f" ({counts['unknown_cards']:,} for cards this database never issued)" if counts["unknown_cards"] else ""),
        "",
    ]
    if not rows:
        return "\n".join([*lines, "No cards yet."]) + "\n"
    width = max(len(r.rule) for r in rows)
    lines.append(f"{'rule':<{width}}  {'cards':>6}  {'feedback':>8}  {'accepted':>8}  {'overridden':>10}")
    for r in rows:
        lines.append(
            f"{r.rule:<{width}}  {r.cards:>6}  {r.answered:>8}  "
            f"{_percent(r.rate(r.accepted)):>8}  {_percent(r.rate(r.overridden)):>10}"
        )
    overridden = [r for r in rows if r.reasons]
    if overridden:
        lines += ["", "Override reasons:"]
        for r in overridden:
            said = "; ".join(f"{reason} ({count})" for reason, count in r.reasons)
            lines.append(f"  {r.rule}: {said}")
    return "\n".join(lines) + "\n"

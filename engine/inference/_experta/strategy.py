"""Conflict resolution: which activation fires next, by salience, rule rank and fact recency."""

from __future__ import annotations

import bisect
import operator
from typing import Any

from spasm_advisor.inference._experta.shim import Agenda, Strategy

__all__ = ["RankedStrategy"]


class RankedStrategy(Strategy):  # type: ignore[misc]
    """Conflict resolution by salience, then rule rank, then fact recency.

    A rule's rank is the ``spasm_rank`` attribute of its right-hand-side function.

    ``agenda.activations`` is kept sorted so that its last element is the next
    to fire (experta pops from the end). Removal searches for the activation
    itself, so a rule whose conditions stopped holding never fires.
    """

    @staticmethod
    def key(activation: Any) -> tuple[int, int, tuple[int, ...]]:
        """The ordering key: a larger key fires earlier."""
        rule = activation.rule
        facts = tuple(sorted([f["__factid__"] for f in activation.facts], reverse=True))
        # experta's network copies Rule objects but keeps the wrapped function,
        # so the rank lives on the function. Rank 0 is first: negate it so that
        # it sorts last and pops first.
        return (rule.salience, -getattr(rule._wrapped, "spasm_rank", 0), facts)

    def update_agenda(self, agenda: Agenda, added: Any, removed: Any) -> None:
        """Apply the matcher's changes (experta's version first checks its watchers)."""
        if added or removed:
            self._update_agenda(agenda, added, removed)

    def _update_agenda(self, agenda: Agenda, added: Any, removed: Any) -> None:
        activations = agenda.activations
        for act in removed:
            act.key = key = self.key(act)
            # Keys are unique (one rank per rule, one set of facts per
            # activation), so a binary search finds the one slot to check; the
            # loop still walks equal keys and compares the activation itself.
            index = bisect.bisect_left(activations, key, key=_agenda_key)
            while index < len(activations) and activations[index].key == key:
                if activations[index] == act:
                    del activations[index]
                    break
                index += 1
        for act in added:
            act.key = self.key(act)
        if len(added) > 8:
            # Many at once (a new case fact): one stable sort beats many inserts.
            activations.extend(added)
            activations.sort(key=_agenda_key)
        else:
            for act in added:
                bisect.insort_right(activations, act, key=_agenda_key)


#: Reads an activation's ordering key without a Python-level call per comparison.
_agenda_key = operator.attrgetter("key")

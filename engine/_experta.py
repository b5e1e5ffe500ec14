"""The one place experta is imported, and the fixes it needs.

experta 1.9.4 is the latest release. Three things about it need care:

* It pins ``frozendict==1.2``, which uses ``collections.Mapping`` and friends,
  removed in Python 3.10. Before importing experta we restore those aliases
  from ``collections.abc`` (upstream issue nilp0inter/experta#34).
* ``import experta`` calls ``logging.basicConfig()``, which would install a
  handler on the host application's root logger. We put the root logger back
  exactly as it was.
* Its ``DepthStrategy`` can fail to remove an activation whose conditions no
  longer hold (it bisects and probes only neighbouring slots), and it breaks
  ties by set order, which varies with ``PYTHONHASHSEED``. :class:`RankedStrategy`
  replaces it: it removes exactly the activation asked for and orders ties
  by rule rank, so firing order is a function of the knowledge base alone.
"""

from __future__ import annotations

import collections
import collections.abc
import logging
from typing import Any

__all__ = [
    "NOT",
    "CompiledEngineBase",
    "Fact",
    "KnowledgeEngine",
    "P",
    "RankedStrategy",
    "Rule",
]


def _import_experta() -> Any:
    for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Hashable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import experta
        import experta.watchers  # noqa: F401  (also calls basicConfig)
    finally:
        # Leave the host application's logging as we found it.
        root.handlers[:] = handlers
        root.setLevel(level)
    return experta


_experta = _import_experta()

from experta import NOT, Fact, KnowledgeEngine, P, Rule  # noqa: E402
from experta.abstract import Strategy  # noqa: E402
from experta.agenda import Agenda  # noqa: E402


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
        facts = tuple(sorted((f["__factid__"] for f in activation.facts), reverse=True))
        # experta's network copies Rule objects but keeps the wrapped function,
        # so the rank lives on the function. Rank 0 is first: negate it so that
        # it sorts last and pops first.
        return (rule.salience, -getattr(rule._wrapped, "spasm_rank", 0), facts)

    def _update_agenda(self, agenda: Agenda, added: Any, removed: Any) -> None:
        activations = agenda.activations
        for act in removed:
            act.key = self.key(act)
            for index in range(len(activations) - 1, -1, -1):
                if activations[index] == act:
                    del activations[index]
                    break
        if added:
            for act in added:
                act.key = self.key(act)
                activations.append(act)
            activations.sort(key=lambda a: a.key)


class CompiledEngineBase(KnowledgeEngine):  # type: ignore[misc]
    """Base of the engine classes compiled from a knowledge base.

    Subclasses set ``compiled_rules`` (a tuple of experta ``Rule`` objects).
    Rules are not class attributes, so experta's ``inspect.getmembers`` scan
    and its per-instance rebinding of rules (not thread-safe) never happen.
    """

    __strategy__ = RankedStrategy
    compiled_rules: tuple[Any, ...] = ()

    def get_rules(self) -> list[Any]:
        """Return the compiled rules (experta calls this to build its network)."""
        return list(self.compiled_rules)

    def get_deffacts(self) -> list[Any]:
        """Return the deffacts: only experta's own initial fact."""
        return [self._declare_initial_fact]

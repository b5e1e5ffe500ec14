"""The engine loop: facts, reset, declare and run, on the fast matcher or on experta's stock one.

:class:`CompiledEngineBase` is the base of every engine class compiled from a
knowledge base; :func:`with_stock_matcher` turns such a class into one that
runs on experta's own matcher, fact list and engine loop, for diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, TypeVar

from spasm_advisor.inference._experta.matcher import FastReteMatcher
from spasm_advisor.inference._experta.shim import Agenda, Fact, FactList, InitialFact, KnowledgeEngine, ReteMatcher
from spasm_advisor.inference._experta.strategy import RankedStrategy

__all__ = ["MATCHERS", "CompiledEngineBase", "MatcherName", "new_fact", "with_stock_matcher"]

#: Which matcher an engine runs on: ``fast`` (the default) or experta's ``stock`` one.
MatcherName: TypeAlias = Literal["fast", "stock"]
#: The matcher names, the default first.
MATCHERS: tuple[MatcherName, ...] = ("fast", "stock")


def new_fact(fact_class: type[Any], values: Mapping[str, Any]) -> Any:
    """A fact of ``fact_class`` holding ``values``, built without per-field overhead.

    experta's ``Fact.__setitem__`` runs every value through ``freeze`` (a
    single-dispatch call and an ABC check) and checks the fact id each time.
    Our values are validated scalars (``bool``, ``int``, ``str`` or ``None``),
    already hashable and immutable, so they go into the dict as they are.
    """
    fact = fact_class()
    dict.update(fact, values)
    return fact


class _FastFactList(FactList):  # type: ignore[misc]
    """experta's fact list, minus per-fact costs our facts do not need.

    As experta's: a fact equal to one already present (same class and fields)
    is not declared again. The identity of a fact is computed without a
    method call per field, and no log message is built.
    """

    added: list[Any]
    removed: list[Any]

    @staticmethod
    def _get_fact_id(fact: Any) -> frozenset[Any]:
        return frozenset(
            [
                fact.__class__,
                *[(k, v) for k, v in fact.items() if not (type(k) is str and k.startswith("__") and k.endswith("__"))],
            ]
        )

    def holds(self, fact_class: type[Any], values: Mapping[str, Any]) -> bool:
        """Whether a fact of ``fact_class`` with exactly these (plain) fields is present."""
        return frozenset([fact_class, *values.items()]) in self.reference_counter

    @property
    def changes(self) -> tuple[list[Any], list[Any]]:
        """The facts declared and retracted since the last call."""
        added, removed = self.added, self.removed
        if added or removed:
            self.added, self.removed = [], []
        return added, removed

    def declare(self, fact: Any) -> Any:
        """Add ``fact`` unless an equal one is present; return it, or None if it was a duplicate."""
        if not isinstance(fact, Fact):
            raise ValueError("The fact must descend the Fact class.")
        if fact.__fields__:
            fact.validate()
        fact_id = self._get_fact_id(fact)
        if not self.duplication and fact_id in self.reference_counter:
            return None
        fact.__factid__ = index = self.last_index
        self[index] = fact
        self.last_index += 1
        self.added.append(fact)
        self.reference_counter[fact_id] += 1
        return fact


class CompiledEngineBase(KnowledgeEngine):  # type: ignore[misc]
    """Base of the engine classes compiled from a knowledge base.

    Subclasses set ``compiled_rules`` (a tuple of experta ``Rule`` objects).
    Rules are not class attributes, so experta's ``inspect.getmembers`` scan
    and its per-instance rebinding of rules (not thread-safe) never happen.

    ``reset``, ``declare`` and ``run`` do what experta's do, minus work that
    only matters for hand-written engines: deffacts introspection on every
    reset, checking facts the compiler built for conditional elements, and
    formatting log messages nobody reads.
    """

    __matcher__ = FastReteMatcher
    __strategy__ = RankedStrategy
    #: The working memory's class (experta's own in the stock variant).
    fact_list_class: type[Any] = _FastFactList
    compiled_rules: tuple[Any, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.facts = self.fact_list_class()

    def get_rules(self) -> list[Any]:
        """Return the compiled rules (experta calls this to build its network)."""
        return list(self.compiled_rules)

    def get_deffacts(self) -> list[Any]:
        """Return the deffacts: only experta's own initial fact."""
        return [self._declare_initial_fact]

    def _update_agenda(self) -> None:
        added, removed = self.matcher.changes(*self.facts.changes)
        if added or removed:
            self.strategy.update_agenda(self.agenda, added, removed)

    def reset(self) -> None:
        """Empty the agenda and working memory and declare ``InitialFact()``, as experta does."""
        self.agenda = Agenda()
        self.facts = self.fact_list_class()
        self.matcher.reset()
        self.facts.declare(InitialFact())
        self._update_agenda()
        self.running = False

    def declare(self, *facts: Any) -> Any:
        """Assert facts built by the compiler (plain values, no conditional elements)."""
        last = None
        for fact in facts:
            last = self.facts.declare(fact)
        if not self.running:
            self._update_agenda()
        return last

    def declare_new(self, fact_class: type[Any], values: Mapping[str, Any]) -> Any:
        """Declare a fact of ``fact_class`` with ``values`` unless an equal one is present.

        experta ignores a duplicate anyway; checking first saves building it.
        """
        if self.facts.holds(fact_class, values):
            return None
        return self.declare(new_fact(fact_class, values))

    def run(self, steps: float = float("inf")) -> None:
        """Fire activations until the agenda is empty (or ``steps`` have fired)."""
        self.running = True
        while steps > 0 and self.running:
            self._update_agenda()
            activation = self.agenda.get_next()
            if activation is None:
                break
            steps -= 1
            # Pattern captures (``__pattern_N__``) are experta's, not the rule's arguments.
            bindings = {k: v for k, v in activation.context.items() if not k.startswith("__")}
            if bindings:
                activation.rule(self, **bindings)
            else:
                activation.rule(self)
        self.running = False


class _Stock:
    """experta's own matcher, fact list, reset, declare and run, put before a compiled engine class.

    Only the conflict resolution stays ours (:class:`RankedStrategy`): experta's
    ``DepthStrategy`` can fire a rule whose conditions stopped holding and
    orders ties by hash seed, so with it the two variants could not agree.
    """

    __matcher__ = ReteMatcher
    fact_list_class = FactList
    reset = KnowledgeEngine.reset
    declare = KnowledgeEngine.declare
    run = KnowledgeEngine.run

    def declare_new(self, fact_class: type[Any], values: Mapping[str, Any]) -> Any:
        """Declare a fact as experta does; experta itself ignores one equal to a fact present."""
        return KnowledgeEngine.declare(self, fact_class(**values))


_Engine = TypeVar("_Engine", bound=CompiledEngineBase)


def with_stock_matcher(engine_class: type[_Engine]) -> type[_Engine]:
    """``engine_class`` running on experta's stock matcher and engine loop: slower, for diagnosis.

    The rules, facts and conflict resolution are the same, so both variants fire
    the same rules in the same order (``tests/unit/inference/test_experta.py``).
    """
    stock: type[_Engine] = type(f"Stock{engine_class.__name__}", (_Stock, engine_class), {})
    return stock

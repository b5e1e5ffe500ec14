"""The one place experta is imported, and the fixes and fast paths it needs.

experta 1.9.4 is the latest release (and pinned: the fast paths below rely on
its internals). Four things about it need care:

* It pins ``frozendict==1.2``, which uses ``collections.Mapping`` and friends,
  removed in Python 3.10. Before importing experta we restore those aliases
  from ``collections.abc`` (upstream issue nilp0inter/experta#34).
* ``import experta`` sets up the root logger (basicConfig), which would install a
  handler on the host application's root logger. We put the root logger back
  exactly as it was.
* Its ``DepthStrategy`` can fail to remove an activation whose conditions no
  longer hold (it bisects and probes only neighbouring slots), and it breaks
  ties by set order, which varies with ``PYTHONHASHSEED``. :class:`RankedStrategy`
  replaces it: it removes exactly the activation asked for and orders ties
  by rule rank, so firing order is a function of the knowledge base alone.
* Its matcher is slow in ways that have nothing to do with the Rete algorithm:
  after every change it polls every conflict-set node, every node copies every
  token it receives, an alpha node's children are tested one by one even when
  they all compare the same field with different constants, and log messages
  are formatted whether or not anyone listens. :class:`FastReteMatcher` keeps
  experta's network (built by experta, node for node) and specialises its
  nodes after the build; :class:`CompiledEngineBase` trims the engine's reset,
  declare and run loops. Rules, facts, the network, activations, the agenda and
  conflict resolution all stay experta's: the same rules fire in the same
  order. ``tests/unit/test_fast_matcher.py`` runs the compiled rules on
  experta's stock matcher and engine loop and requires the same firing order
  and findings; the differential property suite (``tests/properties``)
  compares results with a plain interpreter of the rules.
"""

from __future__ import annotations

import bisect
import collections
import collections.abc
import logging
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "NOT",
    "CompiledEngineBase",
    "Fact",
    "FastReteMatcher",
    "KnowledgeEngine",
    "P",
    "RankedStrategy",
    "Rule",
    "new_fact",
]


def _import_experta() -> Any:
    for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Hashable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import experta
        import experta.watchers
    finally:
        # Leave the host application's logging as we found it.
        root.handlers[:] = handlers
        root.setLevel(level)
    return experta


_experta = _import_experta()

from experta import NOT, Fact, KnowledgeEngine, P, Rule  # noqa: E402
from experta.abstract import Strategy  # noqa: E402
from experta.activation import Activation  # noqa: E402
from experta.agenda import Agenda  # noqa: E402
from experta.fact import InitialFact  # noqa: E402
from experta.factlist import FactList  # noqa: E402
from experta.fieldconstraint import L  # noqa: E402
from experta.matchers import ReteMatcher  # noqa: E402
from experta.matchers.rete.check import FactCapture, FeatureCheck, TypeCheck  # noqa: E402
from experta.matchers.rete.mixins import ChildNode  # noqa: E402
from experta.matchers.rete.nodes import (  # noqa: E402
    BusNode,
    ConflictSetNode,
    FeatureTesterNode,
    NotNode,
    OrdinaryMatchNode,
    WhereNode,
)
from experta.matchers.rete.token import Token  # noqa: E402

# ---------------------------------------------------------------------------
# Facts and rules
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Conflict resolution
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The matcher: experta's Rete network with specialised nodes
# ---------------------------------------------------------------------------

#: ``_tuple_new(Token, (tag, data, context))`` builds a token as the
#: namedtuple's own ``_make`` does, without ``Token.__new__``'s checks of
#: every fact on every copy (and without a Python-level call).
_tuple_new = tuple.__new__
_VALID, _INVALID = Token.TagType.VALID, Token.TagType.INVALID
_INDEXABLE = (bool, int, str, type(None))


def _plain_field(what: object) -> bool:
    """A field name that FeatureCheck reads as ``fact[what]`` (no nesting, not special)."""
    return isinstance(what, str) and "__" not in what and not what.isnumeric()


class _Fanout:
    """Sends an alpha token on to a node's children.

    experta calls every child in turn. Here the children that test the type of
    the fact, or one field against a constant, are indexed by that type or
    constant, so a fact reaches only the children it passes: one dictionary
    look-up instead of one test per child. (The classic hashed alpha memory.)
    """

    children: list[Any]
    _direct: tuple[Callable[[Any], Any], ...]
    _tested: tuple[_FastTester, ...]
    _by_type: dict[type, tuple[_FastTester, ...]]
    _by_field: tuple[tuple[str, dict[Any, tuple[_FastTester, ...]]], ...]

    def _plan(self) -> None:
        direct: list[Callable[[Any], Any]] = []
        tested: list[_FastTester] = []
        by_type: dict[type, list[_FastTester]] = {}
        by_field: dict[str, dict[Any, list[_FastTester]]] = {}
        for child in self.children:
            node = child.node
            if not isinstance(node, _FastTester):
                direct.append(child.callback)
            elif node._kind == "type":
                by_type.setdefault(node.matcher.fact_type, []).append(node)
            elif node._kind == "literal":
                by_field.setdefault(node._field, {}).setdefault(node._value, []).append(node)
            else:
                tested.append(node)
        self._direct = tuple(direct)
        self._tested = tuple(tested)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}
        self._by_field = tuple(
            (name, {value: tuple(nodes) for value, nodes in table.items()}) for name, table in by_field.items()
        )

    def _emit(self, token: Any, fact: Any) -> None:
        for callback in self._direct:
            callback(token)
        for tester in self._tested:
            tester._test(token, fact)
        if self._by_type:
            for tester in self._by_type.get(type(fact), ()):
                tester._passed(token, fact)
        for name, table in self._by_field:
            try:
                value = fact[name]
            except KeyError:
                continue
            # Dictionary look-up is ``==`` for the scalars indexed (True == 1 included).
            for tester in table.get(value, ()):
                tester._passed(token, fact)


class _FastBus(_Fanout, BusNode):  # type: ignore[misc]
    """The root: a new token per fact, dispatched on the fact's type."""

    def add(self, fact: Any) -> None:
        self._emit(_tuple_new(Token, (_VALID, {fact}, {})), fact)

    def remove(self, fact: Any) -> None:
        self._emit(_tuple_new(Token, (_INVALID, {fact}, {})), fact)


class _FastTester(_Fanout, FeatureTesterNode):  # type: ignore[misc]
    """An alpha node: tests one fact without copying the token it tests.

    experta copies each token on arrival because a node may add to its context.
    Only a capturing node does so here, and it builds a new token instead;
    every other node passes the token it got, unchanged.
    """

    _kind: str
    _field: str
    _value: Any
    _predicate: Callable[[Any], Any]
    _bind: Any

    def _classify(self) -> None:
        check = self.matcher
        self._kind = "generic"
        if isinstance(check, TypeCheck):
            self._kind = "type"
        elif isinstance(check, FactCapture):
            self._kind, self._bind = "capture", check.bind
        elif isinstance(check, FeatureCheck) and _plain_field(check.what) and check.how.__bind__ is None:
            if isinstance(check.how, L) and isinstance(check.how.value, _INDEXABLE):
                self._kind, self._field, self._value = "literal", check.what, check.how.value
            elif isinstance(check.how, P):
                self._kind, self._field, self._predicate = "predicate", check.what, check.how.match

    def activate(self, token: Any) -> None:
        """Entry point when a parent calls this node as experta does."""
        (fact,) = token.data  # an alpha token carries exactly one fact
        self._test(token, fact)

    def _test(self, token: Any, fact: Any) -> None:
        kind = self._kind
        if kind == "predicate":
            try:
                value = fact[self._field]
            except KeyError:
                return
            if self._predicate(value):
                self._emit(token, fact)
        elif kind == "literal":
            try:
                value = fact[self._field]
            except KeyError:
                return
            if self._value == value:
                self._emit(token, fact)
        elif kind == "type":
            if type(fact) == self.matcher.fact_type:  # noqa: E721  (exactly TypeCheck's test)
                self._emit(token, fact)
        elif kind == "capture":
            self._passed(token, fact)
        else:
            # A check we do not specialise: experta's own code, on a copy.
            FeatureTesterNode._activate(self, token.copy())

    def _passed(self, token: Any, fact: Any) -> None:
        """The node's test passed (a parent's index may have done it)."""
        if self._kind != "capture":
            self._emit(token, fact)
            return
        bind, context = self._bind, token.context
        # The fact is bound to this pattern's name unless the name is bound to
        # something else already, or was negated with this very fact.
        if bind in context and context[bind] != fact:
            return
        if (False, bind) in context and context[(False, bind)] == fact:
            return
        self._emit(_tuple_new(Token, (token.tag, token.data, {**context, bind: fact})), fact)


def _forget(memory: list[Any], token: Any) -> Any:
    """Remove and return the entry of ``memory`` stored for a token equal to ``token`` (None if absent).

    Entries end with the token they were stored for. Comparing sets and dicts
    reuses their stored hashes, so this costs less than freezing every token
    on arrival the way experta does, for removals are much rarer than arrivals.
    """
    data, context = token.data, token.context
    for index, entry in enumerate(memory):
        stored = entry[-1]
        if stored.data == data and stored.context == context:
            del memory[index]
            return entry
    return None


class _Remembering:
    """A node with memory: it enrols in the matcher's list of nodes to wipe when it first stores a token."""

    _live: bool = False
    _touched: list[Any]


class _FastJoin(_Remembering, OrdinaryMatchNode):  # type: ignore[misc]
    """A join of two inputs, as experta's, without copying, freezing or re-validating tokens.

    Each memory holds the tokens that arrived on its side. Tokens are never
    changed once built in this network, so they are stored as they are.
    """

    def activate_left(self, token: Any) -> None:
        self._join(token, self.left_memory, self.right_memory, True)

    def activate_right(self, token: Any) -> None:
        self._join(token, self.right_memory, self.left_memory, False)

    def _join(self, token: Any, memory: list[Any], others: list[Any], is_left: bool) -> None:
        if token.tag is _VALID:
            if not self._live:
                self._live = True
                self._touched.append(self)
            memory.append((token,))
        else:
            _forget(memory, token)
        context, data, match = token.context, token.data, self.matcher
        for (other,) in others:
            other_context = other.context
            if not (match(context, other_context) if is_left else match(other_context, context)):
                continue
            # As experta: the token's own names, then the other side's (negations dropped).
            joined = {k: v for k, v in context.items() if isinstance(k, str)}
            for k, v in other_context.items():
                if not isinstance(k, tuple):
                    joined[k] = v
            new = _tuple_new(Token, (token.tag, data | other.data, joined))
            for child in self.children:
                child.callback(new)


class _FastNot(_Remembering, NotNode):  # type: ignore[misc]
    """A negation, as experta's, without copying, freezing or re-validating tokens.

    A left token passes while no right token matches it. Each left entry is
    ``[count of matching right tokens, token]``; a right token arriving or
    leaving sends the left token on (invalid or valid) when the count leaves
    or reaches zero.
    """

    def _reset(self) -> None:
        self.left_memory: list[list[Any]] = []
        self.right_memory: list[tuple[Any]] = []

    def activate_left(self, token: Any) -> None:
        context, match = token.context, self.matcher
        if token.tag is _VALID:
            if not self._live:
                self._live = True
                self._touched.append(self)
            count = 0
            for (right,) in self.right_memory:
                if match(context, right.context):
                    count += 1
            self.left_memory.append([count, token])
            passes = count == 0
        else:
            passes = not any(match(context, right.context) for (right,) in self.right_memory)
            _forget(self.left_memory, token)
        if passes:
            for child in self.children:
                child.callback(token)

    def activate_right(self, token: Any) -> None:
        context = token.context
        if token.tag is _VALID:
            if not self._live:
                self._live = True
                self._touched.append(self)
            self.right_memory.append((token,))
            step = 1
        else:
            _forget(self.right_memory, token)
            step = -1
        match = self.matcher
        for entry in self.left_memory:
            left = entry[1]
            if not match(left.context, context):
                continue
            entry[0] += step
            if entry[0] == (1 if step == 1 else 0):
                # The first match blocks the left token; the last one leaving frees it.
                tag = _INVALID if step == 1 else _VALID
                new = _tuple_new(Token, (tag, left.data, left.context))
                for child in self.children:
                    child.callback(new)


class _FastWhere(WhereNode):  # type: ignore[misc]
    """A TEST node: experta's, without copying tokens (it never changes them)."""

    def activate(self, token: Any) -> None:
        self._activate(token)


class _FastConflictSet(_Remembering, ConflictSetNode):  # type: ignore[misc]
    """A rule's terminal node: turns tokens into activations and tells the matcher it has news.

    As experta's: a valid token not seen before adds an activation (or cancels
    its pending removal), an invalid one removes it (or cancels its pending
    addition). Pending changes are keyed by the frozen token rather than by
    the activation, whose hash experta recomputes from the whole rule.
    """

    _changed: list[Any]
    _dirty: bool = False
    _added: dict[Any, Any]
    _removed: dict[Any, Any]

    def activate(self, token: Any) -> None:
        context = token.context
        data = frozenset(token.data)
        seen = (data, frozenset(context.items()))
        memory = self.memory
        if token.tag is _VALID:
            if seen in memory:
                return
            if not self._live:
                self._live = True
                self._touched.append(self)
            memory.add(seen)
            if self._removed.pop(seen, None) is None:
                self._added[seen] = self._activation(data, context)
        else:
            if seen not in memory:
                return
            memory.remove(seen)
            if self._added.pop(seen, None) is None:
                self._removed[seen] = self._activation(data, context)
        if not self._dirty:
            self._dirty = True
            self._changed.append(self)

    def _activation(self, data: frozenset[Any], context: dict[Any, Any]) -> Any:
        return Activation(self.rule, data, {k: v for k, v in context.items() if isinstance(k, str)})

    def get_activations(self) -> tuple[list[Any], list[Any]]:
        """The activations added and removed since the last call."""
        added, removed = list(self._added.values()), list(self._removed.values())
        self._added.clear()
        self._removed.clear()
        self._dirty = False
        return added, removed


_SPECIALISED: dict[type, type] = {
    BusNode: _FastBus,
    FeatureTesterNode: _FastTester,
    OrdinaryMatchNode: _FastJoin,
    NotNode: _FastNot,
    WhereNode: _FastWhere,
    ConflictSetNode: _FastConflictSet,
}


class FastReteMatcher(ReteMatcher):  # type: ignore[misc]
    """experta's Rete matcher, with its nodes specialised once the network is built.

    experta builds the network (alpha part, beta part, node sharing) exactly as
    usual. Each node is then given a subclass of its own experta class that
    overrides only how tokens reach it (see the classes above), and every
    parent's callbacks are re-bound to the subclass's methods. After a change
    only the conflict-set nodes that received a token are asked for
    activations, and a reset wipes only the nodes that stored a token.
    """

    def build_network(self) -> None:
        """Build experta's network, then specialise its nodes."""
        super().build_network()
        nodes = self._nodes()
        self._changed: list[_FastConflictSet] = []
        for node in nodes:
            fast = _SPECIALISED.get(type(node))
            if fast is not None:
                node.__class__ = fast
            if isinstance(node, _FastTester):
                node._classify()
            elif isinstance(node, _FastConflictSet):
                node._changed, node._added, node._removed = self._changed, {}, {}
        for node in nodes:
            # A parent holds bound methods of the original class: re-bind them.
            node.children[:] = [ChildNode(c.node, getattr(c.node, c.callback.__name__)) for c in node.children]
        for node in nodes:
            if isinstance(node, _Fanout):
                node._plan()
        # Nodes with memory record themselves here when they first store a
        # token, so that a reset wipes only those.
        self._touched: list[Any] = []
        for node in nodes:
            if isinstance(node, OrdinaryMatchNode | NotNode | ConflictSetNode):
                node._touched, node._live = self._touched, False
                node._reset()  # memories in the specialised nodes' own form

    def _nodes(self) -> list[Any]:
        """Every node once, parents before children, in a fixed order."""
        seen: dict[int, Any] = {}
        stack = [self.root_node]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node
            stack.extend(reversed([c.node for c in node.children]))
        return list(seen.values())

    def changes(
        self, adding: Iterable[Any] | None = None, deleting: Iterable[Any] | None = None
    ) -> tuple[list[Any], list[Any]]:
        """Propagate retracted, then declared facts; return (added, removed) activations."""
        root = self.root_node
        if deleting:
            for fact in deleting:
                root.remove(fact)
        if adding:
            for fact in adding:
                root.add(fact)
        changed = self._changed
        if not changed:
            return [], []
        added: list[Any] = []
        removed: list[Any] = []
        for node in changed:
            node_added, node_removed = node.get_activations()
            added.extend(node_added)
            removed.extend(node_removed)
        changed.clear()
        return added, removed

    def reset(self) -> None:
        """Wipe the memory of every node that stored a token since the last reset."""
        for node in self._touched:
            node._live = False
            node._reset()
        self._touched.clear()
        for node in self._changed:
            node.get_activations()
        self._changed.clear()


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


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
    compiled_rules: tuple[Any, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.facts = _FastFactList()

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
        self.facts = _FastFactList()
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

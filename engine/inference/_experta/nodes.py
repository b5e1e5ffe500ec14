"""The Rete nodes of experta's network, specialised for speed: same tests, same tokens, less work.

Each class here subclasses one experta node class and overrides only how
tokens reach it: no copy of every token on arrival, no freezing of every
token for its memory, alpha children indexed by the constant they test.
:class:`~spasm_advisor.inference._experta.matcher.FastReteMatcher` swaps
them in once experta has built its network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spasm_advisor.inference._experta.shim import (
    Activation,
    BusNode,
    ConflictSetNode,
    FactCapture,
    FeatureCheck,
    FeatureTesterNode,
    L,
    NotNode,
    OrdinaryMatchNode,
    P,
    Token,
    TypeCheck,
    WhereNode,
)

__all__ = ["SPECIALISED", "Fanout", "FastConflictSet", "FastTester"]


#: ``_tuple_new(Token, (tag, data, context))`` builds a token as the
#: namedtuple's own ``_make`` does, without ``Token.__new__``'s checks of
#: every fact on every copy (and without a Python-level call).
_tuple_new = tuple.__new__
_VALID, _INVALID = Token.TagType.VALID, Token.TagType.INVALID
_INDEXABLE = (bool, int, str, type(None))


def _plain_field(what: object) -> bool:
    """A field name that FeatureCheck reads as ``fact[what]`` (no nesting, not special)."""
    return isinstance(what, str) and "__" not in what and not what.isnumeric()


class Fanout:
    """Sends an alpha token on to a node's children.

    experta calls every child in turn. Here the children that test the type of
    the fact, or one field against a constant, are indexed by that type or
    constant, so a fact reaches only the children it passes: one dictionary
    look-up instead of one test per child. (The classic hashed alpha memory.)
    """

    children: list[Any]
    _direct: tuple[Callable[[Any], Any], ...]
    _tested: tuple[FastTester, ...]
    _by_type: dict[type, tuple[FastTester, ...]]
    _by_field: tuple[tuple[str, dict[Any, tuple[FastTester, ...]]], ...]

    def _plan(self) -> None:
        direct: list[Callable[[Any], Any]] = []
        tested: list[FastTester] = []
        by_type: dict[type, list[FastTester]] = {}
        by_field: dict[str, dict[Any, list[FastTester]]] = {}
        for child in self.children:
            node = child.node
            if not isinstance(node, FastTester):
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


class _FastBus(Fanout, BusNode):  # type: ignore[misc]
    """The root: a new token per fact, dispatched on the fact's type."""

    def add(self, fact: Any) -> None:
        self._emit(_tuple_new(Token, (_VALID, {fact}, {})), fact)

    def remove(self, fact: Any) -> None:
        self._emit(_tuple_new(Token, (_INVALID, {fact}, {})), fact)


class FastTester(Fanout, FeatureTesterNode):  # type: ignore[misc]
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


class FastConflictSet(_Remembering, ConflictSetNode):  # type: ignore[misc]
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


SPECIALISED: dict[type, type] = {
    BusNode: _FastBus,
    FeatureTesterNode: FastTester,
    OrdinaryMatchNode: _FastJoin,
    NotNode: _FastNot,
    WhereNode: _FastWhere,
    ConflictSetNode: FastConflictSet,
}

"""experta's Rete matcher with its nodes specialised once the network is built."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from spasm_advisor.inference._experta.nodes import SPECIALISED, Fanout, FastConflictSet, FastTester
from spasm_advisor.inference._experta.shim import ChildNode, ConflictSetNode, NotNode, OrdinaryMatchNode, ReteMatcher

__all__ = ["FastReteMatcher"]


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
        self._changed: list[FastConflictSet] = []
        for node in nodes:
            fast = SPECIALISED.get(type(node))
            if fast is not None:
                node.__class__ = fast
            if isinstance(node, FastTester):
                node._classify()
            elif isinstance(node, FastConflictSet):
                node._changed, node._added, node._removed = self._changed, {}, {}
        for node in nodes:
            # A parent holds bound methods of the original class: re-bind them.
            node.children[:] = [ChildNode(c.node, getattr(c.node, c.callback.__name__)) for c in node.children]
        for node in nodes:
            if isinstance(node, Fanout):
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

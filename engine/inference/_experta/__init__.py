"""experta, the forward-chaining engine, as this package uses it: the only way in to experta.

experta 1.9.4 is the latest release, and pinned: the fast paths rely on its
internals. The modules, one concern each:

* :mod:`.shim` imports experta: it checks the version, lends experta the
  ``collections`` aliases it needs for the import only, and keeps the root
  logger as it was.
* :mod:`.strategy` is the conflict resolution. experta's ``DepthStrategy``
  can fail to remove an activation whose conditions no longer hold, and it
  breaks ties by set order, which varies with ``PYTHONHASHSEED``.
  :class:`RankedStrategy` removes exactly the activation asked for and orders
  ties by rule rank, so firing order is a function of the knowledge base alone.
* :mod:`.nodes` and :mod:`.matcher` are the fast matcher. experta's is slow in
  ways that have nothing to do with the Rete algorithm: after every change it
  polls every conflict-set node, every node copies every token it receives,
  an alpha node's children are tested one by one even when they all compare
  the same field with different constants, and log messages are formatted
  whether or not anyone listens. :class:`FastReteMatcher` keeps experta's
  network (built by experta, node for node) and specialises its nodes after
  the build.
* :mod:`.engine` is the engine loop: :class:`CompiledEngineBase` trims
  experta's reset, declare and run; :func:`with_stock_matcher` gives the same
  engine on experta's own matcher and loop (``Advisor(kb, matcher="stock")``),
  to tell a matcher problem from a rule problem.

Rules, facts, the network, activations, the agenda and conflict resolution
all stay experta's: the same rules fire in the same order on either matcher.
``tests/unit/inference/test_experta.py`` requires the same firing order and
findings from both; the differential property suite (``tests/properties``)
compares results with a plain interpreter of the rules.
"""

from spasm_advisor.inference._experta.engine import (
    MATCHERS,
    CompiledEngineBase,
    MatcherName,
    new_fact,
    with_stock_matcher,
)
from spasm_advisor.inference._experta.matcher import FastReteMatcher
from spasm_advisor.inference._experta.shim import EXPERTA_VERSION, NOT, Fact, KnowledgeEngine, P, Rule
from spasm_advisor.inference._experta.strategy import RankedStrategy

__all__ = [
    "EXPERTA_VERSION",
    "MATCHERS",
    "NOT",
    "CompiledEngineBase",
    "Fact",
    "FastReteMatcher",
    "KnowledgeEngine",
    "MatcherName",
    "P",
    "RankedStrategy",
    "Rule",
    "new_fact",
    "with_stock_matcher",
]

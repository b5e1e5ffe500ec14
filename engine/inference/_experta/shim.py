"""The one module that imports experta: the version check and the fixes the import needs.

* The fast matcher specialises experta's internals, so only the pinned
  release will do: any other version (or none) stops the import with a
  :class:`~spasm_advisor.errors.DependencyError` that says what to install.
  The version is experta's own ``__version__``, read before any of its
  internals are imported (reading the installed metadata instead would cost
  every start-up the import of ``importlib.metadata``).
* experta pins ``frozendict==1.2``, which subclasses ``collections.Mapping``,
  removed in Python 3.10 (upstream issue nilp0inter/experta#34). The
  aliases from ``collections.abc`` exist only while experta is imported;
  the ones this module added are removed again afterwards.
* ``import experta`` configures the root logger (its basicConfig call), which would give the
  host application's root logger a handler. The root logger is put back
  exactly as it was.

The rest of the package takes experta's names from here.
"""

from __future__ import annotations

import collections
import collections.abc
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from spasm_advisor.errors import DependencyError

__all__ = [
    "EXPERTA_VERSION",
    "NOT",
    "Activation",
    "Agenda",
    "BusNode",
    "ChildNode",
    "ConflictSetNode",
    "Fact",
    "FactCapture",
    "FactList",
    "FeatureCheck",
    "FeatureTesterNode",
    "InitialFact",
    "KnowledgeEngine",
    "L",
    "NotNode",
    "OrdinaryMatchNode",
    "P",
    "ReteMatcher",
    "Rule",
    "Strategy",
    "Token",
    "TypeCheck",
    "WhereNode",
    "check_experta_version",
]

#: The experta release this package is built on (pyproject.toml pins the same).
EXPERTA_VERSION = "1.9.4"

#: What frozendict 1.2 reads from ``collections`` when experta imports it.
_ALIASES = ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Hashable")


def check_experta_version(installed: str | None) -> None:
    """Refuse any experta but :data:`EXPERTA_VERSION` (``installed`` is None when it is missing).

    Raises:
        DependencyError: naming the version found and the one to install.
    """
    if installed == EXPERTA_VERSION:
        return
    found = "is not installed" if installed is None else f"is at version {installed}"
    raise DependencyError(
        f"spasm_advisor needs experta {EXPERTA_VERSION} exactly (its matcher builds on experta's internals), "
        f"but experta {found}: pip install 'experta=={EXPERTA_VERSION}'"
    )


@contextmanager
def _importing_experta() -> Iterator[None]:
    """The ``collections`` aliases experta needs and a root logger it cannot change, for the import only."""
    added = [name for name in _ALIASES if not hasattr(collections, name)]
    for name in added:
        setattr(collections, name, getattr(collections.abc, name))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for name in added:
            delattr(collections, name)
        # Leave the host application's logging as we found it.
        root.handlers[:] = handlers
        root.setLevel(level)


with _importing_experta():
    try:
        import experta
    except ModuleNotFoundError as exc:
        if exc.name != "experta":
            raise
        check_experta_version(None)
    check_experta_version(getattr(experta, "__version__", "unknown"))
    import experta.watchers  # its logging set-up runs inside this block
    from experta import NOT, Fact, KnowledgeEngine, P, Rule
    from experta.abstract import Strategy
    from experta.activation import Activation
    from experta.agenda import Agenda
    from experta.fact import InitialFact
    from experta.factlist import FactList
    from experta.fieldconstraint import L
    from experta.matchers import ReteMatcher
    from experta.matchers.rete.check import FactCapture, FeatureCheck, TypeCheck
    from experta.matchers.rete.mixins import ChildNode
    from experta.matchers.rete.nodes import (
        BusNode,
        ConflictSetNode,
        FeatureTesterNode,
        NotNode,
        OrdinaryMatchNode,
        WhereNode,
    )
    from experta.matchers.rete.token import Token

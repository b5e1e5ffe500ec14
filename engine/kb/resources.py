"""Where the bundled knowledge base lives: ``spasm_advisor.rules`` and ``spasm_advisor.knowledge``.

In a wheel the YAML ships inside the package; it is read only through
``importlib.resources``, so it works from a zip or an editable install alike.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

from spasm_advisor.errors import KnowledgeBaseError

__all__ = ["bundled_knowledge_dir", "bundled_rules_dir"]


def _package_dir(name: str) -> Traversable:
    try:
        return resources.files(name)
    except ModuleNotFoundError as exc:
        raise KnowledgeBaseError(
            f"the bundled knowledge base ({name}) is not installed: install the project with "
            "'pip install .' or 'pip install -e .', and run tests with 'pytest', not from a source "
            "folder that shadows the installed package"
        ) from exc


def bundled_rules_dir() -> Traversable:
    """The bundled ``rules/`` folder."""
    return _package_dir("spasm_advisor.rules")


def bundled_knowledge_dir() -> Traversable:
    """The bundled ``knowledge/`` folder."""
    return _package_dir("spasm_advisor.knowledge")

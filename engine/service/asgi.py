"""``app``: the application configured from ``SPASM_ADVISOR_*`` environment variables.

For ASGI servers other than the built-in command, e.g.
``uvicorn spasm_advisor.service.asgi:app`` or
``hypercorn spasm_advisor.service.asgi:app``. The application (knowledge base,
FHIR mapping, feedback database) is built when ``app`` is first looked up,
not when the module is imported; :func:`spasm_advisor.service.app.create_app`
builds one with explicit settings instead.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app"]  # noqa: F822 (provided by __getattr__)

_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if "app" not in _built:
        from spasm_advisor.service.app import create_app
        from spasm_advisor.service.config import ServiceConfig

        _built["app"] = create_app(ServiceConfig.from_env())
    return _built["app"]

"""``app``: the application configured from ``SPASM_ADVISOR_*`` environment variables.

For ASGI servers other than the built-in command, e.g.
``uvicorn spasm_advisor.service.asgi:app`` or
``hypercorn spasm_advisor.service.asgi:app``. Importing this module loads the
knowledge base; :func:`spasm_advisor.service.app.create_app` builds one with
explicit settings instead.
"""

from __future__ import annotations

from spasm_advisor.service.app import create_app
from spasm_advisor.service.config import ServiceConfig

__all__ = ["app"]

app = create_app(ServiceConfig.from_env())

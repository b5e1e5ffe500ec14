"""Settings of the service, from arguments or ``SPASM_ADVISOR_*`` environment variables."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_FEEDBACK_DB", "DEFAULT_MAX_BODY", "ServiceConfig"]

#: Where feedback is stored unless told otherwise (relative to the working folder).
DEFAULT_FEEDBACK_DB = "spasm-advisor-feedback.sqlite3"
#: Largest request body accepted, in bytes.
DEFAULT_MAX_BODY = 1_000_000


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything the application needs to start.

    ``rules``/``knowledge`` name another knowledge base (both or neither);
    ``public_url`` is the base URL clients reach the service at (links in cards
    point there; by default the request's own base URL is used). JWT checking
    of CDS clients is on when ``jwt_jwks`` is set; then ``jwt_issuers`` and
    ``jwt_audience`` are required too.
    """

    rules: str | None = None
    knowledge: str | None = None
    feedback_db: str = DEFAULT_FEEDBACK_DB
    max_body: int = DEFAULT_MAX_BODY
    public_url: str | None = None
    jwt_jwks: str | None = None
    jwt_issuers: tuple[str, ...] = ()
    jwt_audience: str | None = None
    fhir_timeout: float = 5.0
    today: Callable[[], datetime.date] = field(default=_today, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceConfig:
        """Settings from ``SPASM_ADVISOR_RULES``, ``_KNOWLEDGE``, ``_FEEDBACK_DB``, ``_MAX_BODY``,
        ``_PUBLIC_URL``, ``_JWT_JWKS``, ``_JWT_ISSUERS`` (comma-separated) and ``_JWT_AUDIENCE``."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(f"SPASM_ADVISOR_{name}") or None

        issuers = tuple(i.strip() for i in (get("JWT_ISSUERS") or "").split(",") if i.strip())
        return cls(
            rules=get("RULES"),
            knowledge=get("KNOWLEDGE"),
            feedback_db=get("FEEDBACK_DB") or DEFAULT_FEEDBACK_DB,
            max_body=int(get("MAX_BODY") or DEFAULT_MAX_BODY),
            public_url=get("PUBLIC_URL"),
            jwt_jwks=get("JWT_JWKS"),
            jwt_issuers=issuers,
            jwt_audience=get("JWT_AUDIENCE"),
        )

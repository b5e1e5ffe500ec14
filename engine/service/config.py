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


def _number(text: str | None, default: int) -> int:
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"SPASM_ADVISOR_MAX_BODY: expected a number of bytes, got {text!r:.40}")
    return int(text)


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything the application needs to start.

    ``rules``/``knowledge`` name another knowledge base (both or neither);
    ``public_url`` is the base URL clients reach the service at (links in cards
    point there; by default the request's own base URL is used). JWT checking
    of CDS clients is on when ``jwt_jwks`` is set; then ``jwt_issuers`` and
    ``jwt_audience`` are required too. ``cors_origins`` lists the browser
    origins (a CDS Hooks sandbox) allowed to call the service; none by default.
    """

    rules: str | None = None
    knowledge: str | None = None
    feedback_db: str = DEFAULT_FEEDBACK_DB
    max_body: int = DEFAULT_MAX_BODY
    public_url: str | None = None
    jwt_jwks: str | None = None
    jwt_issuers: tuple[str, ...] = ()
    jwt_audience: str | None = None
    cors_origins: tuple[str, ...] = ()
    fhir_timeout: float = 5.0
    today: Callable[[], datetime.date] = field(default=_today, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceConfig:
        """Settings from ``SPASM_ADVISOR_*`` environment variables.

        ``RULES``, ``KNOWLEDGE``, ``FEEDBACK_DB``, ``MAX_BODY``,
        ``_PUBLIC_URL``, ``_CORS_ORIGINS``, ``_JWT_JWKS``, ``_JWT_ISSUERS`` (both comma-separated),
        ``_JWT_AUDIENCE`` and ``_TODAY`` (a fixed date for ages and durations, for replaying a case).

        Raises:
            ValueError: a value that does not parse.
        """
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(f"SPASM_ADVISOR_{name}") or None

        def listed(name: str) -> tuple[str, ...]:
            return tuple(i.strip() for i in (get(name) or "").split(",") if i.strip())

        fixed = get("TODAY")
        try:
            day = datetime.date.fromisoformat(fixed) if fixed else None
        except ValueError:
            raise ValueError(f"SPASM_ADVISOR_TODAY: expected a date YYYY-MM-DD, got {fixed!r:.40}") from None
        return cls(
            today=(lambda: day) if day else _today,
            rules=get("RULES"),
            knowledge=get("KNOWLEDGE"),
            feedback_db=get("FEEDBACK_DB") or DEFAULT_FEEDBACK_DB,
            max_body=_number(get("MAX_BODY"), DEFAULT_MAX_BODY),
            public_url=get("PUBLIC_URL"),
            jwt_jwks=get("JWT_JWKS"),
            cors_origins=listed("CORS_ORIGINS"),
            jwt_issuers=listed("JWT_ISSUERS"),
            jwt_audience=get("JWT_AUDIENCE"),
        )

    def to_env(self) -> dict[str, str]:
        """The ``SPASM_ADVISOR_*`` variables that :meth:`from_env` reads back into these settings."""
        values = {
            "RULES": self.rules,
            "KNOWLEDGE": self.knowledge,
            "FEEDBACK_DB": self.feedback_db,
            "MAX_BODY": str(self.max_body),
            "PUBLIC_URL": self.public_url,
            "CORS_ORIGINS": ",".join(self.cors_origins),
            "JWT_JWKS": self.jwt_jwks,
            "JWT_ISSUERS": ",".join(self.jwt_issuers),
            "JWT_AUDIENCE": self.jwt_audience,
            "TODAY": self.today().isoformat() if self.today is not _today else None,
        }
        return {f"SPASM_ADVISOR_{k}": v for k, v in values.items() if v}

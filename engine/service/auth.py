"""Optional checking of the CDS client's JWT (CDS Hooks 2.0, "Trusting CDS Clients").

Off unless a JWKS file is configured. When on, every request to
``/cds-services`` and below must carry ``Authorization: Bearer <JWT>``,
signed with an asymmetric algorithm by a key of the JWKS (found by the
header's ``kid``), from an allowed issuer, with ``aud`` equal to the
configured public base URL plus the path called, and with ``exp``, ``iat``
and ``jti``; a ``jti`` is accepted once until its token expires (replay
protection). ``none`` and the HMAC algorithms are refused, as the
specification requires.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import jwt

from spasm_advisor.service.problems import ApiError, problem

__all__ = ["ALGORITHMS", "JwtChecker"]

#: Signature algorithms accepted (asymmetric only).
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")


def _unauthorized(message: str, expected: str) -> ApiError:
    return problem(401, "Unauthorized", "Authorization", message, expected, **{"WWW-Authenticate": "Bearer"})


class JwtChecker:
    """Checks bearer tokens against a JWKS file, an issuer allowlist and the audience base URL."""

    def __init__(self, jwks_path: str, issuers: tuple[str, ...], audience_base: str) -> None:
        """Read the JWKS file.

        Raises:
            ValueError: the file cannot be read or holds no usable key, or
                issuers or audience are missing.
        """
        if not issuers or not audience_base:
            raise ValueError("JWT checking needs the allowed issuers and the audience (public base URL)")
        try:
            self._keys = jwt.PyJWKSet.from_json(Path(jwks_path).read_text(encoding="utf-8"))
        except (OSError, jwt.PyJWTError, ValueError) as exc:
            raise ValueError(f"{jwks_path}: not a readable JWK Set: {exc}") from exc
        self._issuers = set(issuers)
        self._audience_base = audience_base.rstrip("/")
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, authorization: str | None, path: str) -> dict[str, object]:
        """The verified claims of the request's token.

        Raises:
            ApiError: 401, naming what is wrong with the token.
        """
        if not authorization:
            raise _unauthorized("no Authorization header", "Authorization: Bearer <JWT>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("not a bearer token", "Authorization: Bearer <JWT>")
        try:
            header = jwt.get_unverified_header(token.strip())
        except jwt.PyJWTError:
            raise _unauthorized("malformed JWT", "a signed JSON Web Token") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise _unauthorized(f"algorithm {alg!s:.20} is not accepted", "one of " + ", ".join(ALGORITHMS))
        if header.get("typ") not in (None, "JWT"):
            raise _unauthorized("typ is not JWT", "typ JWT")
        try:
            key = self._keys[str(kid)]
        except KeyError:
            raise _unauthorized("kid names no key of the configured JWK Set", "a kid from the JWK Set") from None
        audience = self._audience_base + path
        try:
            claims = jwt.decode(
                token.strip(),
                key=key,
                algorithms=[alg],
                audience=audience,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired", "an unexpired token") from None
        except jwt.InvalidAudienceError:
            raise _unauthorized("wrong audience", audience) from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(f"missing claim {exc.claim}", "iss, aud, exp, iat and jti") from None
        except jwt.PyJWTError:
            raise _unauthorized("signature or claims invalid", "a token signed by a key of the JWK Set") from None
        if claims.get("iss") not in self._issuers:
            raise _unauthorized("issuer not allowed", "an allowed issuer")
        now = time.time()
        with self._lock:
            self._seen = {j: exp for j, exp in self._seen.items() if exp > now}
            jti = str(claims["jti"])
            if jti in self._seen:
                raise _unauthorized("token already used (jti replay)", "a fresh jti for every request")
            self._seen[jti] = float(claims["exp"])
        return claims

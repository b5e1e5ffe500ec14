"""Errors the service answers with: a status and a JSON body naming the field and what was expected.

Every error response has the same shape::

    {"status": 422, "title": "Invalid case",
     "errors": [{"field": "age", "message": "age: 121 is above the maximum 120",
                 "expected": "an integer from 0 to 120"}]}

Nothing else (no stack trace, no exception text from a library) reaches the client.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "problem"]


class ApiError(Exception):
    """An HTTP error with the body described in the module documentation."""

    def __init__(
        self, status: int, title: str, errors: list[dict[str, str]], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"status": self.status, "title": self.title, "errors": self.errors}


def problem(status: int, title: str, field: str, message: str, expected: str, **headers: str) -> ApiError:
    """An :class:`ApiError` with one error."""
    return ApiError(status, title, [{"field": field, "message": message, "expected": expected}], headers or None)

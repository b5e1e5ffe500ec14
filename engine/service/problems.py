"""Errors the service answers with: a status and a JSON body naming the field and what was expected.

Every error response has the same shape::

    {"status": 422, "title": "Invalid case",
     "errors": [{"field": "age", "message": "age: 121 is above the maximum 120",
                 "expected": "an integer from 0 to 120"}]}

Nothing else (no stack trace, no exception text from a library) reaches the client.
"""

from __future__ import annotations

from spasm_advisor.errors import ApiError

__all__ = ["ApiError", "problem"]


def problem(status: int, title: str, field: str, message: str, expected: str, **headers: str) -> ApiError:
    """An :class:`ApiError` with one error."""
    return ApiError(status, title, [{"field": field, "message": message, "expected": expected}], headers or None)

"""Errors of the web edge: each a :class:`grader.errors.GraderError` with its HTTP status.

The app's one error handler turns any of them into ``{"errors": [message], ...}`` (or
the HTML error page for the page's routes); ``extra`` adds fields to that JSON object
and ``headers`` adds response headers (``Retry-After``, ``WWW-Authenticate``).
"""

from __future__ import annotations

import math
from typing import Any

from grader.errors import GraderError


class WebError(GraderError):
    """Base of the errors the service answers with; ``http_status`` says which."""

    http_status = 400

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class BadRequest(WebError):
    """The request is malformed: a body that is not JSON, a missing field, a bad value."""


class Unauthenticated(WebError):
    """No token, or a token that is not on the roster."""

    http_status = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="streamgrade"'})


class Forbidden(WebError):
    """A valid token without the role the route needs (a student on an instructor route)."""

    http_status = 403


class NotFound(WebError):
    """No such resource *for this caller*: another student's submission is not found either."""

    http_status = 404


class Conflict(WebError):
    """The request conflicts with the stored state (a student id already on the roster)."""

    http_status = 409


class PayloadTooLarge(WebError):
    http_status = 413


class UnsupportedMediaType(WebError):
    http_status = 415


class IdempotencyKeyReused(WebError):
    """The same ``Idempotency-Key`` was sent with a different submission."""

    http_status = 422


class RateLimited(WebError):
    """Too many submissions; ``retry_after`` seconds until the next one is accepted."""

    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(message, extra={"retry_after": seconds}, headers={"Retry-After": str(seconds)})


class StoreUnavailable(WebError):
    """The submissions store cannot be reached; nothing was graded or stored."""

    http_status = 503

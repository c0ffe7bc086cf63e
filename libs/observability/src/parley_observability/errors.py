"""The API's refusals as HTTP errors ``{"detail": {"code": str, "message": str}}`` (docs/http-api.md).

A service's domain errors subclass :class:`ApiError` and declare, next to their machine ``code``,
the HTTP ``status_code`` they mean (and any ``headers``, e.g. ``Retry-After``, RFC 9110 §10.2.3).
Keeping the status on the domain error is a deliberate choice: a route stays one hop to the
domain, and reading an error tells what a client sees, with no separate status map to keep in step.
"""

from collections.abc import Mapping
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    """A refusal with a machine ``code``, an HTTP ``status_code`` and a human ``message``.

    Subclasses set the class attributes ``code`` and ``status_code`` (and ``headers`` if the
    response needs any); raise them with a message: ``raise NotHost("only the host may end it")``.
    """

    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = 500
    headers: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        {"detail": {"code": exc.code, "message": exc.message}},
        status_code=exc.status_code,
        headers=dict(exc.headers) if exc.headers else None,
    )


def install_api_error_handler(app: FastAPI) -> None:
    """Answer every :class:`ApiError` raised in ``app`` with its status, headers and
    ``{"detail": {"code", "message"}}``. A handler installed for a subclass takes precedence."""
    app.add_exception_handler(ApiError, _api_error)

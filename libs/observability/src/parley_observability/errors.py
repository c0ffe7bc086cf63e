"""The API's refusals as HTTP errors ``{"detail": {"code": str, "message": str}}`` (docs/http-api.md).

A service's domain errors subclass :class:`ApiError` and declare, next to their machine ``code``,
the HTTP ``status_code`` they mean (and any ``headers``, e.g. ``Retry-After``, RFC 9110 §10.2.3).
Keeping the status on the domain error is a deliberate choice: a route stays one hop to the
domain, and reading an error tells what a client sees, with no separate status map to keep in step.

The same shape covers FastAPI's and Starlette's own refusals (an undecodable body, an unknown
path, a method not allowed): :func:`install_api_error_handler` answers them as
``{"detail": {"code", "message"}}`` too. Invalid input (body, path, query) stays FastAPI's 422
with its ``detail`` list of ``{"type", "loc", "msg"}``, without the input itself.
:func:`error_responses` and :func:`invalid_input_response` declare these answers in a route's
OpenAPI operation, so the document states every status a route can answer.
"""

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path


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


class ErrorBody(BaseModel):
    """What went wrong: a stable machine ``code`` and words for a person."""

    code: str = Field(description="Machine code, e.g. `meeting_not_found`; stable across versions.")
    message: str = Field(description="What went wrong, in words; may change.")


class ErrorResponse(BaseModel):
    """Every refusal other than invalid input: ``{"detail": {"code", "message"}}``."""

    detail: ErrorBody


class ValidationErrorEntry(BaseModel):
    """One failed rule: where (``loc``), why in words (``msg``), which rule (``type``)."""

    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorResponse(BaseModel):
    """The 422 answer to invalid input: ``{"detail": [{type, loc, msg}]}`` (the input itself is
    not written back)."""

    detail: list[ValidationErrorEntry]


def invalid_input_response(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entry of a route's 422 that says more than FastAPI's default:
    ``description`` (which ``type`` means what) with the :class:`ValidationErrorResponse` schema."""
    return {422: {"model": ValidationErrorResponse, "description": description}}


#: Machine codes of FastAPI's and Starlette's own refusals, by status.
GENERIC_CODES = {
    400: "invalid_body",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}

#: Headers a status carries, as OpenAPI response header objects.
_STATUS_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer` (RFC 6750 §3)", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds until the limit's window ends", "schema": {"type": "integer", "minimum": 1}}},
    503: {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}},
}

#: The usual words for statuses every service answers alike.
BEARER_401 = "`unauthorized`: the bearer token is missing, malformed, expired or not signed by auth"
BODY_400 = "`invalid_body`: the request body could not be decoded (not UTF-8)"


def api_description(summary: str, *, own_port_routes: str = "`/healthz`, `/readyz` and `/asyncapi.json|yaml`") -> str:
    """An HTTP service's OpenAPI ``description``: its ``summary``, then the conventions every
    Parley API shares (base URL, bearer tokens, the error model, what stays on its own port)."""
    return (
        f"{summary} "
        "Reached through the platform's base URL (Traefik), e.g. `https://parley.example/api/...`. "
        "Signed-in routes take `Authorization: Bearer <access token>` (from auth's login); without a valid one "
        "they answer 401 with `WWW-Authenticate: Bearer`. Refusals are `{\"detail\": {\"code\", \"message\"}}` "
        "(ErrorResponse; `code` is the stable machine code); invalid input is 422 with a `detail` list "
        f"(HTTPValidationError). {own_port_routes} are served on the service's own "
        "port only, never through Traefik. Full reference: docs/http-api.md."
    )


def error_responses(answers: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route: each status in ``answers`` (with its description:
    which machine codes and why) answered with :class:`ErrorResponse`, plus the headers it
    carries (``WWW-Authenticate`` on 401, ``Retry-After`` on 429 and 503)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status, description in answers.items():
        entry: dict[str, Any] = {"model": ErrorResponse, "description": description}
        if status in _STATUS_HEADERS:
            entry["headers"] = _STATUS_HEADERS[status]
        out[status] = entry
    return out


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        {"detail": {"code": exc.code, "message": exc.message}},
        status_code=exc.status_code,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's and Starlette's ``HTTPException`` in the same shape: a ``detail`` that already
    is ``{"code", "message"}`` is kept; a string becomes the message of a generic code."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if not (isinstance(detail, dict) and {"code", "message"} <= detail.keys()):
        code = GENERIC_CODES.get(exc.status_code, "error")
        phrase = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else ""
        detail = {"code": code, "message": str(detail or phrase)}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)


def _allowed_methods(request: Request) -> str:
    """The methods of the path template the request's path is routed by (RFC 9110 §10.2.1):
    the first template, in routing order, that matches the path, with the methods of every
    route declared on it (``GET`` and ``POST /api/meetings`` are two routes). Starlette's own
    ``Allow`` names only the first route's methods; and a later, more general template (``PATCH
    /api/meetings/{meeting_id}`` for ``/api/meetings/calendar-feed``) is not this resource's."""
    path = request.scope["path"]
    first: str | None = None
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        template = route.path
        if not template or not route.methods or not _path_regex(template).match(path):
            continue
        first = first or template
        if template == first:
            methods |= route.methods
    return ", ".join(sorted(methods))


@lru_cache(maxsize=512)
def _path_regex(template: str) -> re.Pattern[str]:
    return compile_path(template)[0]


class _AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped (RFC 8259 §7), so that a lone surrogate a
    client sent (``"\\ud800"``) is written back as the escape it came as, not as bytes UTF-8
    cannot hold."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    """422 with FastAPI's ``detail`` list (``[{"type", "loc", "msg"}]``), without the ``input``
    and ``ctx`` FastAPI's own handler copies from the request: an input is written back to no
    one (a password, a megabyte of text), and it may hold what JSON cannot encode (``NaN``,
    ``Infinity``)."""
    assert isinstance(exc, RequestValidationError)
    detail = [{"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in exc.errors()]
    return _AsciiJSONResponse({"detail": detail}, status_code=422)


def install_api_error_handler(app: FastAPI) -> None:
    """Answer every :class:`ApiError` raised in ``app`` with its status, headers and
    ``{"detail": {"code", "message"}}``, every ``HTTPException`` in the same shape, and invalid
    input as 422 without echoing it (:func:`_invalid_input`).
    A handler installed for a subclass takes precedence."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)

"""Domain refusals as HTTP errors ``{"detail": {"code", "message"}}`` (parley_observability's
handler); a bad cursor is a 422 with the validation ``detail`` list (``type``, ``loc``, ``msg``), like any
other invalid input."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from parley_observability import install_api_error_handler

from parley_chat.domain.errors import InvalidCursor


async def _invalid_cursor(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidCursor)
    detail = [
        {
            "type": exc.code,
            "loc": ["query", "before"],
            "msg": exc.message,
        }
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every :class:`ChatError` with its status code and machine code, and a bad cursor
    as a validation error."""
    install_api_error_handler(app)
    app.add_exception_handler(InvalidCursor, _invalid_cursor)

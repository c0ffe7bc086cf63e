"""Domain refusals as HTTP errors ``{"detail": {"code", "message"}}``; a bad cursor is a 422
with FastAPI's validation ``detail`` list, like any other invalid input."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from parley_chat.domain.errors import (
    ChatError,
    InvalidCursor,
    MeetingNotFound,
    MeetingsUnavailable,
    MessageIdConflict,
    NotAParticipant,
)

STATUS = {MeetingNotFound: 404, NotAParticipant: 403, MessageIdConflict: 409, MeetingsUnavailable: 503}


async def _chat_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChatError)
    if isinstance(exc, InvalidCursor):
        detail = [
            {
                "type": exc.code,
                "loc": ["query", "before"],
                "msg": exc.message,
                "input": request.query_params.get("before"),
            }
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    headers = {"Retry-After": "1"} if isinstance(exc, MeetingsUnavailable) else None
    return JSONResponse(
        {"detail": {"code": exc.code, "message": exc.message}},
        status_code=STATUS.get(type(exc), 400),
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every :class:`ChatError` with its status code and machine code."""
    app.add_exception_handler(ChatError, _chat_error)

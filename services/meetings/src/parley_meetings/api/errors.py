"""Domain refusals as HTTP errors ``{"detail": {"code", "message"}}``."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from parley_meetings.domain.errors import (
    MeetingHasEnded,
    MeetingNotFound,
    MeetingsError,
    NotAParticipant,
    NotHost,
)

STATUS = {MeetingNotFound: 404, MeetingHasEnded: 410, NotHost: 403, NotAParticipant: 403}


async def _meetings_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MeetingsError)
    return JSONResponse(
        {"detail": {"code": exc.code, "message": exc.message}},
        status_code=STATUS.get(type(exc), 400),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every :class:`MeetingsError` with its status code and machine code."""
    app.add_exception_handler(MeetingsError, _meetings_error)

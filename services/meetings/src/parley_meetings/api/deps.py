"""FastAPI dependencies of the meetings routes."""

from typing import Annotated

from fastapi import Depends, Request

from parley_meetings.config import Settings
from parley_meetings.domain.service import Meetings


def _meetings(request: Request) -> Meetings:
    return request.app.state.meetings


def _settings(request: Request) -> Settings:
    return request.app.state.settings


MeetingsService = Annotated[Meetings, Depends(_meetings)]
AppSettings = Annotated[Settings, Depends(_settings)]

"""FastAPI dependencies of the meetings routes.

``async`` although they await nothing: FastAPI runs a plain ``def`` dependency in its thread
pool, a hop per request that costs more than reading ``app.state``.

FastAPI resolves each dependency on every request (~10–20 µs here), a ``Request`` parameter
not: the hottest route (``GET /api/meetings/{id}``, every page load of a meeting) takes the
request and reads its services with :func:`meetings_of` and :func:`settings_of` instead.
"""

from typing import Annotated

from fastapi import Depends, Request

from parley_meetings.config import Settings
from parley_meetings.domain.feeds import CalendarFeeds
from parley_meetings.domain.idempotency import Idempotency
from parley_meetings.domain.service import Meetings


async def _meetings(request: Request) -> Meetings:
    return request.app.state.meetings


async def _calendar_feeds(request: Request) -> CalendarFeeds:
    return request.app.state.calendar_feeds


async def _idempotency(request: Request) -> Idempotency:
    return request.app.state.idempotency


async def _settings(request: Request) -> Settings:
    return request.app.state.settings


def meetings_of(request: Request) -> Meetings:
    """The app's :class:`Meetings`, as :data:`MeetingsService` gives it."""
    return request.app.state.meetings


def settings_of(request: Request) -> Settings:
    """The app's :class:`Settings`, as :data:`AppSettings` gives them."""
    return request.app.state.settings


MeetingsService = Annotated[Meetings, Depends(_meetings)]
AppSettings = Annotated[Settings, Depends(_settings)]
IdempotencyService = Annotated[Idempotency, Depends(_idempotency)]
CalendarFeedsService = Annotated[CalendarFeeds, Depends(_calendar_feeds)]

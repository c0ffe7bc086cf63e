"""Routes of ``/api/meetings/calendar-feed`` (docs/http-api.md, "Calendars"): the caller's
private calendar feed. Creating and revoking need the bearer token; reading the feed needs
only its secret address (calendar applications cannot send a token)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from parley_meetings.api.deps import AppSettings, CalendarFeedsService, MeetingsService
from parley_meetings.api.schemas import CalendarFeedOut, CalendarFeedState, invite_url
from parley_meetings.domain import calendar
from parley_meetings.domain.models import utc_now
from parley_observability import BEARER_401, error_responses
from parley_observability.store import STORE_503
from parley_security import CurrentPrincipal

router = APIRouter(prefix="/api/meetings/calendar-feed", tags=["calendar"], responses=error_responses({503: STORE_503}))


@router.get("", response_description="whether the caller has a feed", responses=error_responses({401: BEARER_401}))
async def feed_state(principal: CurrentPrincipal, feeds: CalendarFeedsService) -> CalendarFeedState:
    """Whether the caller has a calendar feed, and since when (its address is not kept, so it
    cannot be shown again: create a new one to see an address)."""
    created_at = await feeds.created_at(principal.user_id)
    return CalendarFeedState(active=created_at is not None, created_at=created_at)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_description="the feed's address (shown once)",
    responses=error_responses({401: BEARER_401}),
)
async def create_feed(principal: CurrentPrincipal, feeds: CalendarFeedsService, settings: AppSettings) -> CalendarFeedOut:
    """A new private address of the caller's upcoming meetings (subscribe to it in a calendar
    application); an earlier address stops working."""
    token = await feeds.create(principal.user_id)
    return CalendarFeedOut(url=f"{settings.public_base_url.rstrip('/')}{router.prefix}/{token}.ics")


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_description="revoked (also when there was no feed)",
    responses=error_responses({401: BEARER_401}),
)
async def revoke_feed(principal: CurrentPrincipal, feeds: CalendarFeedsService) -> Response:
    """Revoke the caller's feed: its address answers 404 from now on."""
    await feeds.revoke(principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{token}.ics",
    response_class=Response,
    response_description="the owner's upcoming scheduled meetings (RFC 5545, `METHOD:PUBLISH`)",
    responses={
        200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "RFC 5545 text"},
        **error_responses({404: "`calendar_feed_not_found`: no feed has this address (revoked or replaced)"}),
    },
)
async def read_feed(
    token: Annotated[str, Path(max_length=128)], feeds: CalendarFeedsService, meetings: MeetingsService, settings: AppSettings) -> Response:
    """The feed: every active scheduled meeting of its owner (host or participant) that has not
    finished, soonest first. No bearer token: the address is the secret."""
    user_id = await feeds.owner(token)
    upcoming = await meetings.upcoming_for(user_id)
    body = calendar.feed(
        ((m, invite_url(m.meeting_id, settings.public_base_url)) for m in upcoming),
        public_base_url=settings.public_base_url,
        now=utc_now(),
        name="Parley meetings",
    )
    return Response(body, media_type=calendar.CONTENT_TYPE, headers={"Cache-Control": "no-store"})

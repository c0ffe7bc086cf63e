"""Routes of ``/api/meetings`` (docs/http-api.md). Thin: parse, call the domain, shape.

Every route needs ``Authorization: Bearer <access token>`` (401 otherwise). Errors are
``{"detail": {"code", "message"}}``: 404 ``meeting_not_found``, 410 ``meeting_ended``,
403 ``not_host`` / ``not_a_participant``; invalid input (a body, or a meeting id that is not
1–128 of ``[A-Za-z0-9_-]``) is a 422 with FastAPI's ``detail`` list. Each route declares the
answers it can give (:func:`parley_observability.error_responses`).
"""

from fastapi import APIRouter, status

from parley_meetings.api.deps import AppSettings, MeetingsService
from parley_meetings.api.schemas import (
    CreateMeetingRequest,
    JoinResult,
    MeetingList,
    MeetingOut,
    MembershipOut,
    RosterOut,
    RosterParticipant,
)
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import CurrentPrincipal, MeetingId

#: Every route reads or writes the database: 503 while it cannot be reached.
router = APIRouter(prefix="/api/meetings", tags=["meetings"], responses=error_responses({503: STORE_503}))

NOT_FOUND_404 = "`meeting_not_found`: no meeting has this id"
NOT_A_PARTICIPANT_403 = "`not_a_participant`: the caller has not joined this meeting"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_description="the meeting, created (status `active`)",
    responses=error_responses({400: BODY_400, 401: BEARER_401}),
)
async def create_meeting(
    body: CreateMeetingRequest, principal: CurrentPrincipal, meetings: MeetingsService, settings: AppSettings
) -> MeetingOut:
    """Create a meeting; the caller becomes its host and first participant."""
    meeting = await meetings.create(
        host_id=principal.user_id,
        host_name=principal.display_name,
        title=body.title,
        scheduled_start=body.scheduled_start,
    )
    return MeetingOut.of(meeting, settings.public_base_url)


@router.get(
    "",
    response_description="the caller's meetings, newest first",
    responses=error_responses({401: BEARER_401}),
)
async def list_my_meetings(
    principal: CurrentPrincipal, meetings: MeetingsService, settings: AppSettings
) -> MeetingList:
    """The caller's meetings (host or participant), newest first."""
    found = await meetings.list_for(principal.user_id)
    return MeetingList(meetings=[MeetingOut.of(m, settings.public_base_url) for m in found])


@router.get(
    "/{meeting_id}",
    response_description="the meeting",
    responses=error_responses({401: BEARER_401, 404: NOT_FOUND_404}),
)
async def get_meeting(
    meeting_id: MeetingId, principal: CurrentPrincipal, meetings: MeetingsService, settings: AppSettings
) -> MeetingOut:
    """One meeting, for any signed-in user holding its id (the invite link)."""
    return MeetingOut.of(await meetings.summary(meeting_id), settings.public_base_url)


@router.post(
    "/{meeting_id}/join",
    response_description="the meeting and the caller's role in it",
    responses=error_responses(
        {401: BEARER_401, 404: NOT_FOUND_404, 410: "`meeting_ended`: the meeting has ended; nobody joins it any more"}
    ),
)
async def join_meeting(
    meeting_id: MeetingId, principal: CurrentPrincipal, meetings: MeetingsService, settings: AppSettings
) -> JoinResult:
    """Become a participant (idempotent); 410 when the meeting ended."""
    meeting, role = await meetings.join(
        meeting_id, user_id=principal.user_id, display_name=principal.display_name
    )
    return JoinResult(meeting=MeetingOut.of(meeting, settings.public_base_url), role=role)


@router.post(
    "/{meeting_id}/end",
    response_description="the meeting, ended",
    responses=error_responses(
        {401: BEARER_401, 403: "`not_host`: only the meeting's host may end it", 404: NOT_FOUND_404}
    ),
)
async def end_meeting(
    meeting_id: MeetingId, principal: CurrentPrincipal, meetings: MeetingsService, settings: AppSettings
) -> MeetingOut:
    """End the meeting (host only; ending twice is harmless)."""
    meeting = await meetings.end(meeting_id, user_id=principal.user_id)
    return MeetingOut.of(meeting, settings.public_base_url)


@router.get(
    "/{meeting_id}/membership",
    response_description="the caller's role and the meeting's status",
    responses=error_responses({401: BEARER_401, 403: NOT_A_PARTICIPANT_403, 404: NOT_FOUND_404}),
)
async def get_membership(
    meeting_id: MeetingId, principal: CurrentPrincipal, meetings: MeetingsService
) -> MembershipOut:
    """The caller's membership: asked by chat and signaling with the user's own token."""
    meeting, role = await meetings.membership(meeting_id, user_id=principal.user_id)
    return MembershipOut(
        meeting_id=meeting.meeting_id, user_id=principal.user_id, role=role, status=meeting.status
    )


@router.get(
    "/{meeting_id}/roster",
    response_description="the sockets in the call now, in joining order",
    responses=error_responses({401: BEARER_401, 403: NOT_A_PARTICIPANT_403, 404: NOT_FOUND_404}),
)
async def get_roster(
    meeting_id: MeetingId, principal: CurrentPrincipal, meetings: MeetingsService
) -> RosterOut:
    """Who is in the call now (participants only)."""
    meeting = await meetings.roster(meeting_id, user_id=principal.user_id)
    return RosterOut(
        meeting_id=meeting.meeting_id,
        participants=[RosterParticipant.of(entry) for entry in meeting.roster],
    )

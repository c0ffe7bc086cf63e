"""Routes of the lobby and of the host's remedies (docs/http-api.md, "Lobby and moderation").
Thin: parse, call :class:`parley_meetings.domain.moderation.Moderation`, shape.

The waiting person withdraws (``DELETE /{id}/join``, a guest too); the host and co-hosts read
the lobby, admit and deny; they remove participants; the host makes co-hosts. Each change
publishes its event (docs/events.md), from which signaling tells the sockets concerned.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from parley_meetings.api.callers import INVALID_KEY_401, SCOPE_403, GuestOrWriter, Reader, Writer
from parley_meetings.api.deps import MeetingsService
from parley_meetings.api.schemas import AdmittedOut, LobbyOut, RoleRequest, WaitingPerson
from parley_observability import BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import MeetingId
from parley_security.ids import MEETING_ID_MAX_LENGTH, MEETING_ID_PATTERN

router = APIRouter(
    prefix="/api/meetings",
    tags=["lobby and moderation"],
    responses=error_responses({401: INVALID_KEY_401, 503: STORE_503}),
)

#: A user id in a path (an account's hex id or a guest's ``guest-…``): 1–128 of ``[A-Za-z0-9_-]``.
UserId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MEETING_ID_MAX_LENGTH,
        pattern=MEETING_ID_PATTERN,
        description="the user id of a participant or of someone waiting (`guest-…` for a guest)",
        examples=["3f2a9c0d4b6e4f1a8c7d2e5b9a0c1d3e"],
    ),
]

NOT_FOUND_404 = "`meeting_not_found`: no meeting has this id"
ENDED_410 = "`meeting_ended`: the meeting has ended"
MODERATOR_403 = f"`not_a_moderator`: only the host or a co-host may do this; {SCOPE_403}"
NO_CONTENT = {"status_code": status.HTTP_204_NO_CONTENT, "response_class": Response}


@router.delete(
    "/{meeting_id}/join",
    **NO_CONTENT,
    response_description="the caller no longer waits in the lobby (also when they did not wait)",
    responses=error_responses({403: SCOPE_403, 404: NOT_FOUND_404, 410: ENDED_410}),
)
async def withdraw(meeting_id: MeetingId, principal: GuestOrWriter, meetings: MeetingsService) -> Response:
    """Stop waiting in the meeting's lobby (a guest of this meeting too); publishes `lobby.left`."""
    await meetings.moderation.withdraw(meeting_id, user_id=principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{meeting_id}/lobby",
    response_description="who waits in the lobby, in arrival order",
    responses=error_responses({403: MODERATOR_403, 404: NOT_FOUND_404, 410: ENDED_410}),
)
async def get_lobby(meeting_id: MeetingId, principal: Reader, meetings: MeetingsService) -> LobbyOut:
    """The lobby (host and co-hosts only); signaling's `lobby` events tell its changes after."""
    meeting = await meetings.moderation.waiting(meeting_id, by=principal.user_id)
    return LobbyOut(
        meeting_id=meeting_id,
        admission=meeting.admission,
        waiting=[WaitingPerson.of(entry) for entry in meeting.lobby],
    )


@router.post(
    "/{meeting_id}/lobby/admit-all",
    response_description="how many people were admitted",
    responses=error_responses({403: MODERATOR_403, 404: NOT_FOUND_404, 410: ENDED_410}),
)
async def admit_all(meeting_id: MeetingId, principal: Writer, meetings: MeetingsService) -> AdmittedOut:
    """Admit everyone who waits (host and co-hosts); one `lobby.admitted` each."""
    return AdmittedOut(admitted=await meetings.moderation.admit_all(meeting_id, by=principal.user_id))


@router.post(
    "/{meeting_id}/lobby/{user_id}/admit",
    **NO_CONTENT,
    response_description="admitted: a participant now",
    responses=error_responses(
        {403: MODERATOR_403, 404: f"{NOT_FOUND_404}; `not_in_lobby`: nobody with this id waits", 410: ENDED_410}
    ),
)
async def admit(meeting_id: MeetingId, user_id: UserId, principal: Writer, meetings: MeetingsService) -> Response:
    """Let a waiting person in (host and co-hosts); publishes `lobby.admitted`."""
    await meetings.moderation.admit(meeting_id, by=principal.user_id, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{meeting_id}/lobby/{user_id}/deny",
    **NO_CONTENT,
    response_description="denied: their joins of this meeting are refused from now on",
    responses=error_responses(
        {403: MODERATOR_403, 404: f"{NOT_FOUND_404}; `not_in_lobby`: nobody with this id waits", 410: ENDED_410}
    ),
)
async def deny(meeting_id: MeetingId, user_id: UserId, principal: Writer, meetings: MeetingsService) -> Response:
    """Refuse a waiting person (host and co-hosts); publishes `lobby.denied`. Their later joins
    answer 403 `lobby_denied`."""
    await meetings.moderation.deny(meeting_id, by=principal.user_id, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{meeting_id}/participants/{user_id}/role",
    **NO_CONTENT,
    response_description="the participant's role is the one asked",
    responses=error_responses(
        {
            400: BODY_400,
            403: f"`not_host`: only the host makes or unmakes co-hosts; {SCOPE_403}",
            404: f"{NOT_FOUND_404}; `participant_not_found`: no participant has this id",
            409: "`cannot_moderate`: the host themselves, or a guest made co-host",
            410: ENDED_410,
        }
    ),
)
async def set_role(
    meeting_id: MeetingId, user_id: UserId, body: RoleRequest, principal: Writer, meetings: MeetingsService
) -> Response:
    """Make a participant a co-host, or a participant again (the host only); publishes
    `meeting.role_changed` (nothing when the role does not change)."""
    await meetings.moderation.set_role(meeting_id, by=principal.user_id, user_id=user_id, role=body.role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{meeting_id}/participants/{user_id}",
    **NO_CONTENT,
    response_description="removed: out of the call on every replica, and refused if they join again",
    responses=error_responses(
        {
            403: MODERATOR_403,
            404: f"{NOT_FOUND_404}; `participant_not_found`: no participant has this id",
            409: "`cannot_moderate`: oneself, the host, or (by a co-host) another co-host",
            410: ENDED_410,
        }
    ),
)
async def remove(meeting_id: MeetingId, user_id: UserId, principal: Writer, meetings: MeetingsService) -> Response:
    """Remove a participant (host and co-hosts; a co-host removes neither the host nor another
    co-host); publishes `meeting.participant_removed`. Their joins answer 403
    `removed_from_meeting` from now on."""
    await meetings.moderation.remove(
        meeting_id, by=principal.user_id, by_name=principal.display_name, user_id=user_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)

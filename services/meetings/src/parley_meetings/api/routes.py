"""Routes of ``/api/meetings`` (docs/http-api.md). Thin: parse, call the domain, shape.

Every route needs a user's access token or an API key with the route's scope
(:mod:`parley_meetings.api.callers`: 401 otherwise, 403 ``insufficient_scope``). Errors are
``{"detail": {"code", "message"}}``: 404 ``meeting_not_found``, 410 ``meeting_ended``,
403 ``not_host`` / ``not_a_participant``; invalid input (a body, or a meeting id that is not
1–128 of ``[A-Za-z0-9_-]``) is a 422 with FastAPI's ``detail`` list. Each route declares the
answers it can give (:func:`parley_observability.error_responses`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.exceptions import RequestValidationError

from parley_meetings.api.callers import INVALID_KEY_401, SCOPE_403, GuestOrReader, GuestOrWriter, Reader, Writer
from parley_meetings.api.deps import AppSettings, IdempotencyService, MeetingsService, meetings_of, settings_of
from parley_meetings.api.pagination import cursor_after, position
from parley_meetings.api.schemas import (
    CreateMeetingRequest,
    JoinResult,
    MeetingList,
    MeetingOut,
    MembershipOut,
    PublicMeetingOut,
    RescheduleRequest,
    RosterOut,
    RosterParticipant,
    UpdateMeetingRequest,
    invite_url,
)
from parley_meetings.config import Settings
from parley_meetings.domain import calendar
from parley_meetings.domain.errors import StartInPast
from parley_meetings.domain.models import MeetingSummary, utc_now
from parley_observability import BODY_400, error_responses, invalid_input_response
from parley_observability.store import STORE_503
from parley_security import MeetingId

#: Every route reads or writes the database: 503 while it cannot be reached.
router = APIRouter(
    prefix="/api/meetings", tags=["meetings"], responses=error_responses({401: INVALID_KEY_401, 403: SCOPE_403, 503: STORE_503})
)

NOT_FOUND_404 = "`meeting_not_found`: no meeting has this id"
NOT_A_PARTICIPANT_403 = f"`not_a_participant`: the caller has not joined this meeting; {SCOPE_403}"
NOT_HOST_403 = f"`not_host`: only the meeting's host may do this; {SCOPE_403}"
ENDED_410 = "`meeting_ended`: the meeting has ended (or was cancelled)"
#: FastAPI's 422 (a ``detail`` list), with the entry a start in the past gives.
START_IN_PAST_422 = invalid_input_response(
    "validation failed (FastAPI's `detail` list); a `scheduled_start` more than a minute in "
    "the past is an entry of `type` `start_in_past` at `loc` `[\"body\", \"scheduled_start\"]`"
)
#: An iCalendar answer in the OpenAPI document.
ICS_200 = {200: {"content": {"text/calendar": {"schema": {"type": "string"}}}, "description": "RFC 5545 text"}}


@contextmanager
def _start_checked() -> Iterator[None]:
    """The domain's :class:`StartInPast` as the validation error of ``scheduled_start``."""
    try:
        yield
    except StartInPast as exc:
        error = {"type": "start_in_past", "loc": ("body", "scheduled_start"), "msg": exc.message, "input": None}
        raise RequestValidationError([error]) from exc


def _shown(meeting: MeetingSummary, settings: Settings) -> MeetingOut:
    return MeetingOut.of(
        meeting,
        settings.public_base_url,
        timedelta(minutes=settings.join_lead_minutes),
        settings.meeting_empty_timeout_s,
    )




#: The ``Idempotency-Key`` request header (parley_meetings.domain.idempotency).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description=(
            "1–255 visible ASCII characters, e.g. a UUID, new for each meeting to create: the same key with the same "
            "body answers the first request's meeting again (`Idempotent-Replayed: true`) and creates nothing; with "
            "another body 422 `idempotency_key_reused`. Remembered for 24 hours."
        ),
        examples=["5b0c7e52-3b1a-4f0e-9a55-2f8d7f0c1e9a"],
    ),
]
CREATE_ANSWERS = {
    201: {
        "headers": {
            "Idempotent-Replayed": {
                "description": "`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    },
    **error_responses(
        {
            400: BODY_400,
            409: "`idempotency_key_in_use`: a request with this `Idempotency-Key` is still running; retry after `Retry-After` seconds",
        }
    ),
    422: {
        "description": (
            "validation failed (FastAPI's `detail` list; a `scheduled_start` more than a minute in the past is an entry of "
            "`type` `start_in_past`), or `{\"detail\": {\"code\": \"idempotency_key_reused\", \"message\"}}`: the "
            "`Idempotency-Key` was used with another body"
        ),
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/HTTPValidationError"},
                        {"$ref": "#/components/schemas/ErrorResponse"},
                    ]
                }
            }
        },
    },
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingOut,
    response_description="the meeting, created (status `active`), with its `invite_url`",
    responses=CREATE_ANSWERS,
)
async def create_meeting(
    body: CreateMeetingRequest,
    principal: Writer,
    meetings: MeetingsService,
    settings: AppSettings,
    idempotency: IdempotencyService,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create a meeting; the caller (an API key's owner) becomes its host and first participant.
    With ``scheduled_start`` it is a scheduled meeting (participants join from ``opens_at``).
    With an ``Idempotency-Key``, retrying the same request is safe (docs/http-api.md, "Idempotency")."""

    async def create() -> dict[str, Any]:
        with _start_checked():
            meeting = await meetings.create(
                host_id=principal.user_id,
                host_name=principal.display_name,
                title=body.title,
                schedule=body.schedule(),
                empty_timeout_seconds=body.empty_timeout_seconds,
                allow_guests=body.allow_guests,
                admission=body.admission,
            )
        return _shown(meeting, settings).model_dump(mode="json")

    if idempotency_key is None:
        return await create()
    answer, replayed = await idempotency.run(principal.user_id, idempotency_key, body.model_dump(mode="json"), create)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(answer, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get(
    "",
    response_description="the caller's meetings, newest first (a page of them with `limit`)",
    responses=invalid_input_response(
        "validation failed (FastAPI's `detail` list); a `cursor` this list did not give is an entry of `type` `invalid_cursor`"
    ),
)
async def list_my_meetings(
    principal: Reader,
    meetings: MeetingsService,
    settings: AppSettings,
    limit: Annotated[int | None, Query(ge=1, le=100, description="page size, 1–100; omitted: every meeting, one page")] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200, description="`next_cursor` of the previous page")] = None,
) -> MeetingList:
    """The caller's meetings (host or participant), newest first; with ``limit``, a page of
    them and the ``next_cursor`` of the next page."""
    after = position(cursor) if cursor is not None else None
    if limit is None and after is None:
        found = await meetings.list_for(principal.user_id)
        return MeetingList(meetings=[_shown(m, settings) for m in found])
    page_size = limit or 100
    found = await meetings.page_for(principal.user_id, page_size + 1, after)
    more = len(found) > page_size
    found = found[:page_size]
    return MeetingList(
        meetings=[_shown(m, settings) for m in found], next_cursor=cursor_after(found[-1]) if more else None
    )


@router.get(
    "/{meeting_id}",
    response_description="the meeting",
    responses=error_responses({401: INVALID_KEY_401, 404: NOT_FOUND_404}),
)
async def get_meeting(meeting_id: MeetingId, principal: Reader, request: Request) -> MeetingOut:
    """One meeting, for any signed-in user holding its id (the invite link)."""
    return _shown(await meetings_of(request).summary(meeting_id), settings_of(request))


#: Routes anyone may call without credentials (no 401/403 answers to declare).
public_router = APIRouter(prefix="/api/meetings", tags=["meetings"], responses=error_responses({503: STORE_503}))


@public_router.get(
    "/{meeting_id}/public",
    response_description="the meeting's title, status, whether it allows guests, and its schedule",
    responses=error_responses({404: NOT_FOUND_404}),
)
async def get_public_meeting(meeting_id: MeetingId, meetings: MeetingsService, settings: AppSettings) -> PublicMeetingOut:
    """What the meeting's page shows someone who is not signed in (no credentials), to offer
    "Join as a guest" when the host allowed guests (else sign-in), and when a scheduled one
    opens. Only what the link and its invitation already give whoever holds them: no host, no
    members."""
    return PublicMeetingOut.of(await meetings.summary(meeting_id), timedelta(minutes=settings.join_lead_minutes))


@router.patch(
    "/{meeting_id}",
    response_description="the meeting, changed",
    responses=error_responses(
        {
            400: BODY_400,
            401: INVALID_KEY_401,
            403: f"{NOT_HOST_403}; `not_a_moderator`: `admission` alone, and the caller is neither host nor co-host",
            404: NOT_FOUND_404,
            410: ENDED_410,
        }
    ),
)
async def update_meeting(
    meeting_id: MeetingId,
    body: UpdateMeetingRequest,
    principal: Writer,
    meetings: MeetingsService,
    settings: AppSettings,
) -> MeetingOut:
    """Change the meeting's settings (host only): `empty_timeout_seconds`, how long its room
    may stay empty before it expires (null: the service's default; it counts from the next
    time the room empties), `allow_guests`, whether someone without an account may join
    with a guest token (guests already in stay), and `admission` (`open`, `lobby`, `locked`),
    which a co-host may change too when it is the only field. Publishes `meeting.updated`."""
    meeting = await meetings.update(
        meeting_id, user_id=principal.user_id, changes=body.model_dump(include=body.model_fields_set)
    )
    return _shown(meeting, settings)


JOIN_403 = (
    "`not_a_participant`: the private room of a direct call, which only its two users join; `guests_not_allowed`: "
    "a guest, and the host does not allow guests (any more); `removed_from_meeting`: the host or a co-host removed "
    "the caller; `lobby_denied`: the host or a co-host did not let the caller in from the lobby; `meeting_locked`: "
    f"the meeting is locked and the caller is not a participant; {SCOPE_403}"
)


@router.post(
    "/{meeting_id}/join",
    response_description="the meeting and the caller's role in it (`status` `joined`)",
    responses={
        202: {
            "model": JoinResult,
            "description": "`status` `waiting`: the meeting is in `lobby` mode and the caller waits in its lobby until "
            "the host or a co-host admits them (signaling's `lobby-decision` tells them; `POST /join` again then "
            "answers 200)",
        },
        **error_responses({
            401: INVALID_KEY_401,
            403: JOIN_403,
            404: NOT_FOUND_404,
            409: "`not_open_yet`: a scheduled meeting opens `opens_at` (the meeting shows it)",
            410: ENDED_410,
        }),
    },
)
async def join_meeting(
    meeting_id: MeetingId, principal: GuestOrWriter, meetings: MeetingsService, settings: AppSettings, response: Response
) -> JoinResult:
    """Become a participant (idempotent); 410 when the meeting ended, 409 before a scheduled
    meeting opens (its host may join at any time). A guest token of this meeting may join
    it while the meeting allows guests (role `participant`, `user_id` `guest-…`); a guest
    token of another meeting gets 403 `guest_not_allowed`. In `lobby` mode someone who is not
    a participant yet (a guest too) waits in the lobby: 202 with `status` `waiting` (asking
    again while waiting answers the same); the host and co-hosts never wait."""
    meeting, role, joined = await meetings.join(
        meeting_id, user_id=principal.user_id, display_name=principal.display_name, guest=principal.is_guest
    )
    if joined == "waiting":
        response.status_code = status.HTTP_202_ACCEPTED
    return JoinResult(meeting=_shown(meeting, settings), role=role, status=joined)


@router.get(
    "/{meeting_id}/join",
    response_description="the meeting, the caller's role and `status`: `joined` (a participant) or `waiting` (in the lobby)",
    responses=error_responses({
        401: INVALID_KEY_401,
        403: f"`removed_from_meeting`, `lobby_denied`: the caller is barred from the meeting; {SCOPE_403}",
        404: f"{NOT_FOUND_404}; `not_in_lobby`: the caller neither takes part nor waits (`POST /join` asks)",
        410: ENDED_410,
    }),
)
async def join_standing(
    meeting_id: MeetingId, principal: GuestOrReader, meetings: MeetingsService, settings: AppSettings
) -> JoinResult:
    """Where the caller stands, changing nothing: what someone waiting in the lobby asks after
    a decision may have passed them by. Unlike `POST /join`, it never puts the caller in the
    lobby, so a read still in flight when the caller withdraws (`DELETE /join`) cannot undo
    the withdrawal."""
    meeting, role, joined = await meetings.moderation.standing(meeting_id, user_id=principal.user_id)
    return JoinResult(meeting=_shown(meeting, settings), role=role, status=joined)


@router.post(
    "/{meeting_id}/end",
    response_description="the meeting, ended",
    responses=error_responses(
        {401: INVALID_KEY_401, 403: NOT_HOST_403, 404: NOT_FOUND_404}
    ),
)
async def end_meeting(
    meeting_id: MeetingId, principal: Writer, meetings: MeetingsService, settings: AppSettings
) -> MeetingOut:
    """End the meeting (host only; ending twice is harmless)."""
    meeting = await meetings.end(meeting_id, user_id=principal.user_id)
    return _shown(meeting, settings)


@router.put(
    "/{meeting_id}/schedule",
    response_description="the meeting, rescheduled (`meeting.rescheduled` published)",
    responses={
        **error_responses({400: BODY_400, 401: INVALID_KEY_401, 403: NOT_HOST_403, 404: NOT_FOUND_404, 410: ENDED_410}),
        **START_IN_PAST_422,
    },
)
async def reschedule_meeting(
    meeting_id: MeetingId,
    body: RescheduleRequest,
    principal: Writer,
    meetings: MeetingsService,
    settings: AppSettings,
) -> MeetingOut:
    """Move the meeting to a new start (host only); schedules a meeting that had none. Its
    calendar invitation's `SEQUENCE` rises, so calendars replace the earlier copy."""
    with _start_checked():
        meeting = await meetings.reschedule(
            meeting_id,
            user_id=principal.user_id,
            start=body.scheduled_start,
            duration_minutes=body.duration_minutes,
            time_zone=body.time_zone,
        )
    return _shown(meeting, settings)


@router.post(
    "/{meeting_id}/cancel",
    response_description="the meeting, ended with `end_reason` `cancelled` (`meeting.cancelled` published)",
    responses=error_responses(
        {
            401: INVALID_KEY_401,
            403: NOT_HOST_403,
            404: NOT_FOUND_404,
            409: "`not_scheduled`: the meeting has no schedule (end it instead)",
            410: ENDED_410,
        }
    ),
)
async def cancel_meeting(
    meeting_id: MeetingId, principal: Writer, meetings: MeetingsService, settings: AppSettings
) -> MeetingOut:
    """Cancel a scheduled meeting (host only): it ends for everyone, its chat stays readable,
    and its calendar invitation becomes a cancellation (`METHOD:CANCEL`)."""
    meeting = await meetings.cancel(meeting_id, user_id=principal.user_id)
    return _shown(meeting, settings)


@router.get(
    "/{meeting_id}/invitation.ics",
    response_class=Response,
    response_description="the meeting's calendar invitation (RFC 5545, `text/calendar`)",
    responses={
        **ICS_200,
        **error_responses({401: INVALID_KEY_401, 404: NOT_FOUND_404, 409: "`not_scheduled`: the meeting has no schedule"}),
    },
)
async def get_invitation(
    meeting_id: MeetingId, principal: Reader, meetings: MeetingsService, settings: AppSettings
) -> Response:
    """The invitation of a scheduled meeting, for any signed-in user holding its id:
    `METHOD:REQUEST`, or `METHOD:CANCEL` once cancelled; its `UID` never changes and its
    `SEQUENCE` rises with each change (docs/http-api.md, "Calendars")."""
    meeting = await meetings.scheduled(meeting_id)
    body = calendar.invitation(
        meeting,
        invite_url=invite_url(meeting_id, settings.public_base_url),
        public_base_url=settings.public_base_url,
        now=utc_now(),
    )
    return Response(
        body,
        media_type=calendar.CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{meeting_id}.ics"', "Cache-Control": "no-store"},
    )


@router.get(
    "/{meeting_id}/membership",
    response_description="the caller's role and the meeting's status",
    responses=error_responses({401: INVALID_KEY_401, 403: NOT_A_PARTICIPANT_403, 404: NOT_FOUND_404}),
)
async def get_membership(
    meeting_id: MeetingId, principal: GuestOrReader, meetings: MeetingsService
) -> MembershipOut:
    """The caller's membership: asked by chat and signaling with the user's own token (a
    guest's too, for its own meeting)."""
    meeting, role = await meetings.membership(meeting_id, user_id=principal.user_id)
    return MembershipOut(
        meeting_id=meeting.meeting_id, user_id=principal.user_id, role=role, status=meeting.status
    )


@router.get(
    "/{meeting_id}/roster",
    response_description="the sockets in the call now, in joining order",
    responses=error_responses({401: INVALID_KEY_401, 403: NOT_A_PARTICIPANT_403, 404: NOT_FOUND_404}),
)
async def get_roster(
    meeting_id: MeetingId, principal: Reader, meetings: MeetingsService
) -> RosterOut:
    """Who is in the call now (participants only)."""
    meeting = await meetings.roster(meeting_id, user_id=principal.user_id)
    return RosterOut(
        meeting_id=meeting.meeting_id,
        participants=[RosterParticipant.of(entry) for entry in meeting.roster],
    )

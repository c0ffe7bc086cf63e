"""Routes of ``/api/chat`` (docs/http-api.md). Thin: parse, call the domain, shape.

Every route needs ``Authorization: Bearer <access token>`` (401 otherwise). Errors are
``{"detail": {"code", "message"}}``: 404 ``meeting_not_found``, 403 ``not_a_participant``,
409 ``message_id_conflict``, 429 ``too_many_messages`` (a post over the sender's limit, with
``Retry-After``), 503 ``unavailable`` (meetings could not be asked); invalid input
(body, ``limit``, ``before``, a meeting id that is not 1–128 of ``[A-Za-z0-9_-]``) is a 422 with
FastAPI's ``detail`` list. Each route declares the answers it can give.

Guests (docs/http-api.md, "Guests"): a guest token of a meeting reads and posts that
meeting's messages (once it joined), and nothing else: notes and every other meeting answer
403 ``guest_not_allowed`` (parley_security's guard).

Notes (``/meetings/{meeting_id}/notes``) are the caller's own, private notes of a meeting:
nobody else's are reachable, and saving them publishes no event.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley_chat.api.deps import ChatService, NotesDep
from parley_chat.api.schemas import HistoryOut, MessageOut, NotesOut, PostMessageRequest, PutNotesRequest
from parley_chat.domain.cursor import CURSOR_MAX_LENGTH, CURSOR_PATTERN
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import GUEST_403, CurrentPrincipal, MeetingId, MeetingPrincipal

#: The 429 of a post, meeting chat's or a direct message's.
TOO_MANY_MESSAGES = (
    "`too_many_messages`: the caller posted more than `PARLEY_CHAT_POST_LIMIT_PER_USER` allows (meeting "
    "chat and direct messages together); nothing was stored: try again after `Retry-After` seconds"
)

#: Every route reads or writes the database: 503 while it cannot be reached.
router = APIRouter(prefix="/api/chat", tags=["chat"], responses=error_responses({503: STORE_503}))

#: ``limit`` and ``before`` of a history page (a meeting's, a direct conversation's).
PageLimit = Annotated[int, Query(ge=1, le=100)]
Before = Annotated[
    str | None,
    Query(
        max_length=CURSOR_MAX_LENGTH,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page: the page holds the messages older than it",
    ),
]

#: What every route of a meeting's chat or notes may answer besides its own.
MEETING_ANSWERS = {
    401: BEARER_401,
    403: f"`not_a_participant`: the caller has not joined this meeting; {GUEST_403}",
    404: "`meeting_not_found`: no meeting has this id",
    503: "`unavailable`: meetings could not be asked whether the caller takes part (and the membership "
    "projection does not know the answer yet), or the database cannot be reached; retry after `Retry-After` seconds",
}


@router.post(
    "/meetings/{meeting_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_description="the message, posted now",
    responses={
        200: {"model": MessageOut, "description": "a retry of a message already posted (same id, sender and text)"},
        **error_responses(
            {
                400: BODY_400,
                **MEETING_ANSWERS,
                409: "`message_id_conflict`: this message id was already used for another text or sender",
                429: TOO_MANY_MESSAGES,
            }
        ),
    },
)
async def post_message(
    meeting_id: MeetingId,
    body: PostMessageRequest,
    principal: MeetingPrincipal,
    chat: ChatService,
    response: Response,
) -> MessageOut:
    """Post a message (201), or replay a retry of the same message (200). A guest of this
    meeting (a guest token, having joined it) may post; a guest of another gets 403
    `guest_not_allowed`."""
    message, created = await chat.post(
        meeting_id, principal, message_id=body.message_id, text=body.text, sender_name=body.sender_name
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return MessageOut.of(message)


@router.get(
    "/meetings/{meeting_id}/messages",
    response_description="a page of the meeting's messages, newest first, and the cursor of the next",
    responses=error_responses(MEETING_ANSWERS),
)
async def message_history(
    meeting_id: MeetingId,
    principal: MeetingPrincipal,
    chat: ChatService,
    limit: PageLimit = 50,
    before: Before = None,
) -> HistoryOut:
    """History newest first; pass ``next_cursor`` as ``before`` for the older page. A guest
    of this meeting may read it (403 `guest_not_allowed` for a guest of another)."""
    page = await chat.history(meeting_id, principal, limit=limit, before=before)
    return HistoryOut(
        messages=[MessageOut.of(m) for m in page.messages], next_cursor=page.next_cursor
    )


@router.get(
    "/meetings/{meeting_id}/notes",
    response_description="the caller's own notes of the meeting",
    responses=error_responses(MEETING_ANSWERS),
)
async def read_notes(meeting_id: MeetingId, principal: CurrentPrincipal, notes: NotesDep) -> NotesOut:
    """The caller's notes of the meeting (``text`` ``""`` and ``updated_at`` null before the first save)."""
    return NotesOut.of(await notes.read(meeting_id, principal))


@router.put(
    "/meetings/{meeting_id}/notes",
    response_description="the caller's notes as saved",
    responses=error_responses({400: BODY_400, **MEETING_ANSWERS}),
)
async def save_notes(meeting_id: MeetingId, body: PutNotesRequest, principal: CurrentPrincipal, notes: NotesDep) -> NotesOut:
    """Replace the caller's notes (text ≤ 20000 characters, else 422 and nothing changes)."""
    return NotesOut.of(await notes.save(meeting_id, principal, body.text))

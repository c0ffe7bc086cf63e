"""Routes of ``/api/chat/conversations`` (docs/http-api.md, "Direct messages"). Thin: parse,
call the domain, shape.

A conversation is addressed by the other user's id (``peer_id``): the caller's conversation
with that user. Every route needs ``Authorization: Bearer <access token>`` (401 otherwise).
"""

from fastapi import APIRouter, Response, status

from parley_chat.api.deps import DirectMessagesDep
from parley_chat.api.dm_schemas import (
    ConversationOut,
    ConversationsOut,
    DirectHistoryOut,
    DirectMessageOut,
    MarkReadRequest,
    PostDirectMessageRequest,
    UserId,
)
from parley_chat.api.routes import TOO_MANY_MESSAGES, Before, PageLimit
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import CurrentPrincipal

router = APIRouter(
    prefix="/api/chat/conversations",
    tags=["direct messages"],
    responses=error_responses({401: BEARER_401, 503: STORE_503}),
)


@router.get("", response_description="the caller's conversations, the most recently active first")
async def list_conversations(principal: CurrentPrincipal, dms: DirectMessagesDep) -> ConversationsOut:
    """Every conversation with at least one message, with its newest message and unread count."""
    return ConversationsOut(conversations=[ConversationOut.of(c) for c in await dms.conversations(principal)])


@router.post(
    "/{peer_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_description="the message, posted now",
    responses={
        200: {"model": DirectMessageOut, "description": "a retry of a message already posted (same id, sender and text)"},
        **error_responses(
            {
                400: f"{BODY_400}; `cannot_message_self`",
                403: "`not_a_contact`: the two are not accepted contacts, or one blocks the other",
                409: "`message_id_conflict`: this message id was already used for another text or sender",
                429: TOO_MANY_MESSAGES,
            }
        ),
    },
)
async def post_direct_message(
    peer_id: UserId, body: PostDirectMessageRequest, principal: CurrentPrincipal, dms: DirectMessagesDep, response: Response
) -> DirectMessageOut:
    """Send a direct message to ``peer_id`` (201), or replay a retry of the same message (200)."""
    message, created = await dms.post(principal, peer_id, message_id=body.message_id, text=body.text)
    if not created:
        response.status_code = status.HTTP_200_OK
    return DirectMessageOut.of(message)


@router.get("/{peer_id}/messages", response_description="a page of the conversation, newest first, and the cursor of the next")
async def direct_history(
    peer_id: UserId,
    principal: CurrentPrincipal,
    dms: DirectMessagesDep,
    limit: PageLimit = 50,
    before: Before = None,
) -> DirectHistoryOut:
    """History with ``peer_id`` newest first (also after they stopped being a contact)."""
    page = await dms.history(principal, peer_id, limit=limit, before=before)
    return DirectHistoryOut(messages=[DirectMessageOut.of(m) for m in page.messages], next_cursor=page.next_cursor)


@router.post(
    "/{peer_id}/read",
    response_description="the conversation after the mark",
    responses=error_responses({400: f"{BODY_400}; `cannot_message_self`: `peer_id` is the caller's own id"}),
)
async def mark_read(
    peer_id: UserId, principal: CurrentPrincipal, dms: DirectMessagesDep, body: MarkReadRequest | None = None
) -> ConversationOut:
    """Mark the conversation read up to ``seq`` (default: its newest message); the caller's
    other sockets get `direct-message-read`. A conversation without messages (as its history:
    an empty one) is answered unread-free and nothing is stored."""
    return ConversationOut.of(await dms.mark_read(principal, peer_id, body.seq if body else None))

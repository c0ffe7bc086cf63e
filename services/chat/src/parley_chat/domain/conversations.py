"""Direct messages: one conversation per pair of users, between accepted contacts only.

A message may be posted only while the two are accepted contacts and neither blocks the other
(chat's projection of auth's ``parley.contacts``, :class:`parley_events.contact_pairs.ContactPairs`);
the conversation's history stays readable to both afterwards. Posting, numbering, paging and
the idempotence by client ``message_id`` are a meeting chat's
(:func:`parley_chat.domain.service.store_post`, :func:`~parley_chat.domain.service.read_page`).

Read state: each user's side keeps the highest ``seq`` they read; opening the conversation
(``mark_read``) and posting in it raise it. A conversation's unread count is the number of
the peer's messages after it (counted over the last :data:`MAX_UNREAD` messages at most).
"""

import asyncio
from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict

from parley_chat.conversations_repository import ConversationRepository
from parley_chat.domain.cursor import decode_cursor
from parley_chat.domain.errors import CannotMessageSelf, ChatError, NotAContact
from parley_chat.domain.models import Message, Page, utc_now
from parley_chat.domain.post_limit import PostLimit
from parley_chat.domain.service import page_of, read_page, store_post
from parley_chat.metrics import ChatMetrics
from parley_events.contact_pairs import contact_id_of
from parley_security import Principal

#: Unread messages counted per conversation at most (a client shows "99+").
MAX_UNREAD = 100
#: Conversations whose both sides this process has seen created (one write saved per post).
KNOWN_OPEN = 10_000


class Conversation(BaseModel):
    """One of a user's conversations: the ``peer_id``, the newest message (``None`` before the
    first), the user's ``read_seq`` and ``unread`` (the peer's messages after it)."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    peer_id: str
    last_message: Message | None
    read_seq: int
    unread: int


class DirectMessages:
    """Post, read and mark read the direct messages of the signed-in user."""

    def __init__(
        self,
        repository: ConversationRepository,
        metrics: ChatMetrics,
        publish: Callable[[Iterable[Message]], None] = lambda messages: None,
        notify: Callable[[], None] = lambda: None,
        post_limit: PostLimit | None = None,
    ) -> None:
        self._repo = repository
        self._metrics = metrics
        self._publish = publish
        self._notify = notify  # a read mark was staged: wake the outbox relay
        self._post_limit = post_limit  # shared with meeting chat's posts
        self._open: dict[str, None] = {}

    async def post(self, principal: Principal, peer_id: str, *, message_id: str, text: str) -> tuple[Message, bool]:
        """Post ``text`` to ``peer_id`` as ``message_id``; returns ``(message, created)``.

        Idempotent as a meeting's post (a retry answers the stored message, ``created``
        False). Raises :class:`TooManyMessages` (the sender's posts, meeting chat's
        included, are over ``post_limit``), :class:`CannotMessageSelf`, :class:`NotAContact` (not accepted
        contacts, or a block either way) or :class:`MessageIdConflict`. The sender's read
        mark moves to the message (one reads what one answers; not announced: the sender's
        sockets get the message itself)."""
        try:
            if self._post_limit is not None:
                await self._post_limit.charge(principal.user_id)
            if peer_id == principal.user_id:
                raise CannotMessageSelf("you cannot message yourself")
            if not await self._repo.pairs.may_reach(principal.user_id, peer_id):
                raise NotAContact("you can only message your contacts")
            conversation_id = contact_id_of(principal.user_id, peer_id)
            await self._open_sides(conversation_id, principal.user_id, peer_id)
            message = Message(
                message_id=message_id,
                meeting_id=conversation_id,
                sender_id=principal.user_id,
                sender_name=principal.display_name,
                text=text,
                posted_at=utc_now(),
            )
            stored, created = await store_post(self._repo.messages, message, self._publish)
        except ChatError as exc:
            self._metrics.dm_refusals.labels(exc.code).inc()
            raise
        if created:
            self._metrics.dm_posted.inc()
        await self._repo.mark_read(conversation_id, principal.user_id, stored.seq, utc_now(), announce=False)
        return stored, created

    async def _open_sides(self, conversation_id: str, *user_ids: str) -> None:
        """Create both users' sides before the first message is stored (see the repository)."""
        if conversation_id in self._open:
            return
        await asyncio.gather(*(self._repo.open(conversation_id, user_id) for user_id in user_ids))
        self._open[conversation_id] = None
        if len(self._open) > KNOWN_OPEN:
            del self._open[next(iter(self._open))]

    async def history(self, principal: Principal, peer_id: str, *, limit: int, before: str | None) -> Page:
        """Up to ``limit`` messages with ``peer_id``, newest first, before the ``before`` cursor
        (empty when there are none); raises :class:`InvalidCursor`."""
        position = decode_cursor(before) if before else None
        conversation_id = contact_id_of(principal.user_id, peer_id)
        return page_of(conversation_id, await read_page(self._repo.messages, conversation_id, limit, position))

    async def mark_read(self, principal: Principal, peer_id: str, seq: int | None) -> Conversation:
        """Mark the conversation with ``peer_id`` read up to ``seq`` (default and at most: its
        newest message); returns the conversation as it is then. A conversation without
        messages (someone never written with, or no such user: as its history, an empty one)
        stores nothing and answers ``read_seq`` 0. Raises :class:`CannotMessageSelf` for the
        caller's own id (there is no conversation with oneself)."""
        if peer_id == principal.user_id:
            raise CannotMessageSelf("you have no conversation with yourself")
        conversation_id = contact_id_of(principal.user_id, peer_id)
        newest = await self._repo.messages.page(conversation_id, limit=1, before=None)
        last = newest[0].seq if newest else 0
        target = last if seq is None else min(seq, last)
        if target > 0:
            await self._mark(conversation_id, principal.user_id, target)
        return await self._summary(conversation_id, principal.user_id, peer_id,
                                   await self._repo.read_of(conversation_id, principal.user_id))

    async def _mark(self, conversation_id: str, user_id: str, seq: int) -> None:
        if await self._repo.mark_read(conversation_id, user_id, seq, utc_now()):
            self._notify()

    async def conversations(self, principal: Principal) -> list[Conversation]:
        """The user's conversations, the most recently active first."""
        sides = await self._repo.sides(principal.user_id)
        found = await asyncio.gather(
            *(self._summary(side["conversation_id"], principal.user_id, side["peer_id"], int(side.get("read", 0)))
              for side in sides)
        )
        listed = [c for c in found if c.last_message is not None]
        return sorted(listed, key=lambda c: (c.last_message.posted_at, c.last_message.seq), reverse=True)

    async def _summary(self, conversation_id: str, user_id: str, peer_id: str, read: int) -> Conversation:
        # the messages after the mark (one more: the head may lag a post), newest first
        head = await self._repo.messages.head(conversation_id)
        limit = max(1, min(MAX_UNREAD, head - read + 1))
        recent = await self._repo.messages.page(conversation_id, limit=limit, before=None)
        unread = sum(1 for m in recent if m.seq > read and m.sender_id == peer_id)
        return Conversation(conversation_id=conversation_id, peer_id=peer_id,
                            last_message=recent[0] if recent else None, read_seq=read, unread=unread)

"""The chat use cases. Routes call these; these ask meetings and call the repository.

Only participants of a meeting (as meetings answers for the caller's own token) may post or
read; chat stays open after the meeting ended. A stored message is its own event (the stored
messages are chat's outbox, :mod:`parley_chat.relay`); it is handed to ``publish`` once stored.
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterable

from parley_chat.domain.cursor import LEGACY_MIN, decode_cursor, encode_cursor
from parley_chat.domain.errors import ChatError, MessageIdConflict
from parley_chat.domain.membership import MembershipChecker, require_participant
from parley_chat.domain.models import Message, Page, utc_now
from parley_chat.domain.post_limit import PostLimit
from parley_chat.metrics import ChatMetrics
from parley_chat.repository import MessageRepository, doc_id
from parley_security import Membership, Principal


class Chat:
    """Post and read the messages of a meeting."""

    def __init__(
        self,
        repository: MessageRepository,
        meetings: MembershipChecker,
        metrics: ChatMetrics,
        publish: Callable[[Iterable[Message]], None] = lambda messages: None,
        post_limit: PostLimit | None = None,
    ) -> None:
        self._repo = repository
        self._meetings = meetings
        self._metrics = metrics
        self._publish = publish
        self._post_limit = post_limit

    async def _require_participant(self, meeting_id: str, principal: Principal) -> Membership:
        return await require_participant(self._meetings, meeting_id, principal)

    async def post(
        self, meeting_id: str, principal: Principal, *, message_id: str, text: str, sender_name: str | None = None
    ) -> tuple[Message, bool]:
        """Post ``text`` as ``message_id`` under ``sender_name`` (default: the token's name);
        returns ``(message, created)``.

        The message gets the meeting's next ``seq`` and is handed to ``publish`` (its
        ``chat.message.posted`` carries the ``seq``). Idempotent: the same ``message_id``
        again from the same sender with the same text returns the stored message with
        ``created=False`` and stores nothing (it is handed to ``publish`` again, which sends
        it only if its first attempt failed before that). Raises :class:`MessageIdConflict`
        when the id is taken otherwise, and :class:`MeetingNotFound`,
        :class:`NotAParticipant` or :class:`MeetingsUnavailable`; first of all
        :class:`TooManyMessages` when the sender is over ``post_limit``.
        """
        try:
            if self._post_limit is not None:
                await self._post_limit.charge(principal.user_id)
            await self._require_participant(meeting_id, principal)
            message = Message(
                message_id=message_id,
                meeting_id=meeting_id,
                sender_id=principal.user_id,
                sender_name=sender_name or principal.display_name,
                text=text,
                posted_at=utc_now(),
            )
            stored, created = await store_post(self._repo, message, self._publish)
            if created:
                self._metrics.posted.inc()
            return stored, created
        except ChatError as exc:
            self._metrics.post_refusals.labels(exc.code).inc()
            raise

    async def history(
        self, meeting_id: str, principal: Principal, *, limit: int, before: str | None
    ) -> Page:
        """Up to ``limit`` messages, newest first (``seq`` descending), before the ``before``
        cursor.

        Raises :class:`InvalidCursor` (before asking meetings), then the errors of
        :meth:`post` about membership. Meetings is asked while the page is read; the page is
        returned only when the caller takes part.
        """
        position = decode_cursor(before) if before else None
        read = asyncio.ensure_future(read_page(self._repo, meeting_id, limit, position))
        try:
            await self._require_participant(meeting_id, principal)
        except BaseException:
            read.cancel()
            with contextlib.suppress(BaseException):
                await read
            raise
        return page_of(meeting_id, await read)


async def store_post(
    repo: MessageRepository, message: Message, publish: Callable[[Iterable[Message]], None]
) -> tuple[Message, bool]:
    """Store ``message`` as the next of its stream (a meeting, or a direct conversation) and
    hand it to ``publish``; returns ``(stored, created)``.

    Idempotent: the same ``message_id`` again from the same sender with the same text returns
    the stored message with ``created=False`` and stores nothing (it is handed to ``publish``
    again, which sends it only if its first attempt failed before that). Raises
    :class:`MessageIdConflict` when the id is taken otherwise."""
    stored = await repo.insert(message)
    if stored is not None:
        publish([stored])
        return stored, True
    stored = await repo.get(message.meeting_id, message.message_id)
    if stored and stored.sender_id == message.sender_id and stored.text == message.text:
        await repo.cover(stored)  # a first attempt may have failed before the head
        publish([stored])
        return stored, False
    raise MessageIdConflict("this message_id was already used for another message")


async def read_page(
    repo: MessageRepository, stream_id: str, limit: int, position: tuple[int, str] | None
) -> list[Message]:
    """Up to ``limit`` messages of the stream, newest first, before the decoded cursor
    ``position`` (or the newest)."""
    if position is None:
        return await repo.page(stream_id, limit=limit, before=None)
    number, cursor_doc = position
    if number >= LEGACY_MIN:  # a posted_at cursor from before seq: resume at its message
        meeting, _, message_id = cursor_doc.rpartition(":")
        named = await repo.get(stream_id, message_id) if meeting == stream_id else None
        number = named.seq if named is not None else 1
    return await repo.page(stream_id, limit=limit, before=number)


def page_of(stream_id: str, rows: list[Message]) -> Page:
    """``rows`` (newest first) as a page, with the cursor of the older one (None at the start)."""
    next_cursor = None
    if rows and rows[-1].seq > 1:
        next_cursor = encode_cursor(rows[-1].seq, doc_id(stream_id, rows[-1].message_id))
    return Page(messages=tuple(rows), next_cursor=next_cursor)


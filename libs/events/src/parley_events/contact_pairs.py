"""A projection of auth's ``parley.contacts``: which pairs of users are contacts, and who
blocks whom. meetings keeps it to allow direct calls, chat to allow direct messages; each in
its own collection (``contact_pairs``), fed by its own consumer group.

``contact.accepted`` makes the pair contacts; ``contact.removed`` ends it; ``user.blocked``
ends it and records the blocker; ``user.unblocked`` lifts that user's block (they are not
contacts again); ``contact.invited`` and ``contact.declined`` change nothing.

Stored as ``{_id: contact_id, accepted, blocked_by}``.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from faststream import AckPolicy
from pydantic import BaseModel, ConfigDict
from pymongo.asynchronous.collection import AsyncCollection

from parley_events.envelope import ReceivedEvent
from parley_events.kafka import BATCH_POLL_MS, ConsumedMessage, decoded_events, raw_body
from parley_events.inbox import ProcessedEvents
from parley_events.schemas import (
    ContactAccepted,
    ContactDeclined,
    ContactEvent,
    ContactInvited,
    ContactRemoved,
    UserBlocked,
    UserUnblocked,
)
from parley_events.topics import CONTACTS
from parley_events.write_conflicts import retry_write_conflicts


#: auth's events on ``parley.contacts`` (what a projection's subscriber channel takes).
CONTACT_EVENTS = (ContactInvited, ContactAccepted, ContactDeclined, ContactRemoved, UserBlocked, UserUnblocked)
#: Records handed to the handler at most at once (one Kafka fetch).
BATCH_MAX_RECORDS = 200


def contact_id_of(a: str, b: str) -> str:
    """auth's id of the pair: the two user ids, sorted, joined by ``:``."""
    return ":".join(sorted((a, b)))


class ContactPair(BaseModel):
    """One pair of users: ``accepted`` while they are contacts, ``blocked_by`` the users of the
    pair who block the other."""

    model_config = ConfigDict(frozen=True)

    contact_id: str
    accepted: bool = False
    blocked_by: tuple[str, ...] = ()

    def may_reach(self, from_id: str, to_id: str) -> bool:
        """True when ``from_id`` may call or message ``to_id``: accepted contacts, nobody
        blocking."""
        return self.accepted and to_id not in self.blocked_by and from_id not in self.blocked_by


def pair_after(pair: ContactPair | None, event: ContactEvent) -> ContactPair:
    """``pair`` (``None``: never seen) after ``event`` (pure)."""
    current = pair or ContactPair(contact_id=event.contact_id)
    blocked = set(current.blocked_by)
    accepted = current.accepted
    if isinstance(event, ContactAccepted):
        accepted = True
    elif isinstance(event, ContactRemoved):
        accepted = False
    elif isinstance(event, UserBlocked):
        accepted = False
        blocked.add(event.user_id)
    elif isinstance(event, UserUnblocked):
        blocked.discard(event.user_id)
    return ContactPair(contact_id=current.contact_id, accepted=accepted, blocked_by=tuple(sorted(blocked)))


class ContactPairs:
    """The pairs in ``collection``; ``processed`` remembers the events applied (a consumer
    group's own :class:`ProcessedEvents`)."""

    def __init__(self, collection: AsyncCollection, processed: ProcessedEvents) -> None:
        self._pairs = collection
        self._processed = processed

    async def get(self, contact_id: str) -> ContactPair | None:
        doc = await self._pairs.find_one({"_id": contact_id})
        if doc is None:
            return None
        return ContactPair(
            contact_id=doc["_id"], accepted=doc.get("accepted", False), blocked_by=tuple(doc.get("blocked_by", ()))
        )

    async def may_reach(self, from_id: str, to_id: str) -> bool:
        """True when the projection knows ``from_id`` and ``to_id`` as contacts, neither blocking."""
        pair = await self.get(contact_id_of(from_id, to_id))
        return pair is not None and pair.may_reach(from_id, to_id)

    @retry_write_conflicts
    async def put(self, pair: ContactPair) -> None:
        # ``_id`` repeated in the replacement: FerretDB 1.13 gives an upserted replacement a new
        # ObjectId instead of the filter's ``_id``
        await self._pairs.replace_one(
            {"_id": pair.contact_id},
            {"_id": pair.contact_id, "accepted": pair.accepted, "blocked_by": list(pair.blocked_by)},
            upsert=True,
        )

    async def apply(self, events: Sequence[ReceivedEvent]) -> int:
        """Apply auth's contact events in order, each once (deduplicated by event id); how many
        were applied. A failure raises (the batch comes again; applying again is harmless)."""
        seen = await self._processed.seen_among([event.id for event in events])
        applied: list[str] = []
        for event in events:
            if event.id in seen or not isinstance(event.data, ContactEvent):
                continue
            seen.add(event.id)
            await self.put(pair_after(await self.get(event.data.contact_id), event.data))
            applied.append(event.id)
        await self._processed.record_all(applied)
        return len(applied)


def add_contact_consumer(
    router: Any,
    *,
    group_id: str,
    auto_offset_reset: Literal["earliest", "latest"],
    handle: Callable[[list[ReceivedEvent]], Awaitable[object]],
    on_malformed: Callable[[], None],
    description: str,
) -> None:
    """Subscribe ``handle`` (e.g. :meth:`ContactPairs.apply`) to auth's ``parley.contacts`` in
    the consumer group ``group_id`` (a service's own for this subscription, so its other
    groups stay out of its rebalances), in batches: whatever one fetch returned (up to
    :data:`BATCH_MAX_RECORDS`, in partition order) goes to ``handle`` as one list, and the
    batch is committed once ``handle`` returned; a failing one comes again (``handle``
    dedupes by event id). Malformed records are logged, counted by ``on_malformed`` and left
    out of the list."""

    @router.subscriber(
        CONTACTS.name,
        group_id=group_id,
        auto_offset_reset=auto_offset_reset,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,
        batch=True,
        max_records=BATCH_MAX_RECORDS,
        batch_timeout_ms=BATCH_POLL_MS,
        title="contacts",
        description=description,
    )
    async def on_contact_events(message: ConsumedMessage) -> None:
        events = decoded_events(message, on_malformed)
        if events:
            await handle(events)

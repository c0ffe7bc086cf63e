"""From Kafka events to webhook deliveries (docs/webhooks.md "Which events an endpoint receives").

The rule: an endpoint receives the events it subscribed to of the meetings its owner hosts.
The host of a meeting is read from meetings' own store (``meeting.created`` carries it).

=====================  ==========================================================
webhook type           from
=====================  ==========================================================
meeting.created        ``parley.meetings.meeting.created.v1``
meeting.started        the first ``parley.signaling.participant.joined.v1`` of the
                       meeting (remembered per meeting once its host has an endpoint, so it is sent once)
meeting.ended          ``parley.meetings.meeting.ended.v1``
meeting.expired        ``parley.meetings.meeting.expired.v1``
participant.joined     ``parley.signaling.participant.joined.v1``
participant.left       ``parley.signaling.participant.left.v1``
chat.message.posted    ``parley.chat.message.posted.v1``
=====================  ==========================================================

The body is ``{"type", "timestamp", "data"}`` (Standard Webhooks' recommended shape): the
event's type, its CloudEvents time and its payload as in docs/events.md (``meeting.started``:
``{meeting_id, host_id, started_at, first_participant_id}``). A delivery's id is derived from
the endpoint, the event id and the type: an event applied twice (a redelivered batch)
enqueues each delivery once.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cachetools import LRUCache

from parley_events import (
    ChatMessagePosted,
    EventData,
    MeetingCreated,
    MeetingEnded,
    MeetingExpired,
    ParticipantJoined,
    ParticipantLeft,
    ReceivedEvent,
)
from parley_meetings.domain.webhook_models import EventType, MeetingStartedData, WebhookDelivery, WebhookEndpoint
from parley_meetings.webhooks_repository import WebhookRepository

#: The webhook type of each Kafka event that has one.
WEBHOOK_TYPES: dict[type[EventData], EventType] = {
    MeetingCreated: "meeting.created",
    MeetingEnded: "meeting.ended",
    MeetingExpired: "meeting.expired",
    ParticipantJoined: "participant.joined",
    ParticipantLeft: "participant.left",
    ChatMessagePosted: "chat.message.posted",
}


#: How many meetings' hosts a dispatcher remembers (least recently used first out).
HOSTS_REMEMBERED = 10_000
#: Seconds the hosts' endpoints are kept at most, even when the store's revision of the
#: endpoints did not change (a replica that died between an endpoint's write and the
#: revision's would otherwise leave the change unseen).
ENDPOINTS_KEPT = timedelta(minutes=1)


@dataclass(frozen=True)
class Message:
    """One webhook message of a meeting, before it is addressed to endpoints."""

    event_type: EventType
    event_id: str
    meeting_id: str
    body: str


def body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> str:
    """The JSON body of a message (compact; signed and sent byte for byte)."""
    return json.dumps({"type": event_type, "timestamp": timestamp.isoformat(), "data": data}, separators=(",", ":"))


def delivery_id(endpoint_id: str, event_id: str, event_type: str) -> str:
    """``msg_`` + 32 hex digits, the same for the same endpoint, event and type."""
    return "msg_" + hashlib.sha256(f"{endpoint_id}|{event_id}|{event_type}".encode()).hexdigest()[:32]


class WebhookDispatcher:
    """Turns a batch of events into deliveries in the log (``wake`` the worker afterwards).

    ``host_of(meeting_id)`` answers the host of a meeting (None: not a meeting of this
    service's store, so nobody's webhooks); the last :data:`HOSTS_REMEMBERED` hosts found are
    remembered. So are the owners that have an endpoint, and those owners' endpoints, until an
    endpoint is created or deleted (the store's revision, read once per batch;
    :data:`ENDPOINTS_KEPT` at most). Most hosts have no endpoint: theirs are never read.
    Reading each one's per batch was a sixth of the store's operations while sockets joined
    and left, and once a minute per host still 13 reads a second with 313 hosts
    (bench/README.md, "Store operations per socket")."""

    def __init__(
        self,
        repository: WebhookRepository,
        host_of: Callable[[str], Awaitable[str | None]],
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
    ) -> None:
        self._repository = repository
        self._host_of = host_of
        self._clock = clock
        self._wake = wake
        #: The hosts of the meetings seen last (a meeting's host never changes).
        self._hosts: LRUCache[str, str] = LRUCache(maxsize=HOSTS_REMEMBERED)
        #: The enabled endpoints of the hosts seen last, as of :attr:`_endpoints_rev`.
        self._endpoints: LRUCache[str, list[WebhookEndpoint]] = LRUCache(maxsize=HOSTS_REMEMBERED)
        #: The owners with an endpoint, as of :attr:`_endpoints_rev`.
        self._owners: set[str] = set()
        self._endpoints_rev: int | None = None
        self._endpoints_since = datetime.min.replace(tzinfo=UTC)

    async def apply(self, events: Sequence[ReceivedEvent]) -> int:
        """Enqueue the deliveries of ``events``; returns how many were new. Returns only once
        every one is stored (the caller commits the Kafka offsets after that).

        A meeting's host is read once (then remembered), the owners with an endpoint and a
        host's endpoints once until an endpoint changes."""
        enqueued = 0
        checked = False
        for event in events:
            webhook_type = WEBHOOK_TYPES.get(type(event.data))
            if webhook_type is None:
                continue
            meeting_id = event.data.meeting_id  # type: ignore[attr-defined]
            host_id = await self._host(meeting_id, event.data)
            if host_id is None:
                continue
            if not checked:
                await self._forget_changed_endpoints()
                checked = True
            if host_id not in self._owners:
                continue
            endpoints = self._endpoints.get(host_id)
            if endpoints is None:
                endpoints = [e for e in await self._repository.endpoints_of(host_id) if e.enabled]
                self._endpoints[host_id] = endpoints
            if not endpoints:
                continue
            for message in await self._messages(event, webhook_type, meeting_id, host_id):
                for endpoint in endpoints:
                    if message.event_type in endpoint.event_types:
                        enqueued += await self._enqueue(endpoint.endpoint_id, host_id, message)
        if enqueued:
            self._wake()
        return enqueued

    async def _forget_changed_endpoints(self) -> None:
        """Forget the endpoints kept, and read the owners with one again, when an endpoint was
        created or deleted since they were read, or when they are older than
        :data:`ENDPOINTS_KEPT`. The revision is read first: an endpoint created meanwhile
        raises it again, and the next batch reads them again."""
        rev = await self._repository.endpoints_rev()
        now = self._clock()
        if rev != self._endpoints_rev or now - self._endpoints_since > ENDPOINTS_KEPT:
            self._endpoints.clear()
            self._owners = await self._repository.endpoint_owners()
            self._endpoints_rev, self._endpoints_since = rev, now

    async def _host(self, meeting_id: str, data: EventData) -> str | None:
        """The meeting's host: from ``meeting.created``, else remembered (a meeting's host never
        changes), else read."""
        host_id = data.host_id if isinstance(data, MeetingCreated) else self._hosts.get(meeting_id)
        if host_id is None:
            host_id = await self._host_of(meeting_id)
        if host_id is not None:
            self._hosts[meeting_id] = host_id
        return host_id

    async def _messages(self, event: ReceivedEvent, webhook_type: EventType, meeting_id: str, host_id: str) -> list[Message]:
        """The event's message, and before it ``meeting.started`` when it is the meeting's
        first join (remembered while the host has endpoints, whatever they subscribe to)."""
        data = event.data.model_dump(mode="json")
        timestamp = event.time or self._clock()
        messages = [Message(webhook_type, event.id, meeting_id, body(webhook_type, timestamp, data))]
        if isinstance(event.data, ParticipantJoined) and await self._repository.mark_started(meeting_id, event.id):
            started = MeetingStartedData(
                meeting_id=meeting_id, host_id=host_id, started_at=event.data.joined_at, first_participant_id=event.data.user_id
            ).model_dump(mode="json")
            messages.insert(0, Message("meeting.started", event.id, meeting_id, body("meeting.started", timestamp, started)))
        return messages

    async def _enqueue(self, endpoint_id: str, owner_id: str, message: Message) -> int:
        now = self._clock()
        delivery = WebhookDelivery(
            delivery_id=delivery_id(endpoint_id, message.event_id, message.event_type),
            endpoint_id=endpoint_id,
            owner_id=owner_id,
            event_type=message.event_type,
            event_id=message.event_id,
            meeting_id=message.meeting_id,
            payload=message.body,
            state="pending",
            next_attempt_at=now,
            created_at=now,
        )
        return int(await self._repository.enqueue(delivery))

"""Webhook endpoints and deliveries as the domain sees them (docs/webhooks.md).

An endpoint belongs to one user (its ``owner_id``: the signed-in user, or the owner of the API
key that registered it) and receives the events it subscribed to of the meetings that user
hosts. A delivery is one message to one endpoint, with its state in the delivery log:
``pending`` (waiting for ``next_attempt_at``), ``delivering`` (claimed by a replica's worker
until ``next_attempt_at``, its lease), ``succeeded`` (a 2xx answer) or ``failed`` (every
attempt of the retry schedule failed, or the endpoint was gone).
"""

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

#: The event types an endpoint may subscribe to.
EventType = Literal[
    "meeting.created",
    "meeting.started",
    "meeting.ended",
    "meeting.expired",
    "participant.joined",
    "participant.left",
    "chat.message.posted",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

DeliveryState = Literal["pending", "delivering", "succeeded", "failed"]


class MeetingStartedData(BaseModel):
    """``data`` of ``meeting.started``: the first person joined the meeting's call."""

    meeting_id: str
    host_id: str
    started_at: datetime
    #: the user id of the first person who joined
    first_participant_id: str


class WebhookEndpoint(BaseModel):
    """A registered endpoint; ``secret`` is ``whsec_`` + base64 of 32 random bytes (the
    Standard Webhooks symmetric key), kept to sign every delivery."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    owner_id: str
    url: str
    event_types: tuple[EventType, ...]
    description: str = ""
    secret: str
    enabled: bool = True
    created_at: datetime


class WebhookDelivery(BaseModel):
    """One message to one endpoint. ``delivery_id`` is the message's ``webhook-id`` (the same
    in every attempt, so a receiver can drop duplicates); ``payload`` is the exact JSON body
    signed and sent. ``attempts`` counts every attempt; ``round_attempts`` those since the
    delivery was created or last replayed (the retry schedule's position)."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    endpoint_id: str
    owner_id: str
    event_type: EventType
    event_id: str
    meeting_id: str
    payload: str
    state: DeliveryState
    attempts: int = 0
    round_attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    succeeded_at: datetime | None = None

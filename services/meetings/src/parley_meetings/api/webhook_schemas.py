"""Request and response bodies of ``/api/webhooks`` (docs/webhooks.md), with OpenAPI examples."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from parley_meetings.domain.webhook_models import DeliveryState, EventType, WebhookDelivery, WebhookEndpoint

#: An endpoint id (``we_`` + 24 hex digits) or delivery id (``msg_`` + 32 hex digits).
WebhookId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

_ENDPOINT_EXAMPLE = {
    "endpoint_id": "we_5f0c3a9d2b7e41c8a6d3e210",
    "url": "https://hooks.example.com/parley",
    "event_types": ["meeting.created", "participant.joined", "meeting.ended"],
    "description": "CRM sync",
    "enabled": True,
    "created_at": "2026-12-02T13:05:00Z",
}


class CreateEndpointRequest(BaseModel):
    """An endpoint to register: its ``url`` (https; http only to loopback in local
    development; its host a valid DNS name or IP literal; in production never a private,
    loopback or link-local address), the ``event_types`` it wants, and a ``description`` for
    its owner."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/parley",
                    "event_types": ["meeting.created", "participant.joined", "meeting.ended"],
                    "description": "CRM sync",
                }
            ]
        },
    )

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[EventType] = Field(min_length=1, max_length=7)
    description: str = Field(default="", max_length=200)


class EndpointOut(BaseModel):
    """A registered endpoint (without its secret)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ENDPOINT_EXAMPLE]})

    endpoint_id: str
    url: str
    event_types: list[EventType]
    description: str
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> "EndpointOut":
        return cls(**endpoint.model_dump(exclude={"secret", "owner_id"}))


class EndpointWithSecret(EndpointOut):
    """A registered endpoint and its signing ``secret`` (``whsec_`` + base64), shown only in
    this answer (registration and rotation): keep it to verify ``webhook-signature``."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_ENDPOINT_EXAMPLE, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}
    )

    secret: str

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> "EndpointWithSecret":
        return cls(**endpoint.model_dump(exclude={"owner_id"}))


class EndpointList(BaseModel):
    """``{endpoints: [endpoint]}``: the caller's endpoints, oldest first."""

    endpoints: list[EndpointOut]


class DeliveryOut(BaseModel):
    """One entry of the delivery log: the message (``delivery_id`` is its ``webhook-id``,
    ``payload`` the JSON body sent) and how sending it went."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "delivery_id": "msg_2b1f6f0e9a4c4d0f8e7a6b5c4d3e2f10",
                    "event_type": "meeting.created",
                    "meeting_id": "abcd-efgh-ijkl",
                    "payload": '{"type":"meeting.created","timestamp":"2026-12-02T13:05:00+00:00","data":{"meeting_id":"abcd-efgh-ijkl"}}',
                    "state": "pending",
                    "attempts": 2,
                    "next_attempt_at": "2026-12-02T13:10:05Z",
                    "created_at": "2026-12-02T13:05:00Z",
                    "last_attempt_at": "2026-12-02T13:05:05Z",
                    "last_status_code": 500,
                    "last_error": "the endpoint answered 500",
                    "succeeded_at": None,
                }
            ]
        }
    )

    delivery_id: str
    event_type: EventType
    meeting_id: str
    payload: str
    state: DeliveryState = Field(description="pending, delivering, succeeded or failed (every retry failed)")
    attempts: int = Field(description="attempts made so far, replays included")
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next (UTC)")
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    succeeded_at: datetime | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> "DeliveryOut":
        fields = delivery.model_dump(exclude={"endpoint_id", "owner_id", "event_id", "round_attempts", "next_attempt_at"})
        return cls(**fields, next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None)


class DeliveryPage(BaseModel):
    """``{deliveries: [delivery], next_cursor}``: newest first; pass ``next_cursor`` as
    ``cursor`` for the next page (``null``: this was the last)."""

    deliveries: list[DeliveryOut]
    next_cursor: str | None

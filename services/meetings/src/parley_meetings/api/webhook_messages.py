"""The webhook messages Parley sends, in the OpenAPI document's ``webhooks`` section (OpenAPI
3.1 §4.8.1): one operation per event type, with its body's schema, the Standard Webhooks
headers and the answers Parley reads (docs/webhooks.md).

They are documentation only: FastAPI lists the routes of ``app.webhooks`` there and never
serves them.
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, create_model

from parley_meetings.domain.webhook_dispatch import WEBHOOK_TYPES
from parley_meetings.domain.webhook_models import EventType, MeetingStartedData

#: What each webhook type means (its ``data`` is the model the dispatcher sends it from).
SUMMARIES: dict[EventType, str] = {
    "meeting.created": "A meeting of the endpoint's owner was created (by them or by an application with their key).",
    "meeting.started": "The first person joined the meeting's call (sent once per meeting).",
    "meeting.ended": "The host ended the meeting.",
    "meeting.expired": "The meeting's room stayed empty for its empty timeout.",
    "participant.joined": "Someone's socket joined the meeting's call.",
    "participant.left": "Someone's socket left the meeting's call.",
    "chat.message.posted": "A chat message was posted in the meeting.",
}

#: The ``data`` of each webhook type: the Kafka event's payload, or ``meeting.started``'s own.
DATA: dict[EventType, type[BaseModel]] = {
    **{event_type: model for model, event_type in WEBHOOK_TYPES.items()},
    "meeting.started": MeetingStartedData,
}

HEADERS_DOC = (
    "Signed as Standard Webhooks says: `webhook-id` (the delivery's id, the same on every retry), "
    "`webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of "
    "`{id}.{timestamp}.{body}` with the endpoint's secret). Any 2xx answer within the attempt's "
    "timeout (10 s by default) is a success; anything else is retried on the schedule of docs/webhooks.md."
)


def message_model(event_type: str, data: type[BaseModel]) -> type[BaseModel]:
    """The body of an ``event_type`` message: ``{type, timestamp, data}`` with ``data`` a ``data``."""
    name = "".join(part.capitalize() for part in event_type.replace(".", "_").split("_")) + "Webhook"
    return create_model(
        name,
        __doc__=f"The body of a `{event_type}` message: Standard Webhooks' recommended shape.",
        type=(Literal[event_type], ...),  # type: ignore[valid-type]
        timestamp=(datetime, ...),
        data=(data, ...),
    )


def document_webhooks(app: FastAPI) -> None:
    """Declare every webhook message in ``app``'s OpenAPI document (``webhooks``)."""
    for event_type, summary in SUMMARIES.items():
        model = message_model(event_type, DATA[event_type])

        async def receive(
            body: model,  # type: ignore[valid-type]
            webhook_id: Annotated[str, Header(description="the delivery's id (`msg_…`), the same on every retry")],
            webhook_timestamp: Annotated[int, Header(description="when it was signed, Unix seconds")],
            webhook_signature: Annotated[str, Header(description="`v1,<base64 HMAC-SHA256>`, space-separated")],
        ) -> None:
            """Sent by Parley; implemented by the receiving application."""

        app.webhooks.add_api_route(
            event_type,
            receive,
            methods=["POST"],
            summary=summary,
            description=HEADERS_DOC,
            operation_id=f"webhook_{event_type.replace('.', '_')}",
            status_code=204,
            responses={204: {"description": "any 2xx: received"}},
        )


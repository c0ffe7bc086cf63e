"""Each service's AsyncAPI document, generated from its code, and the routes serving it.

FastStream builds the document from the router's publishers and subscribers. Two things it
cannot know are added here, so that every event a service publishes or consumes appears with
the payload that really travels on Kafka:

- the Kafka record value is a CloudEvents 1.0 envelope (structured mode) whose ``data`` is the
  event's payload model: publishers are declared with :func:`envelope_of` as their schema;
- Parley's subscribers take the raw record (decoding is :func:`parley_events.received_event`'s
  job, so a malformed record is skipped instead of redelivered), so FastStream sees no payload
  type (``EmptyPayload``): :func:`asyncapi_document` replaces each subscriber channel's message
  by one message per event type it consumes (``consumes``).

Served on the service's own port (not routed by Traefik), documented in its OpenAPI document:
``GET /asyncapi.json`` and ``GET /asyncapi.yaml``. There is no HTML viewer: FastStream's loads
its scripts from a CDN (blank offline) and comes with a "try it out" endpoint that publishes
to the broker. Open the JSON or YAML in any AsyncAPI 3.0 tool.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Literal
from urllib.parse import unquote

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from parley_events.schemas import EventData

REF_TEMPLATE = "#/components/schemas/{model}"


class CloudEventEnvelope(BaseModel):
    """The CloudEvents 1.0 attributes of every Parley event (JSON event format, Kafka structured
    mode, ``content-type: application/cloudevents+json``); the Kafka key is ``subject``."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(description="Unique per event; consumers deduplicate by it")
    source: str = Field(description="The publishing service, e.g. `/parley/meetings`")
    type: str = Field(description="e.g. `parley.meetings.meeting.ended.v1`")
    subject: str = Field(description="The aggregate id (meeting id, user id): also the Kafka key")
    time: datetime
    datacontenttype: Literal["application/json"]


@cache
def envelope_of(data: type[EventData]) -> type[CloudEventEnvelope]:
    """The envelope model of one event type: ``type`` fixed to its CloudEvents type, ``data``
    its payload model (named ``<Payload>Event``, e.g. ``MeetingEndedEvent``)."""
    return create_model(
        f"{data.__name__}Event",
        __base__=CloudEventEnvelope,
        __doc__=f"CloudEvent `{data.event_type}` on topic `{data.topic.name}`. {data.__doc__ or ''}".strip(),
        type=(Literal[data.event_type], Field(description="The CloudEvents type of this event")),  # type: ignore[valid-type]
        data=(data, ...),
    )


def _add_schema(doc: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Put ``model``'s JSON schema (and the models it uses) into ``components.schemas``."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def asyncapi_document(spec: dict[str, Any], consumes: Mapping[str, Sequence[type[EventData]]]) -> dict[str, Any]:
    """FastStream's AsyncAPI 3.0 document ``spec`` (jsonable) with the messages of each
    subscriber channel named in ``consumes`` (channel key → the event types it takes) replaced
    by one envelope message per event type."""
    messages = spec.setdefault("components", {}).setdefault("messages", {})
    for channel_key, events in consumes.items():
        channel = spec["channels"][channel_key]
        for ref in channel.get("messages", {}).values():
            messages.pop(unquote(ref["$ref"]).removeprefix("#/components/messages/"), None)
        channel["messages"] = {}
        for event in events:
            model = envelope_of(event)
            key = f"{channel_key}:{event.__name__}"
            messages[key] = {
                "name": event.event_type,
                "title": event.event_type,
                "contentType": "application/cloudevents+json",
                "payload": _add_schema(spec, model),
            }
            channel["messages"][event.__name__] = {"$ref": f"#/components/messages/{key}"}
        for operation in spec.get("operations", {}).values():
            if unquote(operation["channel"]["$ref"]) == f"#/channels/{channel_key}":
                operation["messages"] = [
                    {"$ref": f"#/channels/{channel_key}/messages/{event.__name__}"} for event in events
                ]
    _drop_unused_empty_payload(spec)
    for message in messages.values():
        message.setdefault("contentType", "application/cloudevents+json")
    return spec


def _drop_unused_empty_payload(spec: dict[str, Any]) -> None:
    schemas = spec.get("components", {}).get("schemas", {})
    if "EmptyPayload" in schemas and "#/components/schemas/EmptyPayload" not in str(spec.get("components", {}).get("messages")):
        del schemas["EmptyPayload"]


class YamlResponse(Response):
    media_type = "application/yaml"


_DOCUMENT_SCHEMA = {"type": "object", "description": "An AsyncAPI 3.0 document"}


def asyncapi_router(kafka: Any, consumes: Mapping[str, Sequence[type[EventData]]] | None = None) -> APIRouter:
    """``GET /asyncapi.json`` and ``GET /asyncapi.yaml``: the AsyncAPI document of the FastStream
    ``kafka`` router (built with ``schema_url=None``), completed by :func:`asyncapi_document`."""
    router = APIRouter(tags=["asyncapi"])
    wanted = dict(consumes or {})

    def document(request: Request) -> dict[str, Any]:
        spec = asyncapi_document(kafka.schema.to_specification().to_jsonable(), wanted)
        app = request.app
        spec["info"] = {"title": app.title, "version": app.version, "description": app.description}
        return spec

    @router.get(
        "/asyncapi.json",
        response_class=JSONResponse,
        responses={200: {"description": "The AsyncAPI 3.0 document (JSON)",
                         "content": {"application/json": {"schema": _DOCUMENT_SCHEMA}}}},
    )
    def asyncapi_json(request: Request) -> JSONResponse:
        """This service's Kafka events: what it publishes and consumes, with their payloads."""
        return JSONResponse(document(request))

    @router.get(
        "/asyncapi.yaml",
        response_class=YamlResponse,
        responses={200: {"description": "The AsyncAPI 3.0 document (YAML)",
                         "content": {"application/yaml": {"schema": _DOCUMENT_SCHEMA}}}},
    )
    def asyncapi_yaml(request: Request) -> YamlResponse:
        """The same document as ``/asyncapi.json``, in YAML."""
        return YamlResponse(yaml.safe_dump(document(request), sort_keys=False, allow_unicode=True))

    return router

"""Every service's OpenAPI and AsyncAPI documents state what the service does (issue 6, item 16).

Read from the running test stack (each service's own port), as a client's tooling would:

- every operation behind the bearer token declares 401 (with ``WWW-Authenticate``); every one
  with a body declares 400 (undecodable) and 422; every refusal other than 422 has the one error
  model ``{"detail": {"code", "message"}}``; meeting ids carry the shared pattern;
- the input rules are the real ones (display name 1–80, email format, password 8–1024,
  ``scheduled_start`` an RFC 3339 date-time in the years 2000–2999, not-blank text);
- each AsyncAPI document lists every event the service publishes or consumes, each with its
  CloudEvents envelope and payload schema (no ``EmptyPayload``), and no page loads anything
  from another host.
"""

from __future__ import annotations

import json

import httpx
import pytest

from parley_events import (
    CALL_EVENTS,
    LOBBY_EVENTS,
    LobbyAdmitted,
    MeetingRoleChanged,
    ParticipantRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyUsed,
    ChatMessagePosted,
    ContactAccepted,
    ContactDeclined,
    ContactInvited,
    ContactRemoved,
    DmConversationRead,
    DmMessagePosted,
    MeetingCreated,
    MeetingJoined,
    MeetingCancelled,
    MeetingEnded,
    MeetingExpired,
    MeetingRescheduled,
    MeetingUpdated,
    ParticipantJoined,
    ParticipantLeft,
    PresenceChanged,
    PresenceReplicaLost,
    PresenceSocket,
    SessionActive,
    SessionRevoked,
    UserBlocked,
    UserRegistered,
    UserUnblocked,
)
from parley_meetings.api.schemas import RFC3339_PATTERN
from parley_security import MEETING_ID_PATTERN, NOT_BLANK_PATTERN
from parley_testing import Stack

pytestmark = pytest.mark.e2e

OPENAPI_SERVICES = ("auth", "meetings", "chat", "turn-config", "signaling-1")
ERROR_REF = "#/components/schemas/ErrorResponse"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def _openapi(stack: Stack, name: str) -> dict:
    response = httpx.get(f"{stack.service_url(name)}/openapi.json", timeout=10)
    assert response.status_code == 200, name
    return response.json()


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.fixture(scope="module")
def documents(stack: Stack) -> dict[str, dict]:
    return {name: _openapi(stack, name) for name in OPENAPI_SERVICES}


def test_each_document_says_what_the_service_is_and_each_operation_what_it_does(documents) -> None:
    for name, doc in documents.items():
        assert doc["info"].get("description", "").strip(), name
        for path, method, operation in _operations(doc):
            assert operation.get("description") or operation.get("summary"), (name, method, path)


def test_every_bearer_operation_declares_401_with_the_error_model(documents) -> None:
    checked = 0
    for name, doc in documents.items():
        for path, method, operation in _operations(doc):
            if not any("HTTPBearer" in requirement for requirement in operation.get("security", [])):
                continue
            checked += 1
            answer = operation["responses"].get("401")
            assert answer, f"{name}: {method.upper()} {path} does not declare 401"
            assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, (name, path)
            assert "WWW-Authenticate" in answer.get("headers", {}), (name, path)
    assert checked >= 12  # meetings 7, chat 4, turn 1, auth /me


def test_bodies_declare_400_and_422_and_every_refusal_uses_the_error_model(documents) -> None:
    for name, doc in documents.items():
        for path, method, operation in _operations(doc):
            responses = operation["responses"]
            if "requestBody" in operation:
                assert "400" in responses and "422" in responses, (name, method, path)
            for status, answer in responses.items():
                # /readyz's 503 is its readiness report, not a refusal
                if status.startswith(("4", "5")) and status != "422" and path != "/readyz":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": ERROR_REF}, (name, method, path, status)
        error = doc.get("components", {}).get("schemas", {}).get("ErrorResponse")
        if error:
            assert error["properties"]["detail"] == {"$ref": "#/components/schemas/ErrorBody"}, name


def test_refusals_each_operation_can_answer_are_declared(documents) -> None:
    meetings, chat = documents["meetings"]["paths"], documents["chat"]["paths"]
    assert {"401", "404", "410"} <= set(meetings["/api/meetings/{meeting_id}/join"]["post"]["responses"])
    assert {"401", "403", "404"} <= set(meetings["/api/meetings/{meeting_id}/end"]["post"]["responses"])
    assert {"403", "404"} <= set(meetings["/api/meetings/{meeting_id}/roster"]["get"]["responses"])
    post = chat["/api/chat/meetings/{meeting_id}/messages"]["post"]["responses"]
    assert {"200", "201", "401", "403", "404", "409", "503"} <= set(post)
    assert "Retry-After" in post["503"]["headers"]
    auth = documents["auth"]["paths"]
    assert "409" in auth["/api/auth/register"]["post"]["responses"]
    assert "401" in auth["/api/auth/login"]["post"]["responses"]
    assert "401" in auth["/api/auth/refresh"]["post"]["responses"]


def test_every_database_backed_operation_declares_503_with_retry_after(documents) -> None:
    checked = 0
    for name in ("auth", "meetings", "chat"):
        for path, method, operation in _operations(documents[name]):
            if not path.startswith("/api/"):
                continue
            checked += 1
            answer = operation["responses"].get("503")
            assert answer, f"{name}: {method.upper()} {path} does not declare 503"
            assert "Retry-After" in answer.get("headers", {}), (name, method, path)
            assert "`unavailable`" in answer["description"], (name, method, path)
    assert checked >= 15


def test_meeting_ids_carry_the_shared_pattern(documents) -> None:
    seen = 0
    for name in ("meetings", "chat"):
        for path, method, operation in _operations(documents[name]):
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "meeting_id":
                    seen += 1
                    assert parameter["schema"]["pattern"] == MEETING_ID_PATTERN, (name, path)
                    assert parameter["schema"]["maxLength"] == 128, (name, path)
    assert seen >= 9


def _schema(doc: dict, name: str) -> dict:
    return doc["components"]["schemas"][name]


def test_the_documented_input_rules_are_the_real_ones(documents) -> None:
    register = _schema(documents["auth"], "RegisterRequest")["properties"]
    assert (register["display_name"]["minLength"], register["display_name"]["maxLength"]) == (1, 80)
    assert register["display_name"]["pattern"] == NOT_BLANK_PATTERN
    assert register["email"]["format"] == "email"
    assert (register["password"]["minLength"], register["password"]["maxLength"]) == (8, 1024)
    create = _schema(documents["meetings"], "CreateMeetingRequest")["properties"]
    assert create["title"]["pattern"] == NOT_BLANK_PATTERN
    start = next(s for s in create["scheduled_start"]["anyOf"] if s.get("type") == "string")
    assert start["format"] == "date-time" and start["pattern"] == RFC3339_PATTERN
    post = _schema(documents["chat"], "PostMessageRequest")["properties"]
    assert post["text"]["pattern"] == NOT_BLANK_PATTERN


def test_an_undecodable_body_gets_400_in_the_error_shape(stack: Stack) -> None:
    response = httpx.post(f"{stack.base_url}/api/auth/login", content=b'{"email": "\xff"}',
                          headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["code"] == "invalid_body"


def test_scheduled_start_refuses_numbers_and_years_out_of_range(stack: Stack) -> None:
    import uuid

    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        email = f"sched-{uuid.uuid4().hex[:8]}@example.com"
        http.post("/api/auth/register", json={"email": email, "display_name": "S", "password": "schedule tester 12"})
        token = http.post("/api/auth/login", json={"email": email, "password": "schedule tester 12"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for bad in (0, 1700000000, "1700000000", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2030-01-01",
                    "2030-05-04T09:30Z", "2999-12-31T23:59:59-14:00"):
            response = http.post("/api/meetings", json={"title": "t", "scheduled_start": bad}, headers=auth)
            assert response.status_code == 422, (bad, response.text)
        ok = http.post("/api/meetings", json={"title": "t", "scheduled_start": "2030-05-04T09:30:00+02:00"},
                       headers=auth)
        assert ok.status_code == 201 and ok.json()["scheduled_start"].startswith("2030-05-04T07:30:00")


# AsyncAPI -------------------------------------------------------------------------------------
#: what the membership projection (chat and signaling) applies
MEMBERSHIP_EVENTS = {MeetingCreated, MeetingJoined, LobbyAdmitted, MeetingRoleChanged, ParticipantRemoved}
CONTACT_EVENTS = {ContactInvited, ContactAccepted, ContactDeclined, ContactRemoved, UserBlocked, UserUnblocked}
PUBLISHES = {
    "auth": {UserRegistered, PresenceChanged, SessionRevoked, *CONTACT_EVENTS, ApiKeyCreated, ApiKeyRevoked},
    "meetings": {
        MeetingCreated, MeetingJoined, MeetingUpdated, MeetingEnded, MeetingRescheduled, MeetingCancelled, MeetingExpired,
        *LOBBY_EVENTS, MeetingRoleChanged, ParticipantRemoved, *CALL_EVENTS, ApiKeyUsed,
    },
    "chat": {ChatMessagePosted, DmMessagePosted, DmConversationRead},
    "signaling-1": {ParticipantJoined, ParticipantLeft, PresenceSocket, PresenceReplicaLost, SessionActive},
    "turn-config": set(),
}
CONSUMES = {
    # the presence projection, the lease's heartbeats, the revoked-session projection (as every
    # token verifier), the keys' last use, and the guest projection (which meetings allow guests)
    "auth": {
        PresenceSocket, PresenceReplicaLost, SessionActive, SessionRevoked, ApiKeyUsed,
        MeetingCreated, MeetingUpdated, MeetingEnded, MeetingCancelled, MeetingExpired,
    },
    # the roster; its own meeting.* events, which drop a replica's cached summaries; the
    # contact projection (who may call whom); the revoked-session projection; the API keys' projection;
    # the webhook dispatcher (meeting.*, participant.* and chat.message.posted)
    "meetings": {
        ParticipantJoined, ParticipantLeft, MeetingCreated, MeetingJoined, MeetingUpdated, MeetingEnded, MeetingRescheduled,
        MeetingCancelled, MeetingExpired, *LOBBY_EVENTS, MeetingRoleChanged, ParticipantRemoved,
        SessionRevoked, *CONTACT_EVENTS, ApiKeyCreated, ApiKeyRevoked, ChatMessagePosted,
    },
    # the membership projection; the revoked-session projection; the contact projection (who may message whom)
    "chat": {
        *MEMBERSHIP_EVENTS, MeetingEnded, MeetingCancelled, MeetingExpired, SessionRevoked, *CONTACT_EVENTS,
    },
    # the membership projection; the lobby, co-hosts, removals and settings to the room's sockets
    "signaling-1": {
        *MEMBERSHIP_EVENTS, MeetingEnded, MeetingCancelled, MeetingExpired, *LOBBY_EVENTS, MeetingUpdated,
        ChatMessagePosted, PresenceChanged,
        *CONTACT_EVENTS, SessionRevoked, *CALL_EVENTS, DmMessagePosted, DmConversationRead,
    },
    # the revoked-session projection only
    "turn-config": {SessionRevoked},
}


def _asyncapi(stack: Stack, name: str) -> dict:
    response = httpx.get(f"{stack.service_url(name)}/asyncapi.json", timeout=10)
    assert response.status_code == 200, name
    return response.json()


def _resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("%20", " ")]
    return node


@pytest.mark.parametrize("name", sorted(PUBLISHES))
def test_asyncapi_lists_every_event_published_or_consumed_with_its_payload(stack: Stack, name: str) -> None:
    doc = _asyncapi(stack, name)
    assert doc["asyncapi"].startswith("3.")
    assert doc["info"]["title"] == f"Parley {name.removesuffix('-1')}"
    found: dict[str, set[str]] = {"send": set(), "receive": set()}
    for operation in doc["operations"].values():
        for ref in operation["messages"]:
            message = _resolve(doc, _resolve(doc, ref["$ref"])["$ref"])
            payload = _resolve(doc, message["payload"]["$ref"])
            props = payload["properties"]
            assert {"specversion", "id", "source", "type", "subject", "time", "data"} <= set(props), payload
            data = _resolve(doc, props["data"]["$ref"])
            assert data["properties"], (name, message)
            found[operation["action"]].add(props["type"]["const"])
    assert found["send"] == {e.event_type for e in PUBLISHES[name]}, name
    assert found["receive"] == {e.event_type for e in CONSUMES[name]}, name
    assert "EmptyPayload" not in json.dumps(doc)


@pytest.mark.parametrize("name", sorted(PUBLISHES))
def test_asyncapi_is_served_without_any_cdn(stack: Stack, name: str) -> None:
    url = stack.service_url(name)
    yaml_doc = httpx.get(f"{url}/asyncapi.yaml", timeout=10)
    assert yaml_doc.status_code == 200 and yaml_doc.headers["content-type"].startswith("application/yaml")
    assert "asyncapi: 3." in yaml_doc.text
    # no HTML viewer pulling scripts from a CDN, no "try it out" publisher
    assert httpx.get(f"{url}/asyncapi", timeout=10).status_code == 404
    assert httpx.post(f"{url}/asyncapi/try", json={}, timeout=10).status_code in (404, 405)
    for doc_text in (yaml_doc.text, json.dumps(_asyncapi(stack, name))):
        assert "unpkg.com" not in doc_text and "jsdelivr" not in doc_text

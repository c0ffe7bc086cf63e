"""Contacts and presence in auth, against the real FerretDB and Kafka of the test stack (app in-process)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from parley_events import (
    ContactAccepted,
    ContactInvited,
    PresenceChanged,
    PresenceReplicaLost,
    PresenceSocket,
    UserBlocked,
    OutgoingEvent,
    encode,
)
from parley_events.topics import CONTACTS, PRESENCE
from parley_testing import Stack, TopicTail, tail_topic

pytestmark = pytest.mark.integration

PASSWORD = "analytical engine"


class Person:
    def __init__(self, user: dict, token: str) -> None:
        self.user_id: str = user["user_id"]
        self.email: str = user["email"]
        self.headers = {"Authorization": f"Bearer {token}"}


async def _person(client: httpx.AsyncClient, name: str, unique: str) -> Person:
    email = f"{name.split()[0].lower()}-{unique}@example.com"
    response = await client.post("/api/auth/register", json={"email": email, "display_name": name, "password": PASSWORD})
    assert response.status_code == 201, response.text
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return Person(login.json()["user"], login.json()["access_token"])


@pytest.fixture
async def people(client: httpx.AsyncClient, unique_name: str) -> tuple[Person, Person, Person]:
    return (
        await _person(client, "Ada Lovelace", unique_name),
        await _person(client, "Bob Babbage", unique_name),
        await _person(client, "Cy Young", unique_name),
    )


@pytest.fixture
async def contacts_topic(stack: Stack) -> AsyncIterator[TopicTail]:
    async with tail_topic(stack.kafka_bootstrap_servers, CONTACTS.name) as tail:
        yield tail


async def _list(client: httpx.AsyncClient, person: Person, q: str | None = None) -> dict:
    response = await client.get("/api/auth/contacts", params={"q": q} if q else None, headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]["code"]


async def test_invite_accept_list_and_events(
    client: httpx.AsyncClient, people: tuple[Person, Person, Person], contacts_topic: TopicTail
) -> None:
    ada, bob, _ = people
    invited = await client.post("/api/auth/contacts/invitations", json={"email": bob.email.upper()}, headers=ada.headers)
    assert invited.status_code == 201, invited.text
    contact_id = invited.json()["contact_id"]
    assert invited.json()["relation"] == "outgoing"
    assert invited.json()["user"]["user_id"] == bob.user_id
    # no contact without consent: neither lists the other as a contact yet
    assert (await _list(client, ada))["contacts"] == []
    bobs = await _list(client, bob)
    assert bobs["contacts"] == []
    assert [(c["contact_id"], c["relation"], c["user"]["display_name"]) for c in bobs["incoming"]] == [
        (contact_id, "incoming", "Ada Lovelace")
    ]
    again = await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)
    assert again.status_code == 200 and again.json()["contact_id"] == contact_id

    accepted = await client.post(f"/api/auth/contacts/{contact_id}/accept", headers=bob.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["relation"] == "accepted"
    adas = await _list(client, ada)
    assert [(c["user"]["user_id"], c["presence"]) for c in adas["contacts"]] == [
        (bob.user_id, {"state": "offline", "last_seen": None})
    ]
    assert adas["outgoing"] == [] and (await _list(client, bob))["incoming"] == []

    events = await contacts_topic.events(subject=contact_id, count=2)
    assert [type(e.data) for e in events] == [ContactInvited, ContactAccepted]
    assert (events[0].data.user_id, events[0].data.other_user_id) == (ada.user_id, bob.user_id)
    assert (events[1].data.user_id, events[1].data.other_user_id) == (bob.user_id, ada.user_id)


async def test_rest_errors(client: httpx.AsyncClient, people: tuple[Person, Person, Person]) -> None:
    ada, bob, cy = people
    unknown = await client.post("/api/auth/contacts/invitations", json={"email": "nobody@example.com"}, headers=ada.headers)
    assert _error(unknown) == (404, "user_not_found")
    self_invite = await client.post("/api/auth/contacts/invitations", json={"email": ada.email}, headers=ada.headers)
    assert _error(self_invite) == (409, "cannot_invite_self")
    not_email = await client.post("/api/auth/contacts/invitations", json={"email": "nope"}, headers=ada.headers)
    assert not_email.status_code == 422
    anonymous = await client.post("/api/auth/contacts/invitations", json={"email": bob.email})
    assert anonymous.status_code == 401

    contact_id = (await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)).json()["contact_id"]
    # not yours: a third user cannot accept, decline or remove it; the inviter cannot accept their own
    assert _error(await client.post(f"/api/auth/contacts/{contact_id}/accept", headers=cy.headers)) == (404, "invitation_not_found")
    assert _error(await client.post(f"/api/auth/contacts/{contact_id}/decline", headers=cy.headers)) == (404, "invitation_not_found")
    assert _error(await client.post(f"/api/auth/contacts/{contact_id}/accept", headers=ada.headers)) == (404, "invitation_not_found")
    assert _error(await client.delete(f"/api/auth/contacts/{contact_id}", headers=ada.headers)) == (404, "contact_not_found")
    assert (await client.post(f"/api/auth/contacts/{contact_id}/accept", headers=bob.headers)).status_code == 200
    assert _error(await client.delete(f"/api/auth/contacts/{contact_id}", headers=cy.headers)) == (404, "contact_not_found")
    assert (await client.get(f"/api/auth/contacts/{contact_id}/accept", headers=ada.headers)).status_code == 405
    # the literal routes are never taken for a contact id: an undeclared method there is 405
    assert (await client.delete("/api/auth/contacts/blocks", headers=ada.headers)).status_code == 405
    assert (await client.delete("/api/auth/contacts/invitations", headers=ada.headers)).status_code == 405

    # blocked: Bob blocks Ada; the contact ends, Ada cannot invite Bob, Bob must unblock first
    assert (await client.post("/api/auth/contacts/blocks", json={"user_id": ada.user_id}, headers=bob.headers)).status_code == 204
    assert (await _list(client, ada))["contacts"] == []
    assert [u["user_id"] for u in (await _list(client, bob))["blocked"]] == [ada.user_id]
    blocked = await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)
    assert _error(blocked) == (403, "blocked")
    blocker = await client.post("/api/auth/contacts/invitations", json={"email": ada.email}, headers=bob.headers)
    assert _error(blocker) == (409, "you_block_this_user")
    assert _error(await client.post("/api/auth/contacts/blocks", json={"user_id": bob.user_id}, headers=bob.headers)) == (
        409,
        "cannot_block_self",
    )
    assert _error(await client.post("/api/auth/contacts/blocks", json={"user_id": "nobody"}, headers=bob.headers)) == (
        404,
        "user_not_found",
    )
    assert (await client.delete(f"/api/auth/contacts/blocks/{ada.user_id}", headers=bob.headers)).status_code == 204
    assert (await _list(client, bob))["blocked"] == []
    assert (await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)).status_code == 201


async def test_decline_withdraw_remove_search(client: httpx.AsyncClient, people: tuple[Person, Person, Person]) -> None:
    ada, bob, cy = people
    to_bob = (await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)).json()
    assert (await client.post(f"/api/auth/contacts/{to_bob['contact_id']}/decline", headers=bob.headers)).status_code == 204
    assert (await _list(client, ada))["outgoing"] == []
    to_cy = (await client.post("/api/auth/contacts/invitations", json={"email": cy.email}, headers=ada.headers)).json()
    assert (await client.post(f"/api/auth/contacts/{to_cy['contact_id']}/decline", headers=ada.headers)).status_code == 204
    assert (await _list(client, cy))["incoming"] == []
    # an invitation crossing one already received accepts it
    await client.post("/api/auth/contacts/invitations", json={"email": ada.email}, headers=bob.headers)
    crossed = await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)
    assert crossed.status_code == 201 and crossed.json()["relation"] == "accepted"
    await client.post("/api/auth/contacts/invitations", json={"email": cy.email}, headers=ada.headers)
    cy_id = (await _list(client, cy))["incoming"][0]["contact_id"]
    await client.post(f"/api/auth/contacts/{cy_id}/accept", headers=cy.headers)

    assert [c["user"]["display_name"] for c in (await _list(client, ada))["contacts"]] == ["Bob Babbage", "Cy Young"]
    assert [c["user"]["display_name"] for c in (await _list(client, ada, "bab"))["contacts"]] == ["Bob Babbage"]
    assert [c["user"]["display_name"] for c in (await _list(client, ada, "CY"))["contacts"]] == ["Cy Young"]
    assert [c["user"]["display_name"] for c in (await _list(client, ada, bob.email[:5]))["contacts"]] == ["Bob Babbage"]
    assert (await _list(client, ada, "zz"))["contacts"] == []

    assert (await client.delete(f"/api/auth/contacts/{crossed.json()['contact_id']}", headers=bob.headers)).status_code == 204
    assert [c["user"]["display_name"] for c in (await _list(client, ada))["contacts"]] == ["Cy Young"]
    assert (await _list(client, bob))["contacts"] == []


async def _until(check, timeout: float = 30.0):  # noqa: ANN001, ANN202
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.1)


async def test_presence_projection_from_kafka(
    client: httpx.AsyncClient, people: tuple[Person, Person, Person], stack: Stack, db: AsyncDatabase
) -> None:
    """Signaling's presence records on Kafka become the contacts' presence in the list, and
    ``presence.changed`` (with the watchers) for each change of a user's state; a replica
    loss takes that replica's sockets offline, and a stale record of it changes nothing."""
    ada, bob, cy = people
    contact_id = (await client.post("/api/auth/contacts/invitations", json={"email": bob.email}, headers=ada.headers)).json()["contact_id"]
    await client.post(f"/api/auth/contacts/{contact_id}/accept", headers=bob.headers)
    # Cy blocks Bob: Cy never watches Bob's presence
    await client.post("/api/auth/contacts/blocks", json={"user_id": bob.user_id}, headers=cy.headers)
    replica = f"r-{ada.user_id[:8]}"
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers, acks="all")
    await producer.start()

    async def publish(event: OutgoingEvent) -> None:
        await producer.send_and_wait(event.topic, event.value, key=event.key, headers=list(event.headers.items()))

    def socket(sid: str, state: str, at: datetime, meeting_id: str | None = None) -> PresenceSocket:
        return PresenceSocket(user_id=bob.user_id, sid=sid, replica_id=replica, state=state, meeting_id=meeting_id, at=at)

    async def bobs_presence() -> dict:
        return (await _list(client, ada))["contacts"][0]["presence"]

    async with tail_topic(stack.kafka_bootstrap_servers, PRESENCE.name) as presence_topic:
        try:
            await publish(encode(socket("s1", "online", now), source="/test"))
            await _until(lambda: _state_is(bobs_presence, "online"))
            await publish(encode(socket("s2", "in_call", now + timedelta(seconds=1), "m1"), source="/test"))
            await _until(lambda: _state_is(bobs_presence, "in_call"))
            await publish(encode(socket("s2", "offline", now + timedelta(seconds=2)), source="/test"))
            await _until(lambda: _state_is(bobs_presence, "online"))
            lost_at = now + timedelta(seconds=3)
            await publish(encode(PresenceReplicaLost(replica_id=replica, reason="silent", lost_at=lost_at), source="/test"))
            presence = await _until(lambda: _state_is(bobs_presence, "offline"))
            assert datetime.fromisoformat(presence["last_seen"]) == lost_at.replace(microsecond=lost_at.microsecond // 1000 * 1000)
            # a record of the lost replica from before the loss, read late, is stale
            await publish(encode(socket("s3", "online", now + timedelta(seconds=2.5)), source="/test"))
            await publish(encode(socket("s4", "online", now + timedelta(seconds=4)), source="/test"))
            # s4 is after the loss: a restarted replica's socket
            await _until(lambda: _state_is(bobs_presence, "online"))
            doc = await db.presence.find_one({"_id": bob.user_id})
            assert [s["sid"] for s in doc["sockets"]] == ["s4"]

            # (the test stack's own auth replicas read these records too, for a user they do
            # not know: their presence.changed has no watchers)
            def ours(found: list) -> list:
                return [
                    e for e in found
                    if isinstance(e.data, PresenceChanged) and e.subject == bob.user_id and e.data.watchers
                ]

            changes = ours(await presence_topic.events_until(lambda found: len(ours(found)) >= 5))
            assert [(type(e.data), e.data.state) for e in changes] == [
                (PresenceChanged, "online"),
                (PresenceChanged, "in_call"),
                (PresenceChanged, "online"),
                (PresenceChanged, "offline"),
                (PresenceChanged, "online"),
            ]
            # Cy blocks Bob, Ada is Bob's only contact
            assert all(e.data.watchers == [ada.user_id] for e in changes)
        finally:
            await producer.stop()


async def _state_is(read, state: str):  # noqa: ANN001, ANN202
    presence = await read()
    return presence if presence["state"] == state else None


async def test_block_event_on_topic(
    client: httpx.AsyncClient, people: tuple[Person, Person, Person], contacts_topic: TopicTail
) -> None:
    ada, bob, _ = people
    assert (await client.post("/api/auth/contacts/blocks", json={"user_id": bob.user_id}, headers=ada.headers)).status_code == 204
    assert (await client.post("/api/auth/contacts/blocks", json={"user_id": bob.user_id}, headers=ada.headers)).status_code == 204
    (event,) = await contacts_topic.events(subject=":".join(sorted((ada.user_id, bob.user_id))))
    assert isinstance(event.data, UserBlocked)
    assert (event.data.user_id, event.data.other_user_id) == (ada.user_id, bob.user_id)

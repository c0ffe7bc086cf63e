"""Private notes against the real FerretDB (and Kafka, which they must not touch)."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from parley_events.topics import CHAT
from parley_testing import BAD_AUTHORIZATIONS, bad_authorization, tail_topic

pytestmark = pytest.mark.integration


async def test_save_and_read_back(client, stack, room) -> None:
    before = await client.get_notes("bob", room)
    assert before.status_code == 200, before.text
    assert before.json() == {"meeting_id": room, "text": "", "updated_at": None}

    async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
        saved = await client.put_notes("bob", room, "Action items:\n- ship it ✓")
        events = await tail.events(subject=room, timeout_s=1.5)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["meeting_id"] == room and body["text"] == "Action items:\n- ship it ✓"
    updated_at = datetime.fromisoformat(body["updated_at"])
    assert abs(updated_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert events == []  # notes are private: nothing published

    assert (await client.get_notes("bob", room)).json() == body

    await asyncio.sleep(0.01)
    again = (await client.put_notes("bob", room, "rewritten")).json()
    assert again["text"] == "rewritten"
    assert datetime.fromisoformat(again["updated_at"]) > updated_at
    assert (await client.get_notes("bob", room)).json() == again

    docs = [doc async for doc in client.notes_collection().find({})]
    assert len(docs) == 1
    assert docs[0]["_id"] == f"{room}:bob"
    assert (docs[0]["meeting_id"], docs[0]["owner_id"], docs[0]["text"]) == (room, "bob", "rewritten")
    assert "outbox" not in docs[0]
    assert await client.collection().count_documents({}) == 0

    cleared = await client.put_notes("bob", room, "")
    assert cleared.status_code == 200 and cleared.json()["text"] == ""


async def test_another_user_never_sees_my_notes(client, room) -> None:
    mine = await client.put_notes("bob", room, "bob's private thoughts")
    assert mine.status_code == 200

    theirs = await client.get_notes("alice", room)
    assert theirs.status_code == 200
    assert theirs.json() == {"meeting_id": room, "text": "", "updated_at": None}

    assert (await client.put_notes("alice", room, "alice's")).status_code == 200
    assert (await client.get_notes("bob", room)).json() == mine.json()
    assert (await client.get_notes("alice", room)).json()["text"] == "alice's"
    assert await client.notes_collection().count_documents({}) == 2


async def test_non_participants_get_403_and_nothing_is_stored(client, room) -> None:
    await client.put_notes("bob", room, "bob's")
    for response in (await client.put_notes("mallory", room, "let me in"), await client.get_notes("mallory", room)):
        assert response.status_code == 403
        assert response.json()["detail"]["code"] == "not_a_participant"
    for response in (
        await client.put_notes("bob", "no-such-meeting", "hello?"),
        await client.get_notes("bob", "no-such-meeting"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "meeting_not_found"
    # alice has not been asked about yet, so only meetings can answer for her (bob's membership,
    # learned from meetings' answer above, is the projection's once it is warm)
    client.meetings.down = True
    down = await client.put_notes("alice", room, "while down")
    assert down.status_code == 503 and down.json()["detail"]["code"] == "unavailable"
    assert (await client.get_notes("alice", room)).status_code == 503
    client.meetings.down = False

    assert [doc["_id"] async for doc in client.notes_collection().find({})] == [f"{room}:bob"]
    assert (await client.get_notes("bob", room)).json()["text"] == "bob's"


async def test_notes_stay_writable_after_the_meeting_ended(client, room) -> None:
    client.meetings.ended.add(room)
    assert (await client.put_notes("alice", room, "follow-up")).status_code == 200
    assert (await client.get_notes("alice", room)).json()["text"] == "follow-up"


@pytest.mark.parametrize(
    "body",
    [{"text": "x" * 20001}, {}, {"text": None}, {"text": 42}, {"text": "ok", "owner_id": "alice"}],
    ids=["too-long", "missing", "null", "number", "extra-field"],
)
async def test_bad_bodies_get_422_and_leave_the_old_text(client, room, body) -> None:
    saved = (await client.put_notes("bob", room, "the old text")).json()
    requests_before = len(client.meetings.requests)
    response = await client.http.put(f"/api/chat/meetings/{room}/notes", json=body, headers=client.auth("bob"))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    # Refused before meetings was asked. (Whether the GET asks depends on whether the
    # membership projection is warm yet, so it is not counted.)
    assert len(client.meetings.requests) == requests_before
    assert (await client.get_notes("bob", room)).json() == saved


async def test_the_longest_notes_fit(client, room) -> None:
    text = "é" * 20000
    response = await client.put_notes("bob", room, text)
    assert response.status_code == 200
    assert (await client.get_notes("bob", room)).json()["text"] == text


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
async def test_notes_need_a_valid_token(client, room, case) -> None:
    headers = bad_authorization(client.issuer, case, "bob")
    path = f"/api/chat/meetings/{room}/notes"
    for response in (
        await client.http.get(path, headers=headers),
        await client.http.put(path, json={"text": "sneaky"}, headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert await client.notes_collection().count_documents({}) == 0
    assert client.meetings.requests == []


async def test_concurrent_saves_end_with_one_of_them_whole(client, room) -> None:
    texts = [f"version {i} " * 50 for i in range(10)]
    responses = await asyncio.gather(*(client.put_notes("bob", room, t) for t in texts))
    assert all(r.status_code == 200 for r in responses)
    final = (await client.get_notes("bob", room)).json()
    assert final["text"] in texts
    assert await client.notes_collection().count_documents({}) == 1


async def test_notes_metric(client, room) -> None:
    await client.put_notes("bob", room, "one")
    await client.put_notes("mallory", room, "refused")
    text = (await client.http.get("/metrics")).text
    assert "parley_chat_notes_saved_total 1.0" in text
    assert 'route="/api/chat/meetings/{meeting_id}/notes"' in text
    assert room not in text

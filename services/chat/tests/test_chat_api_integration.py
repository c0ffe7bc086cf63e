"""The chat HTTP API against the real FerretDB and Kafka; meetings answered by a MockTransport."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from parley_chat.domain.models import Message
from parley_chat.repository import MessageRepository
from parley_events import ChatMessagePosted
from parley_events.topics import CHAT
from parley_testing import BAD_AUTHORIZATIONS, bad_authorization, drop_database, tail_topic

pytestmark = pytest.mark.integration


async def test_post_stores_the_message_and_publishes_chat_message_posted(client, stack, room) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
        response = await client.post("bob", room, "msg-0001", "Hello, world")
        events = await tail.events(subject=room)

    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("message_id", "meeting_id", "sender_id", "sender_name", "text")} == {
        "message_id": "msg-0001", "meeting_id": room, "sender_id": "bob", "sender_name": "Bob", "text": "Hello, world",
    }
    posted_at = datetime.fromisoformat(body["posted_at"])
    assert abs(posted_at - datetime.now(UTC)) < timedelta(minutes=1)

    assert len(events) == 1
    event = events[0]
    assert event.type == "parley.chat.message.posted.v1"
    assert event.source == "/parley/chat"
    assert isinstance(event.data, ChatMessagePosted)
    assert event.data.model_dump() == {**body, "posted_at": posted_at}

    # meetings was asked with the user's own token
    asked = client.meetings.requests[-1]
    assert asked.url.path == f"/api/meetings/{room}/membership"
    assert asked.headers["authorization"].startswith("Bearer ")


async def test_the_name_chosen_for_the_meeting_is_the_senders_name_in_history(client, room) -> None:
    """``sender_name``: the name chosen on the pre-join (trimmed), not the account's; blank,
    too long or NUL is a 422; absent: the token's name."""
    chosen = await client.post("bob", room, "named-0001", "hi", sender_name="  Robert (guest room)  ")
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["sender_name"] == "Robert (guest room)"
    plain = await client.post("bob", room, "named-0002", "hi again")
    assert plain.json()["sender_name"] == "Bob"
    for bad in ("   ", "x" * 81, "nul\u0000", 7):
        refused = await client.post("bob", room, "named-0003", "no", sender_name=bad)
        assert refused.status_code == 422, (bad, refused.text)
    history = (await client.history("bob", room)).json()["messages"]
    assert [m["sender_name"] for m in history] == ["Bob", "Robert (guest room)"]


async def test_a_retry_with_the_same_text_returns_the_stored_message_once(client, stack, room) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
        first = await client.post("bob", room, "retry-0001", "once")
        second = await client.post("bob", room, "retry-0001", "once")
        events = await tail.events(subject=room, count=2, timeout_s=2)

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert len(events) == 1
    assert await client.collection().count_documents({}) == 1


async def test_the_same_message_id_for_something_else_is_a_conflict(client, stack, room) -> None:
    first = await client.post("bob", room, "conflict-01", "original")
    await client.outbox_drained()
    async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
        other_text = await client.post("bob", room, "conflict-01", "changed")
        other_sender = await client.post("alice", room, "conflict-01", "original")
        events = await tail.events(subject=room, timeout_s=1.5)

    for response in (other_text, other_sender):
        assert response.status_code == 409
        assert response.json()["detail"]["code"] == "message_id_conflict"
    assert events == []
    docs = [doc async for doc in client.collection().find({})]
    assert len(docs) == 1
    assert docs[0]["text"] == "original" and docs[0]["sender_id"] == "bob"
    history = await client.history("alice", room)
    assert history.json()["messages"] == [first.json()]


async def test_non_participants_are_refused_nothing_stored_nothing_published(client, stack, room) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
        stranger = await client.post("mallory", room, "intrude-01", "let me in")
        events = await tail.events(subject=room, timeout_s=1.5)

    assert stranger.status_code == 403
    assert stranger.json()["detail"]["code"] == "not_a_participant"
    assert events == []
    assert await client.collection().count_documents({}) == 0

    reading = await client.history("mallory", room)
    assert reading.status_code == 403
    assert reading.json()["detail"]["code"] == "not_a_participant"

    for response in (
        await client.post("bob", "no-such-meeting", "nowhere-01", "hello?"),
        await client.history("bob", "no-such-meeting"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "meeting_not_found"
    assert await client.collection().count_documents({}) == 0


async def test_meetings_down_is_503_and_nothing_stored(client, room) -> None:
    client.meetings.down = True
    response = await client.post("bob", room, "while-down", "hello")
    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "unavailable"
    assert (await client.history("bob", room)).status_code == 503
    assert await client.collection().count_documents({}) == 0
    client.meetings.down = False
    assert (await client.post("bob", room, "while-down", "hello")).status_code == 201


async def test_chat_stays_open_after_the_meeting_ended(client, room) -> None:
    await client.post("alice", room, "during-001", "see you")
    client.meetings.ended.add(room)
    after = await client.post("bob", room, "after-0001", "bye")
    assert after.status_code == 201
    history = await client.history("alice", room)
    assert [m["message_id"] for m in history.json()["messages"]] == ["after-0001", "during-001"]


async def test_history_is_newest_first_and_pages_with_a_cursor(client, room) -> None:
    posted = []
    for i in range(8):
        response = await client.post("alice" if i % 2 else "bob", room, f"page-msg-{i:02d}", f"message {i}")
        assert response.status_code == 201
        posted.append(response.json())

    everything = (await client.history("bob", room, limit=100)).json()
    assert everything["next_cursor"] is None
    assert [m["message_id"] for m in everything["messages"]] == [m["message_id"] for m in reversed(posted)]

    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"before": cursor} if cursor else {})}
        response = await client.history("bob", room, **params)
        assert response.status_code == 200
        page = response.json()
        pages.append(page["messages"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [m for p in pages for m in p] == everything["messages"]

    default = (await client.history("bob", room)).json()
    assert len(default["messages"]) == 8 and default["next_cursor"] is None


async def test_concurrent_posts_take_every_seq_once_and_pages_have_no_gap_nor_duplicate(stack, mongo, unique_name) -> None:
    repo = MessageRepository(mongo[unique_name])
    await repo.ensure_indexes()
    same = datetime(2030, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)  # one posted_at for all: seq alone orders

    async def post(i: int) -> Message | None:
        message = Message(message_id=f"conc-{i:04d}", meeting_id="m", sender_id="u", sender_name="U", text="t", posted_at=same)
        return await repo.insert(message)

    try:
        stored = []
        for start in range(0, 130, 10):  # ten posts at a time, as two busy replicas may take them
            stored += [m for m in await asyncio.gather(*(post(i) for i in range(start, start + 10))) if m]
        assert sorted(m.seq for m in stored) == list(range(1, 131))  # 3 blocks of 50, no gap, no repeat
        assert await post(7) is None  # a retry stores nothing
        assert await repo.messages.count_documents({}) == 130
        by_seq = {m.seq: m.message_id for m in stored}

        for limit in (1, 7, 50, 100):
            seen, before = [], None
            while True:
                rows = await repo.page("m", limit=limit, before=before)
                if not rows:
                    break
                assert len(rows) == min(limit, rows[0].seq)
                seen += [m.seq for m in rows]
                before = rows[-1].seq
            assert seen == list(range(130, 0, -1)), limit
            assert [m.message_id for m in await repo.page("m", limit=limit, before=None)] == [
                by_seq[s] for s in range(130, 130 - limit, -1)
            ]

        # a head that lags behind the stored messages (a crash between the two writes)
        await repo.heads.update_one({"_id": "m"}, {"$set": {"seq": 128}})
        assert [m.seq for m in await repo.page("m", limit=3, before=None)] == [130, 129, 128]
        again = await post(500)
        assert again is not None and again.seq == 131  # the next post steps past the lag
        assert await repo.head("m") == 131
    finally:
        await drop_database(mongo, unique_name)


async def test_posts_queued_while_an_insert_runs_are_inserted_before_one_head_write(stack, mongo, unique_name) -> None:
    repo = MessageRepository(mongo[unique_name])
    await repo.ensure_indexes()
    inserted, heads = [], []
    first_running, release = asyncio.Event(), asyncio.Event()
    insert, advance_head = repo._insert, repo._advance_head  # noqa: SLF001 - counted and held below

    async def held_insert(meeting_id: str, batch: list) -> list:
        inserted.append(len(batch))
        if len(inserted) == 1:
            first_running.set()
            await release.wait()
        return await insert(meeting_id, batch)

    async def counted_head(meeting_id: str, seq: int) -> None:
        heads.append(seq)
        await advance_head(meeting_id, seq)

    repo._insert, repo._advance_head = held_insert, counted_head  # type: ignore[method-assign]

    def post(i: int) -> "asyncio.Task[Message | None]":
        message = Message(message_id=f"held-{i}", meeting_id="m", sender_id="u", sender_name="U", text="t",
                          posted_at=datetime.now(UTC))
        return asyncio.create_task(repo.insert(message))

    try:
        first = post(0)
        await first_running.wait()
        rest = [post(i) for i in range(1, 5)]  # queued while the first insert runs
        await asyncio.sleep(0.05)
        assert not first.done()  # answered only once the head covers it
        release.set()
        stored = await asyncio.gather(first, *rest)
        assert [m.seq for m in stored if m] == [1, 2, 3, 4, 5]
        assert inserted == [1, 4] and heads == [5]  # two inserts, one head write
        assert await repo.head("m") == 5
    finally:
        await drop_database(mongo, unique_name)


async def test_messages_stored_before_seq_are_numbered_in_their_former_order(stack, mongo, unique_name) -> None:
    database = mongo[unique_name]
    start = datetime(2030, 1, 1, tzinfo=UTC)
    legacy = [
        {"_id": f"m:old-{i}", "meeting_id": "m", "message_id": f"old-{i}", "sender_id": "u", "sender_name": "U",
         "text": str(i), "posted_at": start + timedelta(seconds=-i), "outbox": []}
        for i in range(4)
    ]
    await database["messages"].insert_many(legacy)
    try:
        repo = MessageRepository(database)
        await repo.ensure_indexes()
        assert [m.message_id for m in await repo.page("m", limit=10, before=None)] == ["old-0", "old-1", "old-2", "old-3"]
        stored = await repo.insert(
            Message(message_id="new-0001", meeting_id="m", sender_id="u", sender_name="U", text="n", posted_at=start),
        )
        assert stored is not None and stored.seq == 5
    finally:
        await drop_database(mongo, unique_name)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message_id": "short", "text": "hi"},
        {"message_id": "x" * 65, "text": "hi"},
        {"message_id": "has spaces!", "text": "hi"},
        {"message_id": "valid-id-01", "text": ""},
        {"message_id": "valid-id-01", "text": "   "},
        {"message_id": "valid-id-01", "text": "x" * 4001},
        {"message_id": "valid-id-01"},
        {"message_id": 12345678, "text": "hi"},
        {"message_id": "valid-id-01", "text": "hi", "extra": 1},
    ],
)
async def test_bad_posts_get_422_and_store_nothing(client, room, body) -> None:
    response = await client.http.post(
        f"/api/chat/meetings/{room}/messages", json=body, headers=client.auth("bob")
    )
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert await client.collection().count_documents({}) == 0


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": "many"}, {"before": "not-a-cursor"}, {"before": "W10"}]
)
async def test_bad_history_queries_get_422(client, room, params) -> None:
    response = await client.history("bob", room, **params)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
async def test_bad_tokens_get_401(client, room, case) -> None:
    headers = bad_authorization(client.issuer, case, "bob")
    path = f"/api/chat/meetings/{room}/messages"
    post = await client.http.post(path, json={"message_id": "valid-id-01", "text": "hi"}, headers=headers)
    get = await client.http.get(path, headers=headers)
    for response in (post, get):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert await client.collection().count_documents({}) == 0
    assert client.meetings.requests == []


async def test_health_readiness_and_metrics(client, room) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    ready = await client.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongo": "ok", "kafka": "ok"}

    await client.post("bob", room, "metric-001", "one")
    await client.post("bob", room, "metric-001", "one")
    await client.post("mallory", room, "metric-002", "no")
    text = (await client.http.get("/metrics")).text
    assert "parley_chat_messages_posted_total 1.0" in text
    assert 'parley_chat_post_refusals_total{reason="not_a_participant"} 1.0' in text
    assert 'route="/api/chat/meetings/{meeting_id}/messages"' in text
    assert room not in text

    asyncapi = (await client.http.get("/asyncapi.json")).json()
    # parley.chat and parley.dm: what chat publishes; parley.meetings: its membership projection
    # reads it; parley.contacts: its contact projection (direct messages)
    assert {channel["address"] for channel in asyncapi["channels"].values()} == {
        "parley.chat", "parley.dm", "parley.meetings", "parley.sessions", "parley.contacts",
    }


@pytest.mark.parametrize("encoded", ["a%3Fb", "a%23b", "a%01b", "a%20b", "a.b"])
async def test_a_malformed_meeting_id_is_422_and_meetings_is_not_asked(client, encoded) -> None:
    """Issue 6 item 15: ids are validated at the edge (parley_security.MeetingId). (An encoded
    ``/`` splits the path: no route matches, 404.)"""
    path = f"/api/chat/meetings/{encoded}"
    answers = [
        await client.http.get(f"{path}/messages", headers=client.auth("bob")),
        await client.http.post(f"{path}/messages", json={"message_id": "valid-id-01", "text": "hi"},
                               headers=client.auth("bob")),
        await client.http.get(f"{path}/notes", headers=client.auth("bob")),
        await client.http.put(f"{path}/notes", json={"text": "x"}, headers=client.auth("bob")),
    ]
    for response in answers:
        assert response.status_code == 422, (encoded, response.status_code, response.text)
        assert response.json()["detail"][0]["loc"] == ["path", "meeting_id"]
    assert client.meetings.requests == []

"""Direct calls (``/api/calls``) against the real FerretDB and Kafka of the test stack: the
contact projection from ``parley.contacts``, ringing, answers, busy, the ring timeout across a
restart and two replicas."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from parley_events import CallEscalated, CallMissed, CallRinging, ContactAccepted, ParticipantJoined, ParticipantLeft, UserBlocked
from parley_events.topics import CALLS, CONTACTS, PARTICIPANTS
from parley_events.contact_pairs import contact_id_of
from parley_meetings.main import create_app
from parley_meetings.messaging import contacts_group
from parley_testing import TokenIssuer, commit_group_at_end, drop_database, eventually, tail_topic
from parley_testing.lifespan import running



@dataclass
class Client:
    """An app's HTTP client, acting as any user (the shape of conftest's ``client``)."""

    http: httpx.AsyncClient
    app: FastAPI
    issuer: TokenIssuer

    def auth(self, user_id: str, name: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue(user_id, name or user_id.title())}"}


@pytest.fixture
async def settings(settings):
    """The contact projection reads only what is published from now on (before the app starts)."""
    await commit_group_at_end(settings.kafka_bootstrap_servers, contacts_group(settings), CONTACTS)
    return settings.model_copy(update={"call_ring_timeout_s": 30.0, "call_sweep_interval_s": 0.2})


@pytest.fixture
async def calls_client(client) -> Client:
    return client


async def befriend(client: Client, produce, a: str, b: str, unique: str) -> None:
    """Publish auth's ``contact.accepted`` for ``a`` and ``b`` and wait until the projection has it."""
    await produce(ContactAccepted(contact_id=contact_id_of(a, b), user_id=b, other_user_id=a, at=datetime.now(UTC)))
    pairs = client.app.state.calls.pairs

    async def known() -> bool:
        pair = await pairs.get(contact_id_of(a, b))
        return pair is not None and pair.accepted

    await eventually(known)


async def place(client: Client, caller: str, callee: str) -> httpx.Response:
    return await client.http.post("/api/calls", json={"callee_id": callee}, headers=client.auth(caller))


async def roster_is(client: Client, room_id: str, users: list[str], viewer: str) -> bool:
    """Is the room's roster, as ``viewer`` reads it, exactly ``users`` (in order)?"""
    roster = await client.http.get(f"/api/meetings/{room_id}/roster", headers=client.auth(viewer))
    return [p["user_id"] for p in roster.json()["participants"]] == users


async def call_ended(client: Client, call: dict, user: str, timeout_s: float = 15.0) -> dict:
    """Wait until ``call`` has ended; the call as ``user`` reads it then."""

    async def read() -> dict:
        return (await client.http.get(f"/api/calls/{call['call_id']}", headers=client.auth(user))).json()

    async def ended() -> bool:
        return (await read())["state"] == "ended"

    await eventually(ended, timeout_s=timeout_s)
    return await read()


@pytest.fixture
def ids(unique_name: str) -> tuple[str, str, str]:
    return (f"alice-{unique_name}", f"bob-{unique_name}", f"carol-{unique_name}")


async def test_a_call_rings_only_an_accepted_contact_and_publishes_call_ringing(calls_client, produce, ids, unique_name) -> None:
    alice, bob, carol = ids
    refused = await place(calls_client, alice, bob)
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "not_a_contact"

    await befriend(calls_client, produce, alice, bob, unique_name)
    async with tail_topic(calls_client.app.state.settings.kafka_bootstrap_servers, CALLS.name) as tail:
        placed = await place(calls_client, alice, bob)
        assert placed.status_code == 201, placed.text
        call = placed.json()
        events = await tail.events(subject=call["call_id"])
    assert call["state"] == "ringing" and call["direction"] == "outgoing"
    assert call["caller_name"] == alice.title()
    assert isinstance(events[0].data, CallRinging)
    assert events[0].data.callee_id == bob and events[0].data.caller_name == alice.title()

    listed = (await calls_client.http.get("/api/calls", headers=calls_client.auth(bob))).json()
    assert [(c["call_id"], c["direction"], c["state"]) for c in listed["live"]] == [(call["call_id"], "incoming", "ringing")]
    hidden = await calls_client.http.get(f"/api/calls/{call['call_id']}", headers=calls_client.auth(carol))
    assert hidden.status_code == 404

    self_call = await place(calls_client, alice, alice)
    assert self_call.status_code == 400 and self_call.json()["detail"]["code"] == "cannot_call_self"


async def test_a_blocked_caller_cannot_call(calls_client, produce, ids, unique_name) -> None:
    alice, bob, _ = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    await produce(UserBlocked(contact_id=contact_id_of(alice, bob), user_id=bob, other_user_id=alice, at=datetime.now(UTC)))

    async def refused() -> bool:
        return (await place(calls_client, alice, bob)).status_code == 403

    await eventually(refused)


async def test_accept_opens_the_private_room_and_end_closes_it(calls_client, produce, ids, unique_name) -> None:
    alice, bob, carol = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()

    not_yours = await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(alice))
    assert not_yours.status_code == 403 and not_yours.json()["detail"]["code"] == "not_allowed"
    accepted = await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob, "Bob B"))
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    again = await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob, "Bob B"))
    assert again.json()["state"] == "accepted" and again.json()["answered_at"] == accepted.json()["answered_at"]

    room = call["room_id"]
    for user in (alice, bob):
        membership = await calls_client.http.get(f"/api/meetings/{room}/membership", headers=calls_client.auth(user))
        assert membership.status_code == 200, membership.text
    outsider = await calls_client.http.get(f"/api/meetings/{room}/membership", headers=calls_client.auth(carol))
    assert outsider.status_code == 403
    shown = (await calls_client.http.get(f"/api/meetings/{room}", headers=calls_client.auth(alice))).json()
    assert shown["call_id"] == call["call_id"]
    mine = (await calls_client.http.get("/api/meetings", headers=calls_client.auth(alice))).json()["meetings"]
    assert room not in [m["meeting_id"] for m in mine]  # a call's room is in the call history, not the meetings

    late = await calls_client.http.post(f"/api/calls/{call['call_id']}/decline", headers=calls_client.auth(bob))
    assert late.status_code == 409 and late.json()["detail"]["code"] == "call_state_conflict"
    ended = await calls_client.http.post(f"/api/calls/{call['call_id']}/end", headers=calls_client.auth(bob))
    assert ended.json()["state"] == "ended" and ended.json()["ended_by"] == bob
    assert (await calls_client.http.get(f"/api/meetings/{room}", headers=calls_client.auth(alice))).json()["status"] == "ended"
    history = (await calls_client.http.get("/api/calls", headers=calls_client.auth(alice))).json()
    assert history["live"] == [] and [c["state"] for c in history["history"]] == ["ended"]


async def test_escalate_turns_the_call_into_a_meeting_a_third_person_joins(calls_client, produce, ids, unique_name) -> None:
    alice, bob, carol = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    await befriend(calls_client, produce, alice, carol, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))
    room = call["room_id"]
    # the private room of a call: nobody else joins it, even with its id
    refused = await calls_client.http.post(f"/api/meetings/{room}/join", headers=calls_client.auth(carol))
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "not_a_participant"
    assert (await calls_client.http.post(f"/api/calls/{call['call_id']}/escalate", headers=calls_client.auth(carol))).status_code == 404

    async with tail_topic(calls_client.app.state.settings.kafka_bootstrap_servers, CALLS.name) as tail:
        escalated = await calls_client.http.post(f"/api/calls/{call['call_id']}/escalate", headers=calls_client.auth(bob))
        again = await calls_client.http.post(f"/api/calls/{call['call_id']}/escalate", headers=calls_client.auth(alice))
        # (the call's earlier events may still be on their way from the outbox)
        events = await tail.events_until(lambda found: any(isinstance(e.data, CallEscalated) for e in found), timeout_s=15)
    assert escalated.status_code == 200 and escalated.json()["state"] == "escalated" and escalated.json()["ended_by"] == bob
    assert (again.json()["state"], again.json()["ended_at"]) == ("escalated", escalated.json()["ended_at"])  # a repeat
    (event,) = [e for e in events if e.subject == call["call_id"] and isinstance(e.data, CallEscalated)]
    assert event.data.escalated_by == bob

    # the room is an ordinary meeting now: still active, listed, joined by its link
    shown = (await calls_client.http.get(f"/api/meetings/{room}", headers=calls_client.auth(alice))).json()
    assert shown["status"] == "active" and shown["call_id"] is None
    mine = (await calls_client.http.get("/api/meetings", headers=calls_client.auth(alice))).json()["meetings"]
    assert room in [m["meeting_id"] for m in mine]
    joined = await calls_client.http.post(f"/api/meetings/{room}/join", headers=calls_client.auth(carol))
    assert joined.status_code == 200, joined.text
    ended = await calls_client.http.post(f"/api/calls/{call['call_id']}/end", headers=calls_client.auth(alice))
    assert ended.status_code == 409  # the call is over; the meeting is ended as any meeting is
    # and nobody is busy any more: the call freed both lines
    assert (await place(calls_client, alice, carol)).status_code == 201


async def test_the_room_opens_before_call_escalated_can_go_out(calls_client, produce, ids, unique_name, monkeypatch) -> None:
    """Whoever hears ``call.escalated`` may send the link at once: when the call's move to
    ``escalated`` (and its event) is written, the stored room is an ordinary meeting already."""
    alice, bob, _ = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))
    repository = calls_client.app.state.calls._repo
    move = repository.move
    rooms_when_moved: list[dict] = []

    async def watched_move(call_id: str, seen_state: str, changes: dict, outbox: dict) -> bool:
        if changes["state"] == "escalated":
            rooms_when_moved.append(await calls_client.collection().find_one({"_id": call["room_id"]}, {"call_id": 1}))
        return await move(call_id, seen_state, changes, outbox)

    monkeypatch.setattr(repository, "move", watched_move)
    escalated = await calls_client.http.post(f"/api/calls/{call['call_id']}/escalate", headers=calls_client.auth(alice))
    assert escalated.status_code == 200 and escalated.json()["state"] == "escalated"
    assert rooms_when_moved == [{"_id": call["room_id"]}]  # no call_id: open to anyone with the link


async def test_an_ended_call_cannot_be_escalated_and_its_room_stays_private(calls_client, produce, ids, unique_name) -> None:
    alice, bob, carol = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))
    await calls_client.http.post(f"/api/calls/{call['call_id']}/end", headers=calls_client.auth(bob))
    refused = await calls_client.http.post(f"/api/calls/{call['call_id']}/escalate", headers=calls_client.auth(alice))
    assert refused.status_code == 409, refused.text
    room = await calls_client.collection().find_one({"_id": call["room_id"]}, {"call_id": 1})
    assert room == {"_id": call["room_id"], "call_id": call["call_id"]}  # not listed among the meetings
    mine = (await calls_client.http.get("/api/meetings", headers=calls_client.auth(alice))).json()["meetings"]
    assert call["room_id"] not in [m["meeting_id"] for m in mine]


async def test_a_call_ended_while_it_is_escalated_keeps_its_room_private(
    calls_client, produce, ids, unique_name, monkeypatch
) -> None:
    """The escalation opens the room, then moves the call: a hang-up in between ends the call
    and its room, the move is refused (409), and the room is the call's private room again."""
    alice, bob, _ = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))
    calls = calls_client.app.state.calls
    detach = calls._meetings.detach_call

    async def detach_then_hang_up(meeting_id: str, call_id: str) -> bool:
        detached = await detach(meeting_id, call_id)
        await calls.end(call_id, user_id=bob)  # bob hangs up right then
        return detached

    monkeypatch.setattr(calls._meetings, "detach_call", detach_then_hang_up)
    refused = await calls_client.http.post(f"/api/calls/{call['call_id']}/escalate", headers=calls_client.auth(alice))
    assert refused.status_code == 409, refused.text
    room = await calls_client.collection().find_one({"_id": call["room_id"]}, {"call_id": 1, "status": 1})
    assert room == {"_id": call["room_id"], "call_id": call["call_id"], "status": "ended"}
    for user in (alice, bob):
        mine = (await calls_client.http.get("/api/meetings", headers=calls_client.auth(user))).json()["meetings"]
        assert call["room_id"] not in [m["meeting_id"] for m in mine]


async def test_busy_while_the_callee_is_in_a_call_and_free_after(calls_client, produce, ids, unique_name) -> None:
    alice, bob, carol = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    await befriend(calls_client, produce, carol, bob, unique_name)
    await befriend(calls_client, produce, carol, alice, unique_name)
    first = (await place(calls_client, alice, bob)).json()

    busy = await place(calls_client, carol, bob)
    assert busy.status_code == 409 and busy.json()["detail"]["code"] == "busy"
    busy_caller = await place(calls_client, alice, carol)
    assert busy_caller.status_code == 409 and busy_caller.json()["detail"]["code"] == "already_in_call"

    await calls_client.http.post(f"/api/calls/{first['call_id']}/accept", headers=calls_client.auth(bob))
    assert (await place(calls_client, carol, bob)).json()["detail"]["code"] == "busy"
    await calls_client.http.post(f"/api/calls/{first['call_id']}/end", headers=calls_client.auth(alice))
    assert (await place(calls_client, carol, bob)).status_code == 201


async def test_concurrent_callers_of_one_callee_ring_it_once(calls_client, produce, ids, unique_name) -> None:
    alice, bob, carol = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    await befriend(calls_client, produce, carol, bob, unique_name)
    answers = await asyncio.gather(place(calls_client, alice, bob), place(calls_client, carol, bob))
    assert sorted(a.status_code for a in answers) == [201, 409]


async def test_decline_and_cancel(calls_client, produce, ids, unique_name) -> None:
    alice, bob, _ = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    first = (await place(calls_client, alice, bob)).json()
    declined = await calls_client.http.post(f"/api/calls/{first['call_id']}/decline", headers=calls_client.auth(bob))
    assert declined.json()["state"] == "declined"
    second = (await place(calls_client, alice, bob)).json()
    refused = await calls_client.http.post(f"/api/calls/{second['call_id']}/cancel", headers=calls_client.auth(bob))
    assert refused.status_code == 403
    cancelled = await calls_client.http.post(f"/api/calls/{second['call_id']}/cancel", headers=calls_client.auth(alice))
    assert cancelled.json()["state"] == "cancelled"
    too_late = await calls_client.http.post(f"/api/calls/{second['call_id']}/accept", headers=calls_client.auth(bob))
    assert too_late.status_code == 409


async def test_the_ring_timeout_survives_a_restart_and_two_replicas_fire_it_once(
    settings, mongo, token_issuer, produce, ids, unique_name
) -> None:
    """A call placed by one replica, which then stops, becomes missed once, by the two replicas
    started after (their sweepers race for it), with exactly one ``call.missed``."""
    alice, bob, _ = ids
    short = settings.model_copy(update={"call_ring_timeout_s": 2.0, "call_sweep_interval_s": 0.05})
    await commit_group_at_end(short.kafka_bootstrap_servers, short.kafka_consumer_group, PARTICIPANTS)

    async def replica(name: str, **update: float) -> AsyncIterator[Client]:
        app = create_app(short.model_copy(update={"instance_id": name, **update}))
        app.state.verifier = token_issuer.verifier()
        async with running(app), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m.test") as http:
            yield Client(http, app, token_issuer)

    try:
        # the first replica's sweeper waits 60 s before its first round, so it never fires,
        # however slowly this replica stops (on a busy machine, past the 2 s deadline)
        first = replica("meetings-a", call_sweep_interval_s=60.0)
        one = await anext(first)
        await befriend(one, produce, alice, bob, unique_name)
        call = (await place(one, alice, bob)).json()
        await first.aclose()

        async with tail_topic(short.kafka_bootstrap_servers, CALLS.name) as tail:
            two, three = replica("meetings-b"), replica("meetings-c")
            b = await anext(two)
            await anext(three)  # a second sweeper, racing b's
            try:
                # call.ringing too (more than one copy: the two relays may both publish the
                # entry the stopped replica left), so wait for call.missed itself, then a while
                # longer: the other sweeper's copy, if it also fired, would follow within moments
                def of_call(found: list) -> list:
                    return [e for e in found if e.subject == call["call_id"]]

                events = await tail.events_until(
                    lambda found: any(isinstance(e.data, CallMissed) for e in of_call(found)), timeout_s=30)
                events = of_call(events + await tail.events_until(lambda _: False, timeout_s=3))
                got = (await b.http.get(f"/api/calls/{call['call_id']}", headers=b.auth(bob))).json()
            finally:
                await two.aclose()
                await three.aclose()
        assert got["state"] == "missed" and got["direction"] == "incoming"
        assert [type(e.data) for e in events if not isinstance(e.data, CallRinging)] == [CallMissed]
    finally:
        await drop_database(mongo, short.mongo_database)



async def test_the_call_ends_when_the_last_socket_leaves_its_room(calls_client, produce, ids, unique_name) -> None:
    """Nobody stays "busy" after closing the tab: the room's last ``participant.left`` ends
    the accepted call (and its room)."""
    alice, bob, _ = ids
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))
    room, now = call["room_id"], datetime.now(UTC)
    for user in (alice, bob):
        await produce(ParticipantJoined(meeting_id=room, user_id=user, display_name=user, sid=f"s-{user}", replica_id="r1", joined_at=now))
    await produce(ParticipantLeft(meeting_id=room, user_id=alice, sid=f"s-{alice}", replica_id="r1", reason="left", left_at=now))

    async def state() -> str:
        return (await calls_client.http.get(f"/api/calls/{call['call_id']}", headers=calls_client.auth(bob))).json()["state"]

    await eventually(lambda: roster_is(calls_client, room, [bob], bob))
    assert await state() == "accepted"  # one of the two is still in the room
    await produce(ParticipantLeft(meeting_id=room, user_id=bob, sid=f"s-{bob}", replica_id="r1", reason="disconnected", left_at=now))
    assert (await call_ended(calls_client, call, alice))["ended_by"] == bob
    assert (await place(calls_client, alice, bob)).status_code == 201  # nobody is busy any more


async def test_a_party_who_leaves_before_the_other_came_in_leaves_the_call_waiting_for_them(
    calls_client, produce, ids, unique_name
) -> None:
    """The caller is in the room and leaves before the callee's page got there: the room is
    empty, but the call waits for the callee until the arrival timeout after the answer. The
    callee comes in; past that deadline the call goes on (someone is in its room), and ends
    when its room empties again, now that both have been in it."""
    alice, bob, _ = ids
    calls_client.app.state.calls.arrival_timeout = timedelta(seconds=4)
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    accepted = await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))
    room, now = call["room_id"], datetime.now(UTC)

    async def state() -> str:
        got = await calls_client.http.get(f"/api/calls/{call['call_id']}", headers=calls_client.auth(bob))
        return got.json()["state"]

    def event(kind, user: str):
        fields = {"meeting_id": room, "user_id": user, "sid": f"s-{user}", "replica_id": "r1"}
        if kind is ParticipantJoined:
            return ParticipantJoined(**fields, display_name=user, joined_at=now)
        return ParticipantLeft(**fields, reason="left", left_at=now)

    await produce(event(ParticipantJoined, alice))
    await eventually(lambda: roster_is(calls_client, room, [alice], bob))
    await produce(event(ParticipantLeft, alice))  # the room empties (a batch of its own)
    await eventually(lambda: roster_is(calls_client, room, [], bob))
    await produce(event(ParticipantJoined, bob))
    await eventually(lambda: roster_is(calls_client, room, [bob], bob))
    assert await state() == "accepted"
    deadline = datetime.fromisoformat(accepted.json()["answered_at"]) + timedelta(seconds=4)
    await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1.0)  # a few sweeps past it
    assert await state() == "accepted"  # bob is in the room

    await produce(event(ParticipantLeft, bob))
    assert (await call_ended(calls_client, call, alice))["ended_by"] == bob


async def test_an_accepted_call_whose_room_nobody_enters_ends_at_its_deadline(
    calls_client, produce, ids, unique_name
) -> None:
    """Both accepted, neither's page got into the room: the sweep ends the call (as the caller)
    and its room once the arrival timeout after the answer has passed, so nobody stays busy."""
    alice, bob, _ = ids
    calls_client.app.state.calls.arrival_timeout = timedelta(seconds=2)
    await befriend(calls_client, produce, alice, bob, unique_name)
    call = (await place(calls_client, alice, bob)).json()
    await calls_client.http.post(f"/api/calls/{call['call_id']}/accept", headers=calls_client.auth(bob))

    assert (await call_ended(calls_client, call, bob, timeout_s=30))["ended_by"] == alice

    async def room_ended() -> bool:  # the sweep's next write, right after the call's
        room = await calls_client.http.get(f"/api/meetings/{call['room_id']}", headers=calls_client.auth(alice))
        return room.json()["status"] == "ended"

    await eventually(room_ended)
    assert (await place(calls_client, alice, bob)).status_code == 201  # nobody is busy any more


async def _accepted_with_callee_in_room(client: Client, produce, alice: str, bob: str, unique: str) -> tuple[dict, datetime]:
    """A call from ``alice`` that ``bob`` accepted (arrival timeout 2 s) and whose room holds
    only ``bob``; with its ``empty_deadline``."""
    client.app.state.calls.arrival_timeout = timedelta(seconds=2)
    await befriend(client, produce, alice, bob, unique)
    call = (await place(client, alice, bob)).json()
    await client.http.post(f"/api/calls/{call['call_id']}/accept", headers=client.auth(bob))
    joined = ParticipantJoined(
        meeting_id=call["room_id"], user_id=bob, display_name=bob, sid=f"s-{bob}", replica_id="r1", joined_at=datetime.now(UTC)
    )
    await produce(joined)
    await eventually(lambda: roster_is(client, call["room_id"], [bob], bob))
    stored = await client.app.state.calls._repo.get(call["call_id"])
    assert stored is not None and stored.empty_deadline is not None
    return call, stored.empty_deadline


def _left(call: dict, user: str) -> ParticipantLeft:
    return ParticipantLeft(
        meeting_id=call["room_id"], user_id=user, sid=f"s-{user}", replica_id="r1", reason="left", left_at=datetime.now(UTC)
    )


async def test_a_room_that_empties_after_the_sweep_cleared_the_deadline_ends_the_call_whatever_the_clock(
    calls_client, produce, ids, unique_name, monkeypatch
) -> None:
    """The sweep found the callee in the room at the deadline and cleared it. The callee then
    leaves, seen by a replica whose clock is still a moment before the deadline: the call
    ends (the cleared deadline says it passed), instead of waiting for a Hang up that no
    deadline would ever replace."""
    alice, bob, _ = ids
    calls = calls_client.app.state.calls
    call, deadline = await _accepted_with_callee_in_room(calls_client, produce, alice, bob, unique_name)

    async def cleared() -> bool:
        stored = await calls._repo.get(call["call_id"])
        return stored is not None and stored.empty_deadline is None

    await eventually(cleared, timeout_s=15)
    assert (await calls._repo.get(call["call_id"])).state == "accepted"  # bob is in the room
    monkeypatch.setattr(calls, "_clock", lambda: deadline - timedelta(milliseconds=1))
    await produce(_left(call, bob))
    assert (await call_ended(calls_client, call, bob))["ended_by"] == bob


async def test_a_room_that_empties_while_the_sweep_looks_at_it_ends_the_call(
    calls_client, produce, ids, unique_name, monkeypatch
) -> None:
    """The callee leaves between the sweep's look at the room (someone in it) and its clearing
    of the deadline, seen by a replica whose clock is a moment before the deadline, so the
    emptying waits on that deadline: the sweep looks again once it cleared it, finds the room
    empty and ends the call."""
    alice, bob, _ = ids
    calls, meetings = calls_client.app.state.calls, calls_client.app.state.meetings
    call, deadline = await _accepted_with_callee_in_room(calls_client, produce, alice, bob, unique_name)
    roster_state, on_room_emptied = calls._meetings.roster_state, meetings.on_room_emptied
    emptied = asyncio.Event()
    looked: list[str] = []

    async def watched_emptied(room_id: str, user_id: str, arrived: frozenset[str]) -> None:
        await on_room_emptied(room_id, user_id, arrived)
        emptied.set()

    async def watched_roster_state(room_id: str):
        state = await roster_state(room_id)
        if room_id == call["room_id"] and not looked and state.roster and calls._clock() >= deadline:
            looked.append(room_id)  # the sweep's look: bob is in the room; now he leaves
            monkeypatch.setattr(calls, "_clock", lambda: deadline - timedelta(milliseconds=1))
            await produce(_left(call, bob))
            await asyncio.wait_for(emptied.wait(), timeout=15)
            assert (await calls._repo.get(call["call_id"])).state == "accepted"  # the emptying waited
        return state

    monkeypatch.setattr(meetings, "on_room_emptied", watched_emptied)
    monkeypatch.setattr(calls._meetings, "roster_state", watched_roster_state)
    got = await call_ended(calls_client, call, bob)
    assert looked and got["ended_by"] == alice  # ended by the sweep, as the caller

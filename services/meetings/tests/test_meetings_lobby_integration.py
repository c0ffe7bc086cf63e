"""The lobby and the host's remedies against the real Kafka and FerretDB: admission modes
(open, lobby, locked), waiting, admitting, denying and withdrawing, co-hosts and their rights,
and removal refusing every later join (docs/http-api.md, "Lobby and moderation")."""

from parley_events import (
    LobbyAdmitted,
    LobbyDenied,
    LobbyLeft,
    LobbyWaiting,
    MeetingCreated,
    MeetingRoleChanged,
    MeetingUpdated,
    ParticipantRemoved,
)
from parley_events.topics import MEETINGS
from parley_testing import tail_topic


def _guest(client, meeting_id: str, guest_id: str = "guest-g1", name: str = "Grace") -> dict[str, str]:
    return {"Authorization": f"Bearer {client.issuer.issue_guest(meeting_id, name, guest_id=guest_id)}"}


async def _join(client, meeting_id: str, headers: dict[str, str]):
    return await client.http.post(f"/api/meetings/{meeting_id}/join", headers=headers)


async def _lobby(client, meeting_id: str, user_id: str = "u-host") -> list[str]:
    answer = await client.http.get(f"/api/meetings/{meeting_id}/lobby", headers=client.auth(user_id))
    assert answer.status_code == 200, answer.text
    return [person["user_id"] for person in answer.json()["waiting"]]


async def test_in_lobby_mode_a_newcomer_waits_until_the_host_admits_them(client, stack) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        meeting = await client.create("u-host", admission="lobby")
        mid = meeting["meeting_id"]
        assert meeting["admission"] == "lobby"
        host = await _join(client, mid, client.auth("u-host"))
        assert (host.status_code, host.json()["status"], host.json()["role"]) == (200, "joined", "host")

        waiting = await _join(client, mid, client.auth("u-bob", "Bob"))
        assert (waiting.status_code, waiting.json()["status"]) == (202, "waiting"), waiting.text
        again = await _join(client, mid, client.auth("u-bob", "Bob"))
        assert again.status_code == 202  # asking again while waiting: the same, no second event
        member = await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("u-bob"))
        assert (member.status_code, member.json()["detail"]["code"]) == (403, "not_a_participant")
        assert await _lobby(client, mid) == ["u-bob"]

        admitted = await client.http.post(f"/api/meetings/{mid}/lobby/u-bob/admit", headers=client.auth("u-host"))
        assert admitted.status_code == 204, admitted.text
        joined = await _join(client, mid, client.auth("u-bob", "Bob"))
        assert (joined.status_code, joined.json()["status"], joined.json()["role"]) == (200, "joined", "participant")
        assert await _lobby(client, mid) == []
        events = await tail.events(subject=mid, count=3)
    created, wait, admit = (event.data for event in events)
    assert isinstance(created, MeetingCreated) and created.admission == "lobby"
    assert isinstance(wait, LobbyWaiting) and (wait.user_id, wait.display_name, wait.guest) == ("u-bob", "Bob", False)
    assert isinstance(admit, LobbyAdmitted) and (admit.user_id, admit.decided_by) == ("u-bob", "u-host")


async def test_a_guest_waits_in_the_lobby_too_and_joins_directly_when_the_meeting_is_open(client) -> None:
    lobby = await client.create("u-host", admission="lobby", allow_guests=True)
    answer = await _join(client, lobby["meeting_id"], _guest(client, lobby["meeting_id"]))
    assert (answer.status_code, answer.json()["status"]) == (202, "waiting")
    answer = await client.http.get(f"/api/meetings/{lobby['meeting_id']}/lobby", headers=client.auth("u-host"))
    assert answer.json()["waiting"][0] | {"requested_at": None} == {
        "user_id": "guest-g1", "display_name": "Grace", "guest": True, "requested_at": None,
    }
    open_ = await client.create("u-host", allow_guests=True)
    answer = await _join(client, open_["meeting_id"], _guest(client, open_["meeting_id"], "guest-g2"))
    assert (answer.status_code, answer.json()["status"]) == (200, "joined")


async def test_only_the_host_or_a_co_host_admits_and_a_refusal_changes_nothing(client, stack) -> None:
    meeting = await client.create("u-host")
    mid = meeting["meeting_id"]
    assert (await _join(client, mid, client.auth("u-pat"))).status_code == 200  # joined while open
    patched = await client.http.patch(f"/api/meetings/{mid}", json={"admission": "lobby"}, headers=client.auth("u-host"))
    assert patched.status_code == 200 and patched.json()["admission"] == "lobby"
    assert (await _join(client, mid, client.auth("u-bob"))).status_code == 202
    await client.outbox_drained(mid)  # the events so far are out: the tail sees only what follows
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        for method, path in (
            ("POST", f"/api/meetings/{mid}/lobby/u-bob/admit"),
            ("POST", f"/api/meetings/{mid}/lobby/u-bob/deny"),
            ("POST", f"/api/meetings/{mid}/lobby/admit-all"),
            ("GET", f"/api/meetings/{mid}/lobby"),
        ):
            for who in ("u-pat", "u-bob", "u-stranger"):
                refused = await client.http.request(method, path, headers=client.auth(who))
                assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "not_a_moderator"), (path, who)
        refused = await client.http.patch(f"/api/meetings/{mid}", json={"admission": "open"}, headers=client.auth("u-pat"))
        assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "not_a_moderator")
        assert await tail.events(subject=mid, timeout_s=1.5) == []
    assert await _lobby(client, mid) == ["u-bob"]
    missing = await client.http.post(f"/api/meetings/{mid}/lobby/u-nobody/admit", headers=client.auth("u-host"))
    assert (missing.status_code, missing.json()["detail"]["code"]) == (404, "not_in_lobby")


async def test_a_denied_person_is_refused_and_one_who_withdraws_leaves_the_lobby(client, stack) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        # created inside the tail: its meeting.created is the first of the nine events
        meeting = await client.create("u-host", admission="lobby")
        mid = meeting["meeting_id"]
        for user in ("u-carol", "u-dave", "u-erin", "u-finn"):
            assert (await _join(client, mid, client.auth(user))).status_code == 202
        assert (await client.http.post(f"/api/meetings/{mid}/lobby/u-carol/deny", headers=client.auth("u-host"))).status_code == 204
        assert (await client.http.delete(f"/api/meetings/{mid}/join", headers=client.auth("u-dave"))).status_code == 204
        assert (await client.http.delete(f"/api/meetings/{mid}/join", headers=client.auth("u-dave"))).status_code == 204
        assert await _lobby(client, mid) == ["u-erin", "u-finn"]
        all_in = await client.http.post(f"/api/meetings/{mid}/lobby/admit-all", headers=client.auth("u-host"))
        assert all_in.json() == {"admitted": 2}
        events = await tail.events(subject=mid, count=9)
    kinds = [(type(event.data), getattr(event.data, "user_id", None)) for event in events]
    assert kinds[5:] == [(LobbyDenied, "u-carol"), (LobbyLeft, "u-dave"), (LobbyAdmitted, "u-erin"), (LobbyAdmitted, "u-finn")]
    denied = await _join(client, mid, client.auth("u-carol"))
    assert (denied.status_code, denied.json()["detail"]["code"]) == (403, "lobby_denied")
    assert (await _join(client, mid, client.auth("u-dave"))).status_code == 202  # withdrew: may ask again
    for user in ("u-erin", "u-finn"):
        assert (await _join(client, mid, client.auth(user))).json()["status"] == "joined"


async def test_get_join_tells_where_the_caller_stands_and_never_knocks(client, stack) -> None:
    meeting = await client.create("u-host", admission="lobby", allow_guests=True)
    mid = meeting["meeting_id"]

    async def standing(headers: dict[str, str]) -> tuple[int, str]:
        answer = await client.http.get(f"/api/meetings/{mid}/join", headers=headers)
        body = answer.json()
        return answer.status_code, body.get("status") or body["detail"]["code"]

    assert await standing(client.auth("u-bob")) == (404, "not_in_lobby")  # reading puts nobody in the lobby
    assert await _lobby(client, mid) == []
    host = await client.http.get(f"/api/meetings/{mid}/join", headers=client.auth("u-host"))
    assert (host.status_code, host.json()["role"], host.json()["meeting"]["meeting_id"]) == (200, "host", mid)
    for user in ("u-bob", "u-carol", "u-dave"):
        assert (await _join(client, mid, client.auth(user))).status_code == 202
    assert (await _join(client, mid, _guest(client, mid))).status_code == 202
    assert await standing(_guest(client, mid)) == (200, "waiting")

    # the page that waited closes: its withdrawal holds against a read that comes after it
    assert (await client.http.delete(f"/api/meetings/{mid}/join", headers=client.auth("u-bob"))).status_code == 204
    assert await standing(client.auth("u-bob")) == (404, "not_in_lobby")
    assert "u-bob" not in await _lobby(client, mid)

    assert (await client.http.post(f"/api/meetings/{mid}/lobby/u-carol/admit", headers=client.auth("u-host"))).status_code == 204
    assert (await client.http.post(f"/api/meetings/{mid}/lobby/u-dave/deny", headers=client.auth("u-host"))).status_code == 204
    assert await standing(client.auth("u-carol")) == (200, "joined")
    assert await standing(client.auth("u-dave")) == (403, "lobby_denied")
    assert await _lobby(client, mid) == ["guest-g1"]
    elsewhere = (await client.create("u-host", allow_guests=True))["meeting_id"]
    assert await standing(_guest(client, elsewhere)) == (403, "guest_not_allowed")  # another meeting's guest
    missing = await client.http.get("/api/meetings/zzzz-zzzz-zzzz/join", headers=client.auth("u-host"))
    assert (missing.status_code, missing.json()["detail"]["code"]) == (404, "meeting_not_found")


async def test_a_locked_meeting_lets_its_participants_back_and_nobody_new(client, stack) -> None:
    meeting = await client.create("u-host")
    mid = meeting["meeting_id"]
    assert (await _join(client, mid, client.auth("u-pat"))).status_code == 200
    await client.outbox_drained(mid)
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        locked = await client.http.patch(f"/api/meetings/{mid}", json={"admission": "locked"}, headers=client.auth("u-host"))
        assert locked.json()["admission"] == "locked"
        updated = (await tail.events(subject=mid, count=1))[0].data
    assert isinstance(updated, MeetingUpdated) and updated.admission == "locked"
    refused = await _join(client, mid, client.auth("u-new"))
    assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "meeting_locked")
    assert (await _join(client, mid, client.auth("u-pat"))).json()["status"] == "joined"
    bad = await client.http.patch(f"/api/meetings/{mid}", json={"admission": "closed"}, headers=client.auth("u-host"))
    assert bad.status_code == 422


async def test_the_host_makes_a_co_host_who_admits_locks_and_removes_but_not_the_hosts_part(client, stack) -> None:
    meeting = await client.create("u-host", allow_guests=True)
    mid = meeting["meeting_id"]
    for user in ("u-bob", "u-pat", "u-sam"):
        assert (await _join(client, mid, client.auth(user))).status_code == 200
    assert (await _join(client, mid, _guest(client, mid))).status_code == 200
    role = f"/api/meetings/{mid}/participants/u-bob/role"
    await client.outbox_drained(mid)
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        made = await client.http.put(role, json={"role": "cohost"}, headers=client.auth("u-host"))
        assert made.status_code == 204, made.text
        changed = (await tail.events(subject=mid, count=1))[0].data
    assert isinstance(changed, MeetingRoleChanged) and (changed.user_id, changed.role) == ("u-bob", "cohost")
    shown = await client.http.get(f"/api/meetings/{mid}", headers=client.auth("u-pat"))
    assert shown.json()["cohost_ids"] == ["u-bob"]
    member = await client.http.get(f"/api/meetings/{mid}/membership", headers=client.auth("u-bob"))
    assert member.json()["role"] == "cohost"

    # the co-host locks the lobby on, admits, and removes a participant
    assert (await client.http.patch(f"/api/meetings/{mid}", json={"admission": "lobby"}, headers=client.auth("u-bob"))).status_code == 200
    assert (await _join(client, mid, client.auth("u-new"))).status_code == 202
    assert (await client.http.post(f"/api/meetings/{mid}/lobby/u-new/admit", headers=client.auth("u-bob"))).status_code == 204
    assert (await client.http.delete(f"/api/meetings/{mid}/participants/u-sam", headers=client.auth("u-bob"))).status_code == 204

    # ...but none of the host's part
    refusals = [
        ("PUT", f"/api/meetings/{mid}/participants/u-pat/role", {"role": "cohost"}, "u-bob", 403, "not_host"),
        ("PATCH", f"/api/meetings/{mid}", {"allow_guests": False}, "u-bob", 403, "not_host"),
        ("POST", f"/api/meetings/{mid}/end", None, "u-bob", 403, "not_host"),
        ("DELETE", f"/api/meetings/{mid}/participants/u-host", None, "u-bob", 409, "cannot_moderate"),
        ("DELETE", f"/api/meetings/{mid}/participants/u-bob", None, "u-bob", 409, "cannot_moderate"),
        ("PUT", f"/api/meetings/{mid}/participants/guest-g1/role", {"role": "cohost"}, "u-host", 409, "cannot_moderate"),
        ("PUT", f"/api/meetings/{mid}/participants/u-nobody/role", {"role": "cohost"}, "u-host", 404, "participant_not_found"),
        ("DELETE", f"/api/meetings/{mid}/participants/u-bob", None, "u-pat", 403, "not_a_moderator"),
    ]
    for method, path, body, who, status, code in refusals:
        answer = await client.http.request(method, path, json=body, headers=client.auth(who))
        assert (answer.status_code, answer.json()["detail"]["code"]) == (status, code), (method, path, who, answer.text)
    assert (await client.http.get(f"/api/meetings/{mid}", headers=client.auth("u-pat"))).json()["status"] == "active"

    unmade = await client.http.put(role, json={"role": "participant"}, headers=client.auth("u-host"))
    assert unmade.status_code == 204
    assert (await client.http.get(f"/api/meetings/{mid}", headers=client.auth("u-pat"))).json()["cohost_ids"] == []
    refused = await client.http.post(f"/api/meetings/{mid}/lobby/admit-all", headers=client.auth("u-bob"))
    assert refused.status_code == 403


async def test_a_removed_participant_cannot_join_again(client, stack) -> None:
    meeting = await client.create("u-host", allow_guests=True)
    mid = meeting["meeting_id"]
    assert (await _join(client, mid, client.auth("u-carol", "Carol"))).status_code == 200
    assert (await _join(client, mid, _guest(client, mid))).status_code == 200
    await client.outbox_drained(mid)
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        refused = await client.http.delete(f"/api/meetings/{mid}/participants/u-host", headers=client.auth("u-carol"))
        assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "not_a_moderator")
        for user in ("u-carol", "guest-g1"):
            removed = await client.http.delete(f"/api/meetings/{mid}/participants/{user}", headers=client.auth("u-host", "Ada"))
            assert removed.status_code == 204, removed.text
        events = await tail.events(subject=mid, count=2)
    first = events[0].data
    assert isinstance(first, ParticipantRemoved)
    assert (first.user_id, first.display_name, first.removed_by, first.removed_by_name) == ("u-carol", "Carol", "u-host", "Ada")
    for headers in (client.auth("u-carol"), _guest(client, mid)):
        again = await _join(client, mid, headers)
        assert (again.status_code, again.json()["detail"]["code"]) == (403, "removed_from_meeting")
        member = await client.http.get(f"/api/meetings/{mid}/membership", headers=headers)
        assert (member.status_code, member.json()["detail"]["code"]) == (403, "removed_from_meeting")
    twice = await client.http.delete(f"/api/meetings/{mid}/participants/u-carol", headers=client.auth("u-host"))
    assert (twice.status_code, twice.json()["detail"]["code"]) == (404, "participant_not_found")
    mine = await client.http.get("/api/meetings", headers=client.auth("u-carol"))
    assert mid not in [m["meeting_id"] for m in mine.json()["meetings"]]

"""Guests in meetings, against the real Kafka and FerretDB: ``allow_guests`` on create and
PATCH (``meeting.updated`` published), the public view of a meeting, a guest joining its own
meeting only, and every other route refusing a guest token."""

from parley_events import MeetingCreated, MeetingUpdated
from parley_events.topics import MEETINGS
from parley_testing import tail_topic


def _guest(client, meeting_id: str, name: str = "Grace", guest_id: str = "guest-g1") -> dict[str, str]:
    return {"Authorization": f"Bearer {client.issuer.issue_guest(meeting_id, name, guest_id=guest_id)}"}


async def test_allow_guests_is_set_on_create_and_patch_by_the_host_and_published(client, stack) -> None:
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        meeting = await client.create("u-host", allow_guests=True)
        assert meeting["allow_guests"] is True
        patched = await client.http.patch(
            f"/api/meetings/{meeting['meeting_id']}", json={"allow_guests": False}, headers=client.auth("u-host")
        )
        assert patched.status_code == 200 and patched.json()["allow_guests"] is False
        refused = await client.http.patch(
            f"/api/meetings/{meeting['meeting_id']}", json={"allow_guests": True}, headers=client.auth("u-other")
        )
        assert refused.status_code == 403 and refused.json()["detail"]["code"] == "not_host"
        events = await tail.events(subject=meeting["meeting_id"], count=2)
    created, updated = (event.data for event in events)
    assert isinstance(created, MeetingCreated) and created.allow_guests is True
    assert isinstance(updated, MeetingUpdated) and (updated.allow_guests, updated.updated_by) == (False, "u-host")
    assert (await client.create("u-host"))["allow_guests"] is False  # the default


async def test_the_public_view_needs_no_token_and_shows_only_title_status_and_allow_guests(client) -> None:
    meeting = await client.create("u-host", title="Town hall", allow_guests=True)
    answer = await client.http.get(f"/api/meetings/{meeting['meeting_id']}/public")
    assert answer.status_code == 200
    assert answer.json() == {
        "meeting_id": meeting["meeting_id"], "title": "Town hall", "status": "active", "allow_guests": True,
        "admission": "open", "scheduled_start": None, "duration_minutes": None, "time_zone": None, "opens_at": None,
    }
    assert (await client.http.get("/api/meetings/none-such-meet/public")).status_code == 404


async def test_a_guest_joins_its_own_meeting_and_nothing_else(client) -> None:
    meeting = await client.create("u-host", allow_guests=True)
    meeting_id = meeting["meeting_id"]
    other = await client.create("u-host", allow_guests=True)
    guest = _guest(client, meeting_id)

    joined = await client.http.post(f"/api/meetings/{meeting_id}/join", headers=guest)
    assert joined.status_code == 200, joined.text
    assert joined.json()["role"] == "participant"
    membership = await client.http.get(f"/api/meetings/{meeting_id}/membership", headers=guest)
    assert membership.status_code == 200
    assert (membership.json()["user_id"], membership.json()["role"]) == ("guest-g1", "participant")

    # another meeting, even one that allows guests, and every route that is not join/membership
    refused = [
        ("POST", f"/api/meetings/{other['meeting_id']}/join"),
        ("GET", f"/api/meetings/{other['meeting_id']}/membership"),
        ("GET", f"/api/meetings/{meeting_id}"),
        ("GET", f"/api/meetings/{meeting_id}/roster"),
        ("PATCH", f"/api/meetings/{meeting_id}"),
        ("POST", f"/api/meetings/{meeting_id}/end"),
        ("GET", "/api/meetings"),
        ("POST", "/api/meetings"),
    ]
    for method, path in refused:
        body = {"title": "x"} if method == "POST" and path == "/api/meetings" else {} if method == "PATCH" else None
        answer = await client.http.request(method, path, headers=guest, json=body)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["detail"]["code"] == "guest_not_allowed", (method, path)
    assert (await client.http.get(f"/api/meetings/{meeting_id}", headers=client.auth("u-host"))).json()["status"] == "active"


async def test_a_guest_cannot_join_a_meeting_that_does_not_allow_guests(client) -> None:
    meeting = await client.create("u-host")
    answer = await client.http.post(f"/api/meetings/{meeting['meeting_id']}/join", headers=_guest(client, meeting["meeting_id"]))
    assert answer.status_code == 403 and answer.json()["detail"]["code"] == "guests_not_allowed"
    membership = await client.http.get(
        f"/api/meetings/{meeting['meeting_id']}/membership", headers=_guest(client, meeting["meeting_id"])
    )
    assert membership.status_code == 403 and membership.json()["detail"]["code"] == "not_a_participant"

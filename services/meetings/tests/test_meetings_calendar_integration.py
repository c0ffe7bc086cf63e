"""Scheduling, calendar invitations and feeds through the meetings HTTP API, against the real
FerretDB and Kafka of the test stack; calendar files are parsed with ``icalendar``."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from parley_events import MeetingCancelled, MeetingRescheduled
from parley_events.topics import MEETINGS
from parley_testing import tail_topic

pytestmark = pytest.mark.integration


def in_days(days: float, zone: str = "Europe/Paris") -> str:
    """An RFC 3339 start ``days`` from now, whole minutes, written in ``zone``."""
    start = (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0)
    return start.astimezone(ZoneInfo(zone)).isoformat()


def parsed(body: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(body)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


async def test_a_scheduled_meeting_has_an_invitation_that_follows_reschedule_and_cancel(client, stack) -> None:
    start = in_days(3)
    meeting = await client.create(
        "alice", "Quarterly review", scheduled_start=start, duration_minutes=45, time_zone="Europe/Paris"
    )
    meeting_id = meeting["meeting_id"]
    assert (meeting["duration_minutes"], meeting["time_zone"], meeting["end_reason"]) == (45, "Europe/Paris", None)
    assert datetime.fromisoformat(meeting["opens_at"]) == datetime.fromisoformat(start) - timedelta(minutes=15)

    response = await client.http.get(f"/api/meetings/{meeting_id}/invitation.ics", headers=client.auth("bob"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar, event = parsed(response.content)
    assert str(calendar["METHOD"]) == "REQUEST"
    uid = str(event["UID"])
    assert uid == f"{meeting_id}@parley.test"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime.fromisoformat(start)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)
    assert str(event["URL"]) == meeting["invite_url"] == f"http://parley.test/m/{meeting_id}"
    assert str(event["SUMMARY"]) == "Quarterly review"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]

    later = in_days(4, "America/New_York")
    await client.outbox_drained(meeting_id)  # meeting.created is out before the tail starts
    async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS.name) as tail:
        moved = await client.http.put(
            f"/api/meetings/{meeting_id}/schedule",
            json={"scheduled_start": later, "time_zone": "America/New_York"},
            headers=client.auth("alice"),
        )
        assert moved.status_code == 200, moved.text
        cancelled = await client.http.post(f"/api/meetings/{meeting_id}/cancel", headers=client.auth("alice"))
        assert cancelled.status_code == 200, cancelled.text
        events = await tail.events(subject=meeting_id, count=2)
    assert [type(e.data) for e in events] == [MeetingRescheduled, MeetingCancelled]
    assert (events[0].data.sequence, events[0].data.duration_minutes, events[1].data.sequence) == (1, 45, 2)
    assert datetime.fromisoformat(moved.json()["scheduled_start"]) == datetime.fromisoformat(later)
    assert (cancelled.json()["status"], cancelled.json()["end_reason"]) == ("ended", "cancelled")

    calendar, event = parsed((await client.http.get(f"/api/meetings/{meeting_id}/invitation.ics", headers=client.auth("bob"))).content)
    assert (str(calendar["METHOD"]), str(event["STATUS"]), event["SEQUENCE"]) == ("CANCEL", "CANCELLED", 2)
    assert str(event["UID"]) == uid  # the same event, cancelled
    assert event.decoded("DTSTART") == datetime.fromisoformat(later)
    assert event["DTSTART"].params["TZID"] == "America/New_York"


@pytest.mark.parametrize(
    "change",
    [
        {"scheduled_start": "1900000000"},  # not a Unix time
        {"scheduled_start": "2030-05-04T09:30Z"},  # RFC 3339 has seconds
        {"scheduled_start": "2999-12-31T23:59:59-14:00"},  # the year 3000 in UTC
        {"time_zone": "localtime"},  # a file of the host's zone data, not an IANA name
    ],
)
async def test_starts_not_rfc_3339_or_out_of_range_and_zones_not_iana_are_422_on_create_and_reschedule(client, change) -> None:
    field = next(iter(change))
    good = {"scheduled_start": in_days(1), "time_zone": "Europe/Paris"}
    created = await client.http.post("/api/meetings", json={"title": "t", **good, **change}, headers=client.auth("alice"))
    assert created.status_code == 422, created.text
    assert [error["loc"] for error in created.json()["detail"]] == [["body", field]]
    assert (await client.http.get("/api/meetings", headers=client.auth("alice"))).json()["meetings"] == []

    meeting = await client.create("alice", "t", **good)
    path = f"/api/meetings/{meeting['meeting_id']}"
    moved = await client.http.put(f"{path}/schedule", json={**good, **change}, headers=client.auth("alice"))
    assert moved.status_code == 422, moved.text
    assert [error["loc"] for error in moved.json()["detail"]] == [["body", field]]
    unchanged = (await client.http.get(path, headers=client.auth("alice"))).json()
    assert (unchanged["scheduled_start"], unchanged["time_zone"]) == (meeting["scheduled_start"], "Europe/Paris")
    invitation = await client.http.get(f"{path}/invitation.ics", headers=client.auth("alice"))
    assert parsed(invitation.content)[1]["DTSTART"].params["TZID"] == "Europe/Paris"


async def test_schedules_refused_with_clear_errors_and_nothing_changed(client) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = await client.http.post("/api/meetings", json={"title": "t", "scheduled_start": past}, headers=client.auth("alice"))
    assert refused.status_code == 422
    assert [(e["type"], e["loc"]) for e in refused.json()["detail"]] == [("start_in_past", ["body", "scheduled_start"])]
    for body in (
        {"title": "t", "scheduled_start": in_days(1), "time_zone": "Mars/Olympus"},
        {"title": "t", "scheduled_start": in_days(1), "time_zone": "../../etc/passwd"},
        {"title": "t", "scheduled_start": in_days(1), "duration_minutes": 2},
        {"title": "t", "scheduled_start": in_days(1), "duration_minutes": 24 * 60 + 1},
        {"title": "t", "duration_minutes": 30},
    ):
        response = await client.http.post("/api/meetings", json=body, headers=client.auth("alice"))
        assert response.status_code == 422, (body, response.text)

    meeting = await client.create("alice", "t", scheduled_start=in_days(1))
    path = f"/api/meetings/{meeting['meeting_id']}"
    assert (await client.http.put(f"{path}/schedule", json={"scheduled_start": in_days(2)}, headers=client.auth("bob"))).json()["detail"]["code"] == "not_host"
    assert (await client.http.post(f"{path}/cancel", headers=client.auth("bob"))).status_code == 403
    into_past = await client.http.put(f"{path}/schedule", json={"scheduled_start": past}, headers=client.auth("alice"))
    assert (into_past.status_code, into_past.json()["detail"][0]["type"]) == (422, "start_in_past")
    unchanged = (await client.http.get(path, headers=client.auth("alice"))).json()
    assert unchanged["scheduled_start"] == meeting["scheduled_start"] and unchanged["status"] == "active"

    plain = await client.create("alice", "no schedule")
    assert plain["opens_at"] is None and plain["duration_minutes"] is None
    for response in (
        await client.http.post(f"/api/meetings/{plain['meeting_id']}/cancel", headers=client.auth("alice")),
        await client.http.get(f"/api/meetings/{plain['meeting_id']}/invitation.ics", headers=client.auth("alice")),
    ):
        assert (response.status_code, response.json()["detail"]["code"]) == (409, "not_scheduled")


async def test_participants_join_from_fifteen_minutes_before_the_start(client) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    open_now = await client.create("alice", "soon", scheduled_start=soon)
    later = await client.create("alice", "later", scheduled_start=in_days(1))

    early = await client.http.post(f"/api/meetings/{later['meeting_id']}/join", headers=client.auth("bob"))
    assert (early.status_code, early.json()["detail"]["code"]) == (409, "not_open_yet")
    assert "opens at" in early.json()["detail"]["message"]
    assert (await client.http.post(f"/api/meetings/{later['meeting_id']}/join", headers=client.auth("alice"))).status_code == 200
    assert (await client.http.post(f"/api/meetings/{open_now['meeting_id']}/join", headers=client.auth("bob"))).status_code == 200
    member = await client.http.get(f"/api/meetings/{later['meeting_id']}/membership", headers=client.auth("bob"))
    assert member.status_code == 403  # the refused join changed nothing


async def test_the_calendar_feed_lists_upcoming_meetings_until_revoked(client) -> None:
    first = await client.create("alice", "first", scheduled_start=in_days(2))
    second = await client.create("alice", "second", scheduled_start=in_days(1))
    await client.create("alice", "unscheduled")
    gone = await client.create("alice", "cancelled", scheduled_start=in_days(1))
    await client.http.post(f"/api/meetings/{gone['meeting_id']}/cancel", headers=client.auth("alice"))

    none = await client.http.get("/api/meetings/calendar-feed", headers=client.auth("alice"))
    assert (none.status_code, none.json()) == (200, {"active": False, "created_at": None})
    created = await client.http.post("/api/meetings/calendar-feed", headers=client.auth("alice"))
    assert created.status_code == 201
    state = (await client.http.get("/api/meetings/calendar-feed", headers=client.auth("alice"))).json()
    assert state["active"] is True
    assert abs(datetime.fromisoformat(state["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)
    url = created.json()["url"]
    assert url.startswith("http://parley.test/api/meetings/calendar-feed/pcf_") and url.endswith(".ics")
    path = url.removeprefix("http://parley.test")

    feed = await client.http.get(path)  # no bearer token: the address is the secret
    assert feed.status_code == 200
    calendar = Calendar.from_ical(feed.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["second", "first"]
    assert {str(e["UID"]).split("@")[0] for e in calendar.walk("VEVENT")} == {first["meeting_id"], second["meeting_id"]}

    replaced = (await client.http.post("/api/meetings/calendar-feed", headers=client.auth("alice"))).json()["url"]
    assert (await client.http.get(path)).status_code == 404
    assert (await client.http.get(replaced.removeprefix("http://parley.test"))).status_code == 200
    assert (await client.http.delete("/api/meetings/calendar-feed", headers=client.auth("alice"))).status_code == 204
    assert (await client.http.get("/api/meetings/calendar-feed", headers=client.auth("alice"))).json()["active"] is False
    revoked = await client.http.get(replaced.removeprefix("http://parley.test"))
    assert (revoked.status_code, revoked.json()["detail"]["code"]) == (404, "calendar_feed_not_found")
    assert (await client.http.get("/api/meetings/calendar-feed/pcf_guess.ics")).status_code == 404
    assert (await client.http.post("/api/meetings/calendar-feed")).status_code == 401
    assert (await client.http.get("/api/meetings/calendar-feed")).status_code == 401

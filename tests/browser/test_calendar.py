"""Scheduled meetings in Chromium: schedule in a chosen time zone, download the invitation
(parsed with ``icalendar``), a participant waits for the join window, the host cancels."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from browser_harness import PHONE, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ZONE = "America/New_York"


def test_schedule_download_the_invitation_wait_for_the_window_and_cancel(participants: ParticipantFactory, screenshots) -> None:
    host, guest = participants("Hana"), participants("Gus")
    start = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo(ZONE)).replace(second=0, microsecond=0)

    host.sign_in("/")
    page = host.page
    page.get_by_label("Title").fill("Roadmap planning")
    page.get_by_label("Date and time").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Length").select_option("45")
    page.get_by_label("Time zone").select_option(ZONE)
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Scheduled “Roadmap planning”")).to_be_visible()
    item = page.get_by_test_id("meeting-item").filter(has_text="Roadmap planning")
    expect(item).to_be_visible()
    meeting_id = item.get_attribute("data-meeting-id")
    assert meeting_id
    page.screenshot(path=str(screenshots / "home-scheduled.png"))

    item.get_by_role("link", name="Open").click()
    expect(page.get_by_test_id("meeting-schedule")).to_contain_text(re.compile(r"45 min \(.* in New York\)"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Add to calendar").click()
    calendar = Calendar.from_ical(open(download.value.path(), "rb").read())
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART") == start  # the wall time chosen, in the zone chosen
    assert event["DTSTART"].params["TZID"] == ZONE
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)
    assert str(event["URL"]).endswith(f"/m/{meeting_id}")
    assert str(event["UID"]).startswith(f"{meeting_id}@")
    assert str(event["SUMMARY"]) == "Roadmap planning"
    page.screenshot(path=str(screenshots / "prejoin-scheduled-host.png"))

    guest.open_meeting(meeting_id)
    gpage = guest.page
    expect(gpage.get_by_test_id("not-open-yet")).to_be_visible()
    expect(gpage.get_by_role("button", name=re.compile(r"^Opens at"))).to_be_disabled()
    expect(gpage.get_by_role("button", name="Cancel meeting")).to_have_count(0)  # the host's only
    gpage.set_viewport_size(PHONE)
    gpage.screenshot(path=str(screenshots / "prejoin-not-open-yet-390.png"), full_page=True)

    page.get_by_role("button", name="Cancel meeting").click()  # the confirmation is accepted
    expect(page.get_by_test_id("meeting-ended")).to_have_text("This meeting was cancelled")
    page.screenshot(path=str(screenshots / "cancelled.png"))
    # the guest's page reads the meeting again now and then, and shows the cancellation
    expect(gpage.get_by_test_id("meeting-ended")).to_have_text("This meeting was cancelled", timeout=40_000)
    assert host.page_errors == [] and guest.page_errors == []


def test_the_calendar_feed_card_knows_whether_an_address_is_shared(participants: ParticipantFactory, screenshots) -> None:
    user = participants("Cora")
    user.sign_in("/")
    page = user.page
    card = page.get_by_role("region", name="Calendar feed")
    expect(card.get_by_role("button", name="Get calendar address")).to_be_visible()
    expect(card.get_by_role("button", name="Stop sharing")).to_have_count(0)  # nothing is shared yet

    card.get_by_role("button", name="Get calendar address").click()
    address = card.get_by_label("Calendar address")
    expect(address).to_have_value(re.compile(r"/api/meetings/calendar-feed/pcf_.+\.ics$"))

    page.reload()  # the address is shown only once; the page still knows one is shared
    expect(card.get_by_test_id("feed-state")).to_contain_text("You have shared a calendar address since")
    expect(card.get_by_label("Calendar address")).to_have_count(0)
    expect(card.get_by_role("button", name="New address")).to_be_visible()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "home-calendar-feed-shared.png"))
    page.set_viewport_size(PHONE)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "home-calendar-feed-shared-390.png"))

    card.get_by_role("button", name="Stop sharing").click()
    expect(card.get_by_role("status")).to_have_text("Your calendar address no longer works.")
    expect(card.get_by_role("button", name="Stop sharing")).to_have_count(0)
    expect(card.get_by_role("button", name="Get calendar address")).to_be_visible()
    assert user.page_errors == []

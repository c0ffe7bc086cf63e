"""Guests and codes in Chromium: someone without an account joins a meeting that allows
guests by name and sees and hears the others; a meeting that does not allow guests sends a
visitor to sign-in; Home's "Join with a code or link" opens a meeting from a code or a link
and says what is wrong with anything else.

Three browser contexts for the meeting: Ada (its host, signed in) and Linus (signed in) join as
in test_meeting_room.py; Grace opens the invite link in a fresh context with no account.
Screenshots at 1280x720 and 390x844: ``guests-*.png``.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from browser_harness import (
    ACTION_TIMEOUT_MS, PAGE_HOOKS, PHONE, VIEWPORT, Api, Participant, ParticipantFactory, User,
    wait_inbound_growing, wait_remote_videos_playing, wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]


def _meeting(api: Api, host: User, title: str, *, allow_guests: bool) -> str:
    resp = api.http.post("/api/meetings", json={"title": title, "allow_guests": allow_guests}, headers=host.headers)
    assert resp.status_code == 201, resp.text
    assert resp.json()["allow_guests"] is allow_guests
    return resp.json()["meeting_id"]


def _visitor(browser, api: Api, name: str) -> Participant:
    """A fresh context with no account (the guest fills in its name; its id is learnt later)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.add_init_script(script=PAGE_HOOKS)
    page = context.new_page()
    visitor = Participant(User("", "", name, ""), context, page, api.base_url)
    page.on("pageerror", lambda exc: visitor.page_errors.append(str(exc)))
    return visitor


def test_a_guest_joins_by_name_and_sees_and_hears_the_others(
    api: Api, participants: ParticipantFactory, browser, screenshots
) -> None:
    ada, linus = participants("Ada"), participants("Linus")
    meeting_id = _meeting(api, ada.user, "Guests welcome", allow_guests=True)
    ada.join(meeting_id)
    linus.join(meeting_id)

    grace = _visitor(browser, api, "Grace")
    try:
        page = grace.page
        page.goto(f"{api.base_url}/m/{meeting_id}")
        expect(page.get_by_role("heading", name="Guests welcome")).to_be_visible(timeout=20_000)
        join = page.get_by_role("button", name="Join as a guest")
        expect(join).to_be_disabled()  # a name first, and the page says so
        expect(page.get_by_label("Display name")).to_have_accessible_description(
            "Enter a name to join: others in the meeting will see it.")
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        grace.wait_preview_playing()
        page.get_by_label("Display name").fill("Grace")
        page.screenshot(path=str(screenshots / "guests-prejoin-1280x720.png"))
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(screenshots / "guests-prejoin-390x844.png"), full_page=True)
        page.set_viewport_size(VIEWPORT)
        join.click()
        local = grace.grid().locator('[data-testid="tile"][data-local="true"]').first
        expect(local).to_be_visible(timeout=20_000)
        guest_id = local.get_attribute("data-user-id")
        assert guest_id and guest_id.startswith("guest-"), guest_id
        grace.user.user_id = guest_id

        # the guest sees and hears both; both see the guest (and hear the room)
        seen = {t["user_id"] for t in wait_remote_videos_playing(grace, 2)}
        assert seen == {ada.user.user_id, linus.user.user_id}
        wait_inbound_growing(grace, "audio")
        for person in (ada, linus):
            wait_remote_videos_playing(person, 1, user_id=guest_id)
            wait_inbound_growing(person, "audio")
        expect(ada.camera_tile(guest_id)).to_contain_text("Grace")
        # the guest has the meeting's chat, and no notes
        grace.send_chat("Hello from a guest")
        expect(grace.chat_messages().filter(has_text="Hello from a guest")).to_have_count(1, timeout=20_000)
        ada.open_chat()
        expect(ada.chat_messages().filter(has_text="Hello from a guest")).to_have_count(1, timeout=20_000)
        expect(page.get_by_role("button", name="Notes", exact=True)).to_have_count(0)
        page.screenshot(path=str(screenshots / "guests-in-room-1280x720.png"))
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(screenshots / "guests-in-room-390x844.png"))
        page.set_viewport_size(VIEWPORT)
        assert grace.page_errors == [] and ada.page_errors == [] and linus.page_errors == []
    finally:
        grace.context.close()


def test_a_meeting_without_guests_sends_a_visitor_to_sign_in(api: Api, participants: ParticipantFactory, browser) -> None:
    ada = participants("Ada")
    meeting_id = _meeting(api, ada.user, "Members only", allow_guests=False)
    visitor = _visitor(browser, api, "Gus")
    try:
        visitor.page.goto(f"{api.base_url}/m/{meeting_id}")
        expect(visitor.page).to_have_url(re.compile(rf"/signin\?next=%2Fm%2F{meeting_id}$"))
    finally:
        visitor.context.close()


def test_a_guest_early_for_a_scheduled_meeting_sees_when_it_opens(
    api: Api, participants: ParticipantFactory, browser, screenshots
) -> None:
    """The public view says when a scheduled meeting takes place and opens: a guest who comes
    early sees it, and "Join" waits ("Opens at …"), as for a signed-in participant. It used to
    show nothing of the schedule, treat the guest as the host, and refuse the join with "Try
    again at the time shown" where no time was shown. No "Add to calendar" (a guest may not
    read the invitation)."""
    ada = participants("Ada")
    start = "2099-05-04T09:30:00+02:00"
    resp = api.http.post("/api/meetings", json={"title": "Launch review", "allow_guests": True, "scheduled_start": start,
                                                "time_zone": "Europe/Paris"}, headers=ada.user.headers)
    assert resp.status_code == 201, resp.text
    public = api.http.get(f"/api/meetings/{resp.json()['meeting_id']}/public").json()
    assert public["scheduled_start"] == "2099-05-04T07:30:00Z" and public["opens_at"] and public["time_zone"] == "Europe/Paris"
    visitor = _visitor(browser, api, "Gus")
    try:
        visitor.page.goto(f"{api.base_url}/m/{resp.json()['meeting_id']}")
        expect(visitor.page.get_by_test_id("meeting-schedule")).to_contain_text("Scheduled for")
        expect(visitor.page.get_by_test_id("not-open-yet")).to_contain_text("This meeting opens at")
        visitor.page.get_by_label("Display name").fill("Gus")
        join = visitor.page.get_by_role("button", name=re.compile(r"^Opens at"))
        expect(join).to_be_disabled()
        expect(visitor.page.get_by_role("button", name="Add to calendar")).to_have_count(0)
        visitor.page.screenshot(path=str(screenshots / "guests-scheduled-early-1280x720.png"))
        assert visitor.page_errors == []
    finally:
        visitor.context.close()


def test_a_guest_pass_the_server_refuses_is_forgotten_and_the_next_join_is_a_new_guest(
    api: Api, participants: ParticipantFactory, browser, screenshots
) -> None:
    """The tab's guest pass (docs/web-client.md, "Reload") is only trusted until the server
    refuses it: a forged or outdated one in sessionStorage gives a clear error once, then a
    new guest joins."""
    ada = participants("Ada")
    meeting_id = _meeting(api, ada.user, "Passes checked", allow_guests=True)
    grace = _visitor(browser, api, "Grace")
    try:
        page = grace.page
        page.goto(f"{api.base_url}/m/{meeting_id}")
        expect(page.get_by_role("button", name="Join as a guest")).to_be_visible(timeout=20_000)
        forged = {"accessToken": "not-a-token", "expiresAt": int(time.time() * 1000) + 3_600_000,
                  "userId": "guest-" + "0" * 32, "displayName": "Grace"}
        page.evaluate("([key, pass]) => sessionStorage.setItem(key, JSON.stringify(pass))",
                      [f"parley.guest.{meeting_id}", forged])
        page.reload()
        expect(page.get_by_label("Display name")).to_have_value("Grace", timeout=20_000)
        page.get_by_role("button", name="Join as a guest").click()
        expect(page.get_by_role("alert").filter(has_text="Your guest pass is no longer valid")).to_be_visible(timeout=20_000)
        page.screenshot(path=str(screenshots / "guests-pass-refused-1280x720.png"))
        assert page.evaluate(f"sessionStorage.getItem('parley.guest.{meeting_id}')") is None
        page.get_by_role("button", name="Join as a guest").click()
        local = grace.grid().locator('[data-testid="tile"][data-local="true"]').first
        expect(local).to_be_visible(timeout=30_000)
        guest_id = local.get_attribute("data-user-id")
        assert guest_id and guest_id.startswith("guest-") and guest_id != forged["userId"], guest_id
        assert grace.page_errors == []
    finally:
        grace.context.close()


def test_home_joins_with_a_code_or_a_link_and_explains_anything_else(
    api: Api, participants: ParticipantFactory, screenshots
) -> None:
    ada, linus = participants("Ada"), participants("Linus")
    meeting_id = _meeting(api, ada.user, "By code", allow_guests=False)
    linus.sign_in("/")
    page = linus.page
    box = page.get_by_label("Meeting code or link")
    box.fill("not a code")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="not a meeting code or link")).to_be_visible()
    page.screenshot(path=str(screenshots / "guests-home-code-error-1280x720.png"))
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(screenshots / "guests-home-code-390x844.png"), full_page=True)
    page.set_viewport_size(VIEWPORT)
    box.fill(f"  {meeting_id.upper()} ")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/m/{meeting_id}$"))
    expect(page.get_by_role("heading", name="By code")).to_be_visible()
    page.goto(f"{api.base_url}/")
    page.get_by_label("Meeting code or link").fill(f"{api.base_url}/m/{meeting_id}")
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/m/{meeting_id}$"))


def test_the_host_allows_guests_from_the_meeting_page(api: Api, participants: ParticipantFactory, screenshots) -> None:
    ada = participants("Ada")
    meeting_id = _meeting(api, ada.user, "Switch it on", allow_guests=False)
    ada.open_meeting(meeting_id)
    switch = ada.page.get_by_role("switch", name="Allow guests")
    expect(switch).to_be_visible(timeout=30_000)  # signed in, on the meeting's pre-join
    expect(switch).not_to_be_checked()
    switch.click()
    expect(switch).to_be_checked()
    ada.page.screenshot(path=str(screenshots / "guests-host-switch-1280x720.png"))

    def public_allows_guests() -> tuple[bool, dict]:
        public = api.http.get(f"/api/meetings/{meeting_id}/public").json()
        return public["allow_guests"] is True, public

    # through Traefik the other meetings replica may answer: its cached summary changes once
    # its meeting.updated reached it (docs/events.md; milliseconds, more on a loaded machine)
    wait_until(ada.page, public_allows_guests, 15, "a public page that allows guests")

"""axe-core finds no violation on any screen of the web client, at 1280x720, at 390x844 and
in the dark colour scheme, and no page scrolls sideways on the phone (axe_check.py: WCAG 2.0
and 2.1 A and AA, and best practices). Contract: docs/web-client.md.

Two walks: the pages outside a meeting (sign-in, register, contacts with a conversation open,
the outgoing and incoming call screens, home with a meeting, the Developer page with a key);
and a meeting with a lobby (the host's and a guest's pre-join, the waiting page, the host's
lobby list, the room with three people and each panel, the ending dialog, the phone's "More"
menu, the ended page). Screenshots: ``a11y-*.png`` (a message not sent; contacts on a phone).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from axe_check import assert_no_axe_violations, assert_screen_accessible
from browser_harness import PHONE, VIEWPORT, Api, ParticipantFactory, wait_remote_videos_playing
from test_calls import call, two_contacts
from test_direct_messages import open_conversation, send
from test_guests import _visitor
from test_lobby import _meeting

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

EVENT_MS = 30_000


def test_the_pages_outside_a_meeting(api: Api, participants: ParticipantFactory, browser, screenshots) -> None:
    visitor = browser.new_page(viewport=VIEWPORT)
    try:
        visitor.goto(f"{api.base_url}/signin")
        expect(visitor.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        assert_screen_accessible(visitor, "sign-in")
        visitor.get_by_role("link", name="Create an account").click()
        expect(visitor.get_by_role("button", name="Create account")).to_be_visible()
        assert_screen_accessible(visitor, "register")
    finally:
        visitor.close()

    ada, bob = two_contacts(api, participants, "Ada", "Bob")
    assert_screen_accessible(ada.page, "contacts")
    call(ada, bob)
    assert_screen_accessible(ada.page, "outgoing call")
    ringing = bob.page.get_by_test_id("incoming-call")
    expect(ringing).to_be_visible(timeout=EVENT_MS)
    assert_screen_accessible(bob.page, "incoming call")
    ringing.get_by_role("button", name="Decline").click()
    outgoing = ada.page.get_by_test_id("outgoing-call")
    expect(outgoing).to_have_attribute("data-outcome", "declined", timeout=EVENT_MS)
    outgoing.get_by_role("button", name="Close").click()

    open_conversation(ada, bob)
    send(ada, "Hello Bob")
    expect(ada.page.get_by_test_id("dm-message")).to_have_count(1)
    expect(ada.page.locator('[data-testid="dm-message"].chat-pending')).to_have_count(0, timeout=EVENT_MS)
    assert_screen_accessible(ada.page, "contacts with a conversation open")
    ada.go_offline()  # a message that could not be sent: "Not sent." and "Retry"
    send(ada, "Are you there?")
    failed = ada.page.get_by_test_id("dm-message").filter(has_text="Not sent.")
    expect(failed).to_have_count(1)
    assert_screen_accessible(ada.page, "contacts with a message not sent")
    ada.page.screenshot(path=str(screenshots / "a11y-message-not-sent-1280x720.png"))
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "a11y-contacts-390x844.png"), full_page=True)
    ada.page.set_viewport_size(VIEWPORT)
    ada.go_online()
    failed.get_by_role("button", name="Retry").click()
    expect(ada.page.locator('[data-testid="dm-message"].chat-pending')).to_have_count(0, timeout=EVENT_MS)

    api.create_meeting(ada.user, "Planning")
    ada.page.goto(f"{api.base_url}/")
    expect(ada.page.get_by_test_id("meeting-item").filter(has_text="Planning")).to_be_visible()
    assert_screen_accessible(ada.page, "home")

    ada.page.get_by_role("link", name="Developer").click()
    ada.page.get_by_label("Name").fill("CRM integration")
    ada.page.get_by_role("button", name="Create key").click()
    expect(ada.page.get_by_test_id("api-key-secret")).to_be_visible()
    expect(ada.page.get_by_test_id("api-key-item")).to_have_count(1)
    assert_screen_accessible(ada.page, "developer")
    assert ada.page_errors == [] and bob.page_errors == []


def test_a_meeting_from_pre_join_to_its_end(api: Api, participants: ParticipantFactory, browser) -> None:
    ada, linus = participants("Ada"), participants("Linus")
    meeting_id = _meeting(api, ada.user, "Accessible", admission="lobby", allow_guests=True)
    ada.open_meeting(meeting_id)
    ada.wait_preview_playing()
    assert_screen_accessible(ada.page, "pre-join (host)")
    ada.enter_room()

    grace = _visitor(browser, api, "Grace")
    try:
        page = grace.page
        page.goto(f"{api.base_url}/m/{meeting_id}")
        grace.wait_preview_playing()
        page.get_by_label("Display name").fill("Grace")
        assert_screen_accessible(page, "pre-join (guest)")
        page.get_by_role("button", name="Ask to join").click()
        expect(page.get_by_role("heading", name="Waiting for the host to let you in")).to_be_visible(
            timeout=20_000)
        assert_screen_accessible(page, "lobby waiting page")

        alert = ada.page.get_by_test_id("lobby-alert")
        expect(alert).to_contain_text("Grace is waiting in the lobby", timeout=20_000)
        assert_no_axe_violations(ada.page, "room with the lobby alert")
        alert.get_by_role("button", name="Show lobby").click()
        expect(ada.page.get_by_test_id("lobby-person")).to_have_count(1)
        assert_screen_accessible(ada.page, "the host's lobby list")
        ada.page.get_by_role("button", name="Admit Grace").click()
        expect(grace.grid().locator('[data-testid="tile"][data-local="true"]')).to_be_visible(timeout=30_000)

        linus.open_meeting(meeting_id)
        linus.wait_preview_playing()
        linus.page.get_by_role("button", name="Ask to join").click()
        ada.page.get_by_role("button", name="Admit Linus").click(timeout=20_000)
        expect(linus.grid().locator('[data-testid="tile"][data-local="true"]')).to_be_visible(timeout=30_000)
        ada.page.get_by_role("button", name="Participants", exact=True).click()  # closes it
        wait_remote_videos_playing(ada, 2)
        assert_screen_accessible(ada.page, "room with three")

        # each panel open
        ada.send_chat("Welcome, both")
        expect(ada.chat_messages()).to_have_count(1)
        expect(ada.page.locator('[data-testid="chat-message"].chat-pending')).to_have_count(0, timeout=EVENT_MS)
        assert_screen_accessible(ada.page, "room with the chat panel")
        ada.page.get_by_role("button", name="Chat", exact=True).click()
        for panel in ("Participants", "Notes", "Devices"):
            button = ada.page.get_by_role("button", name=panel, exact=True)
            button.click()
            expect(button).to_have_attribute("aria-expanded", "true")
            if panel == "Notes":
                ada.page.get_by_label("Private notes").fill("Ask about the budget")
                expect(ada.page.get_by_text("Saved", exact=True)).to_be_visible()
            assert_screen_accessible(ada.page, f"room with the {panel.lower()} panel")
            button.click()
        # the open menu button's accent behind its hint (the current filter)
        filters = ada.page.get_by_role("button", name="Video filter", exact=True)
        filters.click()
        expect(filters).to_have_attribute("aria-expanded", "true")
        assert_no_axe_violations(ada.page, "room with the video filter menu")
        ada.page.keyboard.press("Escape")
        expect(filters).to_have_attribute("aria-expanded", "false")

        ada.page.get_by_role("button", name="End meeting for everyone").click()
        dialog = ada.page.get_by_role("dialog", name="End the meeting for everyone?")
        expect(dialog).to_be_visible()
        assert_screen_accessible(ada.page, "the end-for-everyone dialog")
        dialog.get_by_role("button", name="Cancel").click()

        ada.page.set_viewport_size(PHONE)
        more = ada.page.get_by_role("button", name="More", exact=True)
        more.click()
        expect(ada.page.get_by_role("group", name="More controls")).to_be_visible()
        assert_no_axe_violations(ada.page, "the phone's More menu")
        ada.page.get_by_role("button", name="End meeting for everyone").click()
        dialog.get_by_role("button", name="End for everyone").click()
        ended = linus.page.get_by_test_id("meeting-ended")
        expect(ended).to_be_visible(timeout=EVENT_MS)
        assert_screen_accessible(linus.page, "meeting ended")
        assert grace.page_errors == [] and ada.page_errors == [] and linus.page_errors == []
    finally:
        grace.context.close()

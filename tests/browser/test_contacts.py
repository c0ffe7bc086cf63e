"""Contacts in two browsers: Ada adds Bob by email, Bob accepts, both see each other online.

Each person has their own Chromium context (1280x720), signed in through the UI, on
``/contacts``. Ada's invitation reaches Bob's open page live (``contacts-changed`` over
signaling), his acceptance reaches Ada's the same way, and each sees the other "Online":
every signed-in page holds a signaling socket, and presence comes from signaling's records
through auth (docs/signaling.md, "Presence"). Bob stays online on his home page; when he
leaves Parley (no socket left), Ada sees him offline, "last seen just now", without reloading. Screenshots at 1280x720
and 390x844: ``contacts-*.png``.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from browser_harness import PHONE, VIEWPORT, Api, HeldAnswers, ParticipantFactory
from test_calls import befriend

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PRESENCE_S = 30_000


def test_add_accept_and_see_each_other_online(participants: ParticipantFactory, screenshots) -> None:
    ada = participants("Ada")
    bob = participants("Bob")
    ada.sign_in("/contacts")
    bob.sign_in("/contacts")
    expect(ada.page.get_by_role("heading", name="Contacts", exact=True)).to_be_visible()
    expect(ada.page.get_by_text("No contacts yet")).to_be_visible()

    # a clear error for an unknown address
    ada.page.get_by_label("Email address").fill("nobody-here@example.com")
    ada.page.get_by_role("button", name="Send invitation").click()
    expect(ada.page.get_by_role("alert")).to_contain_text("No Parley user has this email address")

    ada.page.get_by_label("Email address").fill(bob.user.email)
    ada.page.get_by_role("button", name="Send invitation").click()
    expect(ada.page.get_by_test_id("invitation-outgoing").filter(has_text="Bob")).to_be_visible()

    incoming = bob.page.get_by_test_id("invitation-incoming").filter(has_text="Ada")
    expect(incoming).to_be_visible(timeout=PRESENCE_S)  # live, without a reload
    bob.page.screenshot(path=str(screenshots / "contacts-invitation.png"))
    incoming.get_by_role("button", name="Accept").click()

    bob_at_ada = ada.page.locator(f'[data-testid="contact-item"][data-user-id="{bob.user.user_id}"]')
    ada_at_bob = bob.page.locator(f'[data-testid="contact-item"][data-user-id="{ada.user.user_id}"]')
    expect(bob_at_ada.get_by_test_id("presence-status")).to_have_attribute("data-state", "online", timeout=PRESENCE_S)
    expect(ada_at_bob.get_by_test_id("presence-status")).to_have_attribute("data-state", "online", timeout=PRESENCE_S)
    expect(bob_at_ada).to_contain_text("Online")
    expect(ada_at_bob).to_contain_text("Online")
    expect(ada.page.get_by_test_id("invitation-outgoing")).to_have_count(0)
    ada.page.screenshot(path=str(screenshots / "contacts-online-1280x720.png"))
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "contacts-online-390x844.png"), full_page=True)

    # search among one's contacts
    ada.page.get_by_label("Search contacts").fill("zz")
    expect(ada.page.get_by_text("No contact matches your search.")).to_be_visible()
    ada.page.get_by_label("Search contacts").fill("bo")
    expect(bob_at_ada).to_be_visible()

    # the app's socket stays open from page to page: on his home page Bob is still online
    bob.page.locator("a.brand").click()
    expect(bob.page).to_have_title("Your meetings · Parley")
    bob.page.wait_for_timeout(3_000)  # a presence change would have reached Ada's page by now
    expect(bob_at_ada.get_by_test_id("presence-status")).to_have_attribute("data-state", "online")

    # Bob leaves Parley: his only socket closes, and Ada sees it live, with his row's buttons
    # where they were (the longer "Offline · last seen …" used to push them to another line)
    ada.page.set_viewport_size(VIEWPORT)
    call_bob = bob_at_ada.get_by_role("button", name="Call Bob")
    online_box = call_bob.bounding_box()
    bob.page.goto("about:blank")
    expect(bob_at_ada.get_by_test_id("presence-status")).to_have_attribute("data-state", "offline", timeout=PRESENCE_S)
    expect(bob_at_ada).to_contain_text("last seen just now")
    assert call_bob.bounding_box() == online_box
    ada.page.screenshot(path=str(screenshots / "contacts-offline-1280x720.png"))
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "contacts-offline-390x844.png"), full_page=True)
    assert ada.page_errors == [] and bob.page_errors == []


def test_presence_that_comes_while_the_list_loads_is_kept(api: Api, participants: ParticipantFactory) -> None:
    """The contact list read while Bob was offline reaches Ada's page only after his
    ``presence`` event (the request held in her browser): the page still shows him online."""
    ada = participants("Ada")
    bob = participants("Bob")
    befriend(api, ada.user, bob.user)
    presence_frames: list[str] = []
    ada.page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: '"presence"' in str(frame) and presence_frames.append(str(frame))))
    ada.sign_in("/")

    held = HeldAnswers(ada, "**/api/auth/contacts")
    ada.page.get_by_role("link", name="Contacts").click()
    held.wait("the contact list")
    presence_frames.clear()
    bob.sign_in("/")
    deadline = time.monotonic() + PRESENCE_S / 1000
    while not presence_frames and time.monotonic() < deadline:
        ada.page.wait_for_timeout(100)
    assert presence_frames, "Bob's presence never reached Ada's socket"
    held.release()
    bob_at_ada = ada.page.locator(f'[data-testid="contact-item"][data-user-id="{bob.user.user_id}"]')
    expect(bob_at_ada.get_by_test_id("presence-status")).to_have_attribute("data-state", "online")
    ada.page.wait_for_timeout(1_000)
    expect(bob_at_ada.get_by_test_id("presence-status")).to_have_attribute("data-state", "online")
    assert ada.page_errors == [] and bob.page_errors == []


def test_an_invitation_shows_on_home_and_leads_to_its_answer(api: Api, participants: ParticipantFactory,
                                                              screenshots) -> None:
    """Someone who stays on home learns of a contact invitation there, live, and is led to
    /contacts to answer it; once answered, home no longer shows it."""
    ada, grace, linus = participants("Ada"), participants("Grace"), participants("Linus")
    ada.sign_in()
    notice = ada.page.get_by_test_id("invitation-notice")
    expect(ada.page.get_by_role("button", name="New meeting")).to_be_visible()
    expect(notice).to_have_count(0)

    for inviter in (grace, linus):
        invited = api.http.post("/api/auth/contacts/invitations", json={"email": ada.user.email},
                                headers=inviter.user.headers)
        assert invited.status_code == 201, invited.text
    expect(notice).to_contain_text("Grace and Linus invited you to be contacts.", timeout=PRESENCE_S)
    expect(notice.get_by_role("heading", name="Contact invitations")).to_be_visible()
    ada.page.screenshot(path=str(screenshots / "home-invitations-1280x720.png"))
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "home-invitations-390x844.png"))
    notice_box, page_width = notice.bounding_box(), ada.page.evaluate("document.documentElement.scrollWidth")
    assert notice_box and notice_box["x"] + notice_box["width"] <= PHONE["width"] and page_width <= PHONE["width"]

    notice.get_by_role("link", name="See invitations").click()
    invitation = ada.page.get_by_test_id("invitation-incoming").filter(has_text="Grace")
    invitation.get_by_role("button", name="Accept").click()
    expect(ada.page.get_by_test_id("invitation-incoming")).to_have_count(1)
    ada.page.locator("a.brand").click()
    expect(notice).to_contain_text("Linus invited you to be contacts.")
    assert ada.page_errors == []

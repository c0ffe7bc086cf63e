"""Direct messages in two browsers: Ada and Bob write to each other from /contacts; Bob is
offline for some of Ada's messages and finds them all, in order, with the unread count; a
message refused by chat's post limit says why and is sent by "Retry".

Each person has their own Chromium context (1280x720). They become contacts through auth's API
(chat learns it from ``parley.contacts`` a moment later, so Ada's first message may be refused
and is retried with the panel's "Retry"). Messages arrive live over the app's signaling socket
(``direct-message``); Bob's unread count shows on Ada's row and in the page title, and clears
when he opens the conversation. Bob's context then goes offline (its socket closed); Ada writes
three messages; when Bob's context is back online the page reloads the conversation list on the
socket's reconnection (docs/signaling.md, "Direct messages"): "3" unread, and the conversation
holds every message once, in order. Screenshots: ``direct-messages.png``,
``direct-message-too-fast.png``.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from browser_harness import Api, Participant, ParticipantFactory, User, HeldAnswers, wait_held
from test_calls import befriend, contact_row

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]

EVENT_MS = 30_000


def open_conversation(person: Participant, other: Participant):
    contact_row(person, other).get_by_role("button", name=f"Message {other.name}").click()
    panel = person.page.get_by_test_id("dm-panel")
    expect(panel).to_have_attribute("data-peer-id", other.user.user_id)
    # below the lists: brought into view, ready to write
    expect(person.page.get_by_label("Message", exact=True)).to_be_focused()
    expect(person.page.get_by_label("Message", exact=True)).to_be_in_viewport()
    return panel


def send(person: Participant, text: str) -> None:
    person.page.get_by_label("Message", exact=True).fill(text)
    person.page.get_by_role("button", name="Send", exact=True).click()


def messages(person: Participant):
    return person.page.get_by_test_id("dm-message")


def test_direct_messages_live_offline_in_order_with_unread_counts(api: Api, participants: ParticipantFactory, screenshots) -> None:
    ada = participants("Ada")
    bob = participants("Bob")
    befriend(api, ada.user, bob.user)
    for person in (ada, bob):
        person.sign_in("/contacts")
    expect(contact_row(ada, bob)).to_be_visible()
    expect(contact_row(bob, ada)).to_be_visible()

    panel = open_conversation(ada, bob)
    expect(panel).to_contain_text("No messages yet")
    send(ada, "Hello Bob")
    # until chat's contact projection knows them, a message is "Not sent.": retry it
    deadline = time.monotonic() + 30
    first = messages(ada).first
    while True:
        ada.page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"dm-message\"].chat-pending') || "
            "document.querySelector('.chat-failed')"
        )
        failed = first.locator(".chat-failed")
        if failed.count() == 0 or time.monotonic() > deadline:
            break
        ada.page.wait_for_timeout(1_000)
        failed.get_by_role("button", name="Retry").click()
    expect(ada.page.locator('[data-testid="dm-message"].chat-pending')).to_have_count(0)
    expect(first.locator(".chat-time")).not_to_have_text("Sending…")

    # live at Bob's: the count on Ada's row and in the title
    badge = contact_row(bob, ada).get_by_test_id("unread-count")
    expect(badge).to_have_text("1", timeout=EVENT_MS)
    expect(bob.page).to_have_title("(1) Contacts · Parley")
    open_conversation(bob, ada)
    expect(messages(bob)).to_have_count(1)
    expect(messages(bob).first).to_contain_text("Hello Bob")
    expect(badge).to_have_count(0)
    expect(bob.page).to_have_title("Contacts · Parley")
    send(bob, "Hi Ada")
    expect(messages(ada)).to_have_count(2, timeout=EVENT_MS)
    expect(messages(ada).last).to_contain_text("Hi Ada")

    # a post over chat's limit per user (lifted on the local stack, so answered here as chat
    # answers it): the message says why it was not sent, and "Retry" sends it
    ada.page.route(re.compile(r"/api/chat/conversations/[^/]+/messages$"), lambda route: route.fulfill(
        status=429, headers={"Retry-After": "3"}, content_type="application/json",
        body='{"detail": {"code": "too_many_messages", "message": "you are sending messages too fast; '
             'try again in 3 seconds"}}'), times=1)
    send(ada, "Too fast?")
    refused = messages(ada).last.locator(".chat-failed")
    expect(refused).to_contain_text("Not sent: you are sending messages too fast. Wait 3 seconds.")
    ada.page.screenshot(path=str(screenshots / "direct-message-too-fast.png"))
    refused.get_by_role("button", name="Retry").click()
    expect(messages(bob)).to_have_count(3, timeout=EVENT_MS)
    expect(messages(ada).last.locator(".chat-failed")).to_have_count(0)

    # Bob away: his socket is gone while Ada writes three messages
    bob.page.get_by_role("button", name="Close the conversation").click()
    bob.go_offline()
    away = ["Are you there?", "I wrote while you were away", "Call me back"]
    for text in away:
        send(ada, text)
    expect(messages(ada)).to_have_count(6)
    expect(ada.page.locator('[data-testid="dm-message"].chat-pending')).to_have_count(0, timeout=EVENT_MS)

    # back: the reconnection reloads the unread counts, and the conversation holds everything in order
    bob.go_online()
    expect(badge).to_have_text("3", timeout=EVENT_MS)
    expect(bob.page).to_have_title("(3) Contacts · Parley")
    open_conversation(bob, ada)
    expected = ["Hello Bob", "Hi Ada", "Too fast?", *away]
    expect(messages(bob)).to_have_count(len(expected), timeout=EVENT_MS)
    assert [m.locator(".chat-text").inner_text() for m in messages(bob).all()] == expected
    expect(badge).to_have_count(0)
    expect(bob.page).to_have_title("Contacts · Parley")
    bob.page.screenshot(path=str(screenshots / "direct-messages.png"))

    # a message after the reconnection arrives live, once
    send(ada, "Good to see you")
    expect(messages(bob)).to_have_count(len(expected) + 1, timeout=EVENT_MS)
    bob.page.wait_for_timeout(1_000)  # a second copy would have arrived with the first
    expect(messages(bob)).to_have_count(len(expected) + 1)

    # on his home page Bob learns of a new message too: its count on "Contacts" and in the title
    bob.page.locator("a.brand").click()
    expect(bob.page).to_have_title("Your meetings · Parley")
    expect(bob.page.get_by_test_id("unread-total")).to_have_count(0, timeout=EVENT_MS)  # all read before
    send(ada, "One more thing")
    expect(bob.page.get_by_test_id("unread-total")).to_have_text("1", timeout=EVENT_MS)
    expect(bob.page).to_have_title("(1) Your meetings · Parley")
    assert ada.page_errors == [] and bob.page_errors == []


def post_direct(api: Api, sender: User, recipient: User, text: str) -> dict:
    """``sender`` writes to ``recipient`` through chat's API; retried while chat's contact
    projection does not know them yet (403 ``not_a_contact``)."""
    deadline = time.monotonic() + 30
    while True:
        resp = api.http.post(f"/api/chat/conversations/{recipient.user_id}/messages", headers=sender.headers,
                             json={"message_id": uuid.uuid4().hex, "text": text})
        if resp.status_code != 403 or time.monotonic() > deadline:
            assert resp.status_code == 201, resp.text
            return resp.json()
        time.sleep(0.5)


def test_a_late_list_or_read_mark_never_hides_a_new_message(api: Api, participants: ParticipantFactory) -> None:
    """Two races of the unread count, each forced by holding one request in Bob's browser: the
    conversation list read from the store before a message that then arrives live, and a read
    mark that reaches chat after a newer message (docs/signaling.md, "Direct messages")."""
    ada = participants("Ada")
    bob = participants("Bob")
    befriend(api, ada.user, bob.user)
    post_direct(api, ada.user, bob.user, "first")
    bob.sign_in("/")
    expect(bob.page.get_by_test_id("unread-total")).to_have_text("1", timeout=EVENT_MS)

    # the list's answer is read at once but reaches the page only after "second" came live
    held_list = HeldAnswers(bob, "**/api/chat/conversations")
    bob.page.get_by_role("link", name="Contacts").click()
    badge = contact_row(bob, ada).get_by_test_id("unread-count")
    bob.page.wait_for_function("() => document.title.startsWith('Contacts')")
    held_list.wait("the conversation list")
    post_direct(api, ada.user, bob.user, "second")
    expect(badge).to_have_text(re.compile("^[12]$"), timeout=EVENT_MS)  # counted live
    held_list.release()
    bob.page.wait_for_timeout(1_000)
    expect(badge).to_have_text("2")
    expect(bob.page).to_have_title("(2) Contacts · Parley")

    # the read mark of what the open conversation shows reaches chat after "third" was stored
    held_read: list = []

    def hold_read(route) -> None:
        held_read.append(route)

    bob.page.route("**/api/chat/conversations/*/read", hold_read)
    open_conversation(bob, ada)
    expect(messages(bob)).to_have_count(2)
    wait_held(bob, held_read, "a read mark")
    bob.page.get_by_role("button", name="Close the conversation").click()
    post_direct(api, ada.user, bob.user, "third")
    expect(badge).to_have_text("3", timeout=EVENT_MS)
    for route in held_read:  # every mark the open conversation sent, in order
        route.continue_()
    bob.page.unroute("**/api/chat/conversations/*/read")
    bob.page.wait_for_timeout(2_000)  # the answer, then the read event's reload of the list
    expect(badge).to_have_text("1")
    expect(bob.page).to_have_title("(1) Contacts · Parley")
    assert bob.page_errors == []

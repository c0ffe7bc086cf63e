"""Direct calls in two or three browsers: ring, accept (media both ways), decline, no answer
then call back, busy.

Each person has their own Chromium context (1280x720). They become contacts through the API
(auth; meetings learns it from ``parley.contacts`` a moment later, so the first "Call" may be
refused with "not one of your contacts" and is tried again). A call is placed with the "Call"
button of a contact on ``/contacts``; the callee's page (any signed-in page holds a signaling
socket: the app's, or a meeting room's) shows the incoming-call screen with the caller's name and a Web Audio ringtone (docs/signaling.md,
"Calls"). The test stack rings for ``TEST_RING_TIMEOUT_S`` (15 s) before a call is missed.
Screenshots at 1280x720 and 390x844: ``calls-*.png``.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from browser_harness import (
    PHONE, VIEWPORT, Api, Participant, ParticipantFactory, User, wait_inbound_growing, wait_remote_videos_playing,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]

EVENT_MS = 30_000
#: The test stack's ring timeout (deploy/local/components.py, TEST_RING_TIMEOUT_S), with room
#: for the sweeper and the event's travel.
MISSED_MS = 15_000 + 30_000


def befriend(api: Api, a: User, b: User) -> None:
    """``a`` invites ``b`` by email and ``b`` accepts (auth's API)."""
    invited = api.http.post("/api/auth/contacts/invitations", json={"email": b.email}, headers=a.headers)
    assert invited.status_code == 201, invited.text
    accepted = api.http.post(f"/api/auth/contacts/{invited.json()['contact_id']}/accept", headers=b.headers)
    assert accepted.status_code == 200, accepted.text


def contact_row(person: Participant, other: Participant):
    return person.page.locator(f'[data-testid="contact-item"][data-user-id="{other.user.user_id}"]')


def call(caller: Participant, callee: Participant) -> None:
    """``caller`` clicks "Call" on ``callee`` on /contacts until meetings knows they are contacts;
    then the "Calling…" screen shows."""
    screen = caller.page.get_by_test_id("outgoing-call")
    deadline = time.monotonic() + 30
    while True:
        contact_row(caller, callee).get_by_role("button", name=f"Call {callee.name}").click()
        expect(screen).to_be_visible()
        caller.page.wait_for_timeout(1_000)
        if screen.get_attribute("data-outcome") != "not-a-contact" or time.monotonic() > deadline:
            break
        screen.get_by_role("button", name="Close").click()
    expect(screen).to_have_attribute("data-outcome", "ringing")
    expect(screen).to_contain_text("Calling…")
    expect(screen).to_contain_text(callee.name)


def in_call(caller: Participant, callee: Participant) -> None:
    """``caller`` calls ``callee``, who accepts; both are in the call's room with their own tile
    and the other's. (Before the other's tile shows, the other may not have joined yet: one who
    leaves then empties the room, which ends the call, as closing the tab would.)"""
    call(caller, callee)
    ringing = callee.page.get_by_test_id("incoming-call")
    expect(ringing).to_be_visible(timeout=EVENT_MS)
    ringing.get_by_role("button", name="Accept").click()
    for person, other in ((caller, callee), (callee, caller)):
        expect(person.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=EVENT_MS)
        tile = f'[data-testid="tile"][data-user-id="{other.user.user_id}"]'
        expect(person.grid().locator(tile).first).to_be_visible(timeout=EVENT_MS)


def two_contacts(api: Api, participants: ParticipantFactory, *names: str) -> list[Participant]:
    people = [participants(name) for name in names]
    for other in people[1:]:
        befriend(api, people[0].user, other.user)
    for person in people:
        person.sign_in("/contacts")
    for other in people[1:]:
        expect(contact_row(people[0], other)).to_be_visible()
    return people


def test_a_call_rings_is_accepted_and_media_flows_both_ways(api: Api, participants: ParticipantFactory, screenshots) -> None:
    ada, bob = two_contacts(api, participants, "Ada", "Bob")
    call(ada, bob)
    ada.page.screenshot(path=str(screenshots / "calls-outgoing-1280x720.png"))

    ringing = bob.page.get_by_test_id("incoming-call")
    expect(ringing).to_be_visible(timeout=EVENT_MS)
    expect(ringing).to_contain_text("Ada")
    expect(ringing).to_contain_text("Incoming call")
    expect(ringing).to_have_attribute("data-ringtone", "playing")
    bob.page.screenshot(path=str(screenshots / "calls-incoming-1280x720.png"))
    bob.page.set_viewport_size(PHONE)
    bob.page.screenshot(path=str(screenshots / "calls-incoming-390x844.png"))
    bob.page.set_viewport_size(VIEWPORT)

    ringing.get_by_role("button", name="Accept").click()
    for person in (ada, bob):  # both land in the call's private room
        expect(person.page).to_have_url(re.compile(r"/m/[a-z]{4}-[a-z]{4}-[a-z]{4}$"), timeout=EVENT_MS)
    assert ada.page.url == bob.page.url
    for person in (ada, bob):  # both answered already: no pre-join, straight into the room
        expect(person.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=EVENT_MS)
        expect(person.page.get_by_role("button", name="Join meeting")).to_have_count(0)
    for person, other in ((ada, bob), (bob, ada)):
        wait_remote_videos_playing(person, 1, user_id=other.user.user_id)
        wait_inbound_growing(person, "audio")
    ada.page.screenshot(path=str(screenshots / "calls-in-call-1280x720.png"))

    bob.page.get_by_role("button", name="Hang up").click()
    for person in (ada, bob):  # told as a call, with the way back to the contacts first
        expect(person.page.get_by_test_id("meeting-ended")).to_have_text("This call has ended", timeout=EVENT_MS)
        expect(person.page).to_have_title("Call ended · Parley")
    ada.page.screenshot(path=str(screenshots / "calls-ended-1280x720.png"))
    ada.page.get_by_role("link", name="Back to contacts").click()
    expect(ada.page).to_have_title(re.compile(r"Contacts · Parley$"))
    assert ada.page_errors == [] and bob.page_errors == []


def test_a_caller_who_leaves_the_room_finds_the_way_back_to_the_call(api: Api, participants: ParticipantFactory, screenshots) -> None:
    """Leave (not Hang up) keeps the call for the other: the page says so as a call, and every
    other page shows a bar back to it, named for the callee, that hides none of the page."""
    ada, bob = two_contacts(api, participants, "Ada", "Bob")
    in_call(ada, bob)

    ada.page.get_by_role("button", name="Leave").click()
    expect(ada.page.get_by_role("heading", name="You left the call")).to_be_visible()
    ada.page.get_by_role("link", name="Back to contacts").click()
    expect(ada.page).to_have_title(re.compile(r"Contacts · Parley$"))
    expect(ada.page.get_by_role("link", name="Contacts")).to_have_attribute("aria-current", "page")
    expect(ada.page.get_by_role("button", name="Sign out")).to_be_visible()
    bar = ada.page.get_by_test_id("active-call")
    expect(bar).to_contain_text("Call with Bob in progress")
    contact_row(ada, bob).get_by_role("button", name="Message Bob").click()  # a longer page
    for size, name in ((VIEWPORT, "1280x720"), (PHONE, "390x844")):
        ada.page.set_viewport_size(size)
        ada.page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        ada.page.wait_for_timeout(300)
        last = ada.page.locator("main .card").last.bounding_box()
        box = bar.bounding_box()
        assert last and box and last["y"] + last["height"] <= box["y"], (name, last, box)
        ada.page.screenshot(path=str(screenshots / f"calls-return-bar-{name}.png"))
    # a meeting's pre-join on a phone: its Join bar, sticky at the bottom, sits above the call's bar
    ada.page.goto(f"{api.base_url}/m/{api.create_meeting(ada.user, 'Design review')}")
    join = ada.page.get_by_role("button", name="Join meeting")
    expect(join).to_be_visible()
    expect(bar).to_be_visible()
    ada.page.wait_for_timeout(300)
    join_box, box = join.bounding_box(), bar.bounding_box()
    assert join_box and box and join_box["y"] + join_box["height"] <= box["y"], (join_box, box)
    on_top = "b => { const r = b.getBoundingClientRect(); return document.elementFromPoint(r.x + 4, r.y + 4) === b }"
    assert join.evaluate(on_top), "the call's bar covers the pre-join's Join button"
    # and the Join bar rests on the call's: no gap for the form to show through
    join_bar = ada.page.locator(".prejoin-join-bar").bounding_box()
    assert join_bar and box["y"] - 1 <= join_bar["y"] + join_bar["height"] <= box["y"] + 1, (join_bar, box)
    ada.page.screenshot(path=str(screenshots / "calls-return-bar-prejoin-390x844.png"))
    ada.page.goto(f"{api.base_url}/contacts")
    ada.page.set_viewport_size(VIEWPORT)

    bar.get_by_role("link", name="Return to the call").click()  # straight into the room, as when answered
    expect(ada.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=EVENT_MS)
    expect(bar).to_have_count(0)
    wait_remote_videos_playing(ada, 1, user_id=bob.user.user_id)
    ada.page.get_by_role("button", name="Hang up").click()
    for person in (ada, bob):
        expect(person.page.get_by_test_id("meeting-ended")).to_have_text("This call has ended", timeout=EVENT_MS)
    assert ada.page_errors == [] and bob.page_errors == []


def test_a_caller_who_leaves_before_the_callee_arrives_leaves_the_call_to_them(api: Api, participants: ParticipantFactory) -> None:
    """Bob answers (from another device: the API) and his page is still on its way when Ada,
    alone in the room, leaves: the call waits for him. Ada keeps the bar back to it; Bob's
    page then goes straight into the call, and Ada returns to him there."""
    ada, bob = two_contacts(api, participants, "Ada", "Bob")
    call(ada, bob)
    live = api.http.get("/api/calls", headers=bob.user.headers).json()["live"]
    answered = api.http.post(f"/api/calls/{live[0]['call_id']}/accept", headers=bob.user.headers)
    assert answered.status_code == 200, answered.text
    room = answered.json()["room_id"]
    expect(ada.page).to_have_url(re.compile(f"/m/{room}$"), timeout=EVENT_MS)
    expect(ada.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=EVENT_MS)
    ada.page.get_by_role("button", name="Leave").click()
    ada.page.get_by_role("link", name="Back to contacts").click()
    bar = ada.page.get_by_test_id("active-call")
    expect(bar).to_contain_text("Call with Bob in progress")
    ada.page.wait_for_timeout(3_000)  # the room has been empty for a while: before, the call ended at once
    expect(bar).to_be_visible()

    bob.page.goto(f"{api.base_url}/m/{room}")
    expect(bob.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=EVENT_MS)
    bar.get_by_role("link", name="Return to the call").click()
    for person, other in ((ada, bob), (bob, ada)):
        wait_remote_videos_playing(person, 1, user_id=other.user.user_id)
    assert ada.page_errors == [] and bob.page_errors == []


def test_a_declined_call_tells_the_caller_and_a_reload_still_rings(api: Api, participants: ParticipantFactory, screenshots) -> None:
    ada, bob = two_contacts(api, participants, "Ada", "Bob")
    bob.page.locator("a.brand").click()  # any signed-in page rings: Bob waits on his home page
    expect(bob.page).to_have_title("Your meetings · Parley")
    call(ada, bob)
    ringing = bob.page.get_by_test_id("incoming-call")
    expect(ringing).to_be_visible(timeout=EVENT_MS)

    # the pending call is in the API, not only in the socket: a reload still shows it
    bob.page.reload()
    expect(ringing).to_be_visible(timeout=EVENT_MS)
    expect(ringing).to_contain_text("Ada")
    ringing.get_by_role("button", name="Decline").click()
    expect(ringing).to_have_count(0)

    outgoing = ada.page.get_by_test_id("outgoing-call")
    expect(outgoing).to_have_attribute("data-outcome", "declined", timeout=EVENT_MS)
    expect(outgoing).to_contain_text("Bob declined the call.")
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "calls-declined-390x844.png"))
    outgoing.get_by_role("button", name="Close").click()
    expect(outgoing).to_have_count(0)
    assert ada.page_errors == [] and bob.page_errors == []


def test_an_unanswered_call_is_missed_and_called_back(api: Api, participants: ParticipantFactory, screenshots) -> None:
    ada, bob = two_contacts(api, participants, "Ada", "Bob")
    call(ada, bob)
    expect(bob.page.get_by_test_id("incoming-call")).to_be_visible(timeout=EVENT_MS)

    outgoing = ada.page.get_by_test_id("outgoing-call")
    expect(outgoing).to_have_attribute("data-outcome", "missed", timeout=MISSED_MS)
    expect(outgoing).to_contain_text("Bob did not answer.")
    expect(bob.page.get_by_test_id("incoming-call")).to_have_count(0, timeout=EVENT_MS)
    outgoing.get_by_role("button", name="Close").click()

    bob.page.reload()
    missed = bob.page.get_by_test_id("call-history-item").filter(has_text="Missed call")
    expect(missed).to_be_visible(timeout=EVENT_MS)
    expect(missed).to_contain_text("Ada")
    bob.page.screenshot(path=str(screenshots / "calls-missed-1280x720.png"), full_page=True)
    bob.page.set_viewport_size(PHONE)
    bob.page.screenshot(path=str(screenshots / "calls-missed-390x844.png"), full_page=True)
    no_answer = ada.page.get_by_test_id("call-history-item").filter(has_text="No answer")
    expect(no_answer).to_be_visible(timeout=EVENT_MS)
    expect(no_answer).to_contain_text("Bob")  # never answered: named from Ada's contacts

    missed.get_by_role("button", name="Call back").click()
    expect(bob.page.get_by_test_id("outgoing-call")).to_have_attribute("data-outcome", "ringing", timeout=EVENT_MS)
    ringing = ada.page.get_by_test_id("incoming-call")
    expect(ringing).to_be_visible(timeout=EVENT_MS)
    expect(ringing).to_contain_text("Bob")
    bob.page.get_by_test_id("outgoing-call").get_by_role("button", name="Cancel").click()
    expect(ringing).to_have_count(0, timeout=EVENT_MS)  # the caller hung up: it stops ringing
    assert ada.page_errors == [] and bob.page_errors == []


def ring_and_cancel(api: Api, caller: User, callee: User) -> None:
    """``caller`` calls ``callee`` through the API (again while meetings does not know them as
    contacts yet) and cancels at once: a history entry that names the callee nowhere."""
    deadline = time.monotonic() + 30
    while True:
        placed = api.http.post("/api/calls", json={"callee_id": callee.user_id}, headers=caller.headers)
        if placed.status_code != 403 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert placed.status_code == 201, placed.text
    cancelled = api.http.post(f"/api/calls/{placed.json()['call_id']}/cancel", headers=caller.headers)
    assert cancelled.status_code == 200, cancelled.text


def test_the_history_names_a_former_contact_by_another_call(
        api: Api, participants: ParticipantFactory, screenshots) -> None:
    """Ada called Bob and Carol, who never answered (so the calls do not name them) and are
    no longer her contacts (so her list does not either). Bob once called her: that call names
    him in the history. Nothing names Carol: "Unknown contact"."""
    ada, bob, carol = (participants(name) for name in ("Ada", "Bob", "Carol"))
    for other in (bob, carol):
        befriend(api, ada.user, other.user)
    ring_and_cancel(api, bob.user, ada.user)
    ring_and_cancel(api, ada.user, bob.user)
    ring_and_cancel(api, ada.user, carol.user)
    for other in (bob, carol):
        contact_id = ":".join(sorted((ada.user.user_id, other.user.user_id)))
        removed = api.http.delete(f"/api/auth/contacts/{contact_id}", headers=ada.user.headers)
        assert removed.status_code == 204, removed.text

    ada.sign_in("/contacts")
    history = ada.page.get_by_test_id("call-history-item")
    expect(history).to_have_count(3)
    outgoing = history.and_(ada.page.locator('[data-direction="outgoing"]'))
    expect(outgoing.filter(has_text="Bob")).to_have_count(1)
    expect(outgoing.filter(has_text="Unknown contact")).to_have_count(1)
    ada.page.get_by_test_id("call-history").screenshot(path=str(screenshots / "calls-history-names-1280x720.png"))
    assert ada.page_errors == []


def test_calling_someone_in_a_call_says_busy(api: Api, participants: ParticipantFactory, screenshots) -> None:
    bob, ada, carol = two_contacts(api, participants, "Bob", "Ada", "Carol")
    call(ada, bob)
    ringing = bob.page.get_by_test_id("incoming-call")
    expect(ringing).to_be_visible(timeout=EVENT_MS)
    ringing.get_by_role("button", name="Accept").click()
    expect(bob.page).to_have_url(re.compile(r"/m/"), timeout=EVENT_MS)

    carol.page.goto(f"{carol.base_url}/contacts")
    deadline = time.monotonic() + 30
    screen = carol.page.get_by_test_id("outgoing-call")
    while True:
        contact_row(carol, bob).get_by_role("button", name="Call Bob").click()
        expect(screen).not_to_have_attribute("data-outcome", "ringing", timeout=EVENT_MS)
        carol.page.wait_for_timeout(500)
        if screen.get_attribute("data-outcome") != "not-a-contact" or time.monotonic() > deadline:
            break
        screen.get_by_role("button", name="Close").click()
    expect(screen).to_have_attribute("data-outcome", "busy")
    expect(screen).to_contain_text("Bob is busy in another call.")
    carol.page.screenshot(path=str(screenshots / "calls-busy-1280x720.png"))
    assert carol.page_errors == []


def test_a_call_becomes_a_meeting_that_a_third_person_joins_with_its_chat(api: Api, participants: ParticipantFactory, screenshots) -> None:
    ada, bob, carol = two_contacts(api, participants, "Ada", "Bob", "Carol")
    in_call(ada, bob)
    ada.send_chat("Agenda: the launch")

    # the call's private room: Carol, given its link, is not let in
    carol.page.goto(ada.page.url)
    carol.wait_preview_playing()
    carol.page.get_by_role("button", name="Join meeting").click()
    expect(carol.page.get_by_role("alert")).to_contain_text("This is a private call")

    # Ada adds people: the call becomes a meeting, for both of them
    ada.page.get_by_role("button", name="Add people").click()
    for person in (ada, bob):
        expect(person.page.get_by_test_id("call-became-meeting")).to_be_visible(timeout=EVENT_MS)
        expect(person.page.get_by_role("button", name="Copy invite link")).to_be_visible()
        expect(person.page.get_by_role("button", name="Hang up")).to_have_count(0)
    ada.page.screenshot(path=str(screenshots / "calls-became-meeting-1280x720.png"))

    carol.page.get_by_role("button", name="Join meeting").click()
    expect(carol.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=EVENT_MS)
    wait_remote_videos_playing(carol, 2)
    carol.open_chat()
    expect(carol.chat_messages().filter(has_text="Agenda: the launch")).to_have_count(1, timeout=EVENT_MS)  # the call's chat is kept

    # Bob leaves; the meeting goes on for the others
    bob.page.get_by_role("button", name="Leave").click()
    wait_remote_videos_playing(ada, 1, user_id=carol.user.user_id)
    expect(ada.page.get_by_test_id("meeting-ended")).to_have_count(0)
    assert ada.page_errors == [] and bob.page_errors == [] and carol.page_errors == []

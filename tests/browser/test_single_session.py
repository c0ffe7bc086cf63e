"""One active session per user, as a person meets it in Chromium (two browser contexts).

Ada is in a meeting in her first browser (a live signaling socket: her session holds the
lease). She signs in with a second browser: "You already have an active session", with Cancel
and "Use here". Cancel keeps both as they were; "Use here" signs her in there, and the first
browser at once shows why its session ended (not the sign-in page's "Please sign in"), and does
not reconnect. Screenshots at 1280x720 and 390x844 (artifacts/screenshots/).
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from pymongo import MongoClient

from parley_testing import Stack

from browser_harness import (
    ACTION_TIMEOUT_MS,
    PAGE_HOOKS,
    PASSWORD,
    PHONE,
    VIEWPORT,
    Participant,
    ParticipantFactory,
    wait_inbound_growing,
    wait_remote_videos_playing,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

#: A sign-in hashes the password (argon2id): seconds on a loaded 2-core machine.
SIGN_IN_MS = 30_000


def _both_sizes(who: Participant, name: str) -> None:
    who.screenshot(f"{name}-desktop")
    who.page.set_viewport_size(PHONE)
    who.screenshot(f"{name}-phone")
    who.page.set_viewport_size(VIEWPORT)


def _second_browser(participants: ParticipantFactory, first: Participant) -> Participant:
    context = participants.browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.add_init_script(script=PAGE_HOOKS)
    participants.contexts.append(context)
    second = Participant(first.user, context, context.new_page(), first.base_url)
    second.page.on("pageerror", lambda exc: second.page_errors.append(str(exc)))
    return second


def _wait_for_lease(stack: Stack, user_id: str, timeout_s: float = 30.0) -> None:
    """Wait until auth holds ``user_id``'s session lease: the socket's first ``session.active``
    went through Kafka to auth (a sign-in before it would replace the session quietly)."""
    with MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True) as client:
        deadline = time.monotonic() + timeout_s
        while (client["auth"]["users"].find_one({"_id": user_id}) or {}).get("session_lease_until") is None:
            assert time.monotonic() < deadline, f"no session lease for {user_id} within {timeout_s} s"
            time.sleep(0.3)


def _submit_sign_in(who: Participant) -> None:
    page = who.page
    page.goto(f"{who.base_url}/signin")
    page.get_by_label("Email").fill(who.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_use_here_in_a_second_browser_ends_the_first_session_with_a_reason(
    participants: ParticipantFactory,
    stack: Stack,
) -> None:
    ada = participants("Ada")
    meeting_id = participants.api.create_meeting(ada.user, "One session")
    ada.join(meeting_id)  # in the room: her socket's heartbeats hold the session's lease

    elsewhere = _second_browser(participants, ada)
    _wait_for_lease(stack, ada.user.user_id)
    page = elsewhere.page
    conflict = page.get_by_role("heading", name="You already have an active session")
    _submit_sign_in(elsewhere)
    expect(conflict).to_be_visible(timeout=SIGN_IN_MS)
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    _both_sizes(elsewhere, "session-active-elsewhere")

    # Cancel: back to the form; the first browser is untouched
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(ada.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible()

    _submit_sign_in(elsewhere)
    page.get_by_role("button", name="Use here").click(timeout=SIGN_IN_MS)
    expect(page.get_by_role("button", name="New meeting")).to_be_visible()  # home, signed in

    ended = ada.page.get_by_test_id("session-ended")
    expect(ended).to_be_visible(timeout=20_000)
    expect(ended).to_contain_text("Use here")
    expect(ada.page.get_by_role("heading", name="Your session ended here")).to_be_visible()
    expect(ada.page.get_by_text("Please sign in")).to_have_count(0)
    _both_sizes(ada, "session-ended-replaced")
    # it stays: no reconnection brings the room back, no redirect to the sign-in page
    ada.page.wait_for_timeout(3_000)
    expect(ended).to_be_visible()
    assert "/signin" not in ada.page.url
    assert ada.page_errors == [] and elsewhere.page_errors == []

    # "Sign in here again" is the way back (and would ask, since the other browser is live now)
    ada.page.get_by_role("button", name="Sign in here again").click()
    expect(ada.page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()


def test_the_home_page_holds_the_session_too(participants: ParticipantFactory, stack: Stack) -> None:
    """Outside a meeting the app's user socket holds the lease: signing in elsewhere asks, and
    "Use here" ends the session shown on the home page."""
    ada = participants("Ada")
    ada.sign_in("/")
    expect(ada.page).to_have_title("Your meetings · Parley")
    elsewhere = _second_browser(participants, ada)
    _wait_for_lease(stack, ada.user.user_id)
    _submit_sign_in(elsewhere)
    expect(elsewhere.page.get_by_role("heading", name="You already have an active session")).to_be_visible(timeout=SIGN_IN_MS)
    elsewhere.page.get_by_role("button", name="Use here").click()
    expect(ada.page.get_by_test_id("session-ended")).to_be_visible(timeout=20_000)
    assert ada.page_errors == [] and elsewhere.page_errors == []


def test_a_second_tab_of_the_same_user_takes_the_call_over(participants: ParticipantFactory) -> None:
    """One participant per user (docs/signaling.md): Ada, in a call with Bob, opens the meeting
    in a second tab of the same browser (the same session) and joins. The call moves there:
    the first tab says so and leaves the room, Bob still sees one Ada, now from the second tab,
    and the second tab never calls Ada's first one."""
    ada = participants("Ada")
    bob = participants("Bob")
    meeting_id = participants.api.create_meeting(ada.user, "Two tabs")
    ada.join(meeting_id)
    bob.join(meeting_id)
    wait_remote_videos_playing(bob, 1, user_id=ada.user.user_id)

    tab = Participant(ada.user, ada.context, ada.context.new_page(), ada.base_url)
    tab.page.on("pageerror", lambda exc: tab.page_errors.append(str(exc)))
    tab.page.goto(f"{tab.base_url}/m/{meeting_id}")
    tab.enter_room()

    moved = ada.page.get_by_test_id("participant-moved")
    expect(moved).to_be_visible(timeout=20_000)
    expect(ada.page.get_by_role("heading", name="You joined from another window")).to_be_visible()
    _both_sizes(ada, "participant-moved")

    wait_remote_videos_playing(tab, 1, user_id=bob.user.user_id)
    wait_inbound_growing(tab, "audio")
    wait_remote_videos_playing(bob, 1, user_id=ada.user.user_id)
    # one Ada at Bob's; no Ada among the second tab's remote tiles
    expect(bob.camera_tile(ada.user.user_id)).to_have_count(1)
    assert [t for t in tab.tiles() if not t["local"] and t["user_id"] == ada.user.user_id] == []
    assert ada.page_errors == [] and tab.page_errors == [] and bob.page_errors == []

    # "Join here" brings it back: the second tab is the one told now
    ada.page.get_by_role("button", name="Join here").click()
    ada.enter_room()
    expect(tab.page.get_by_test_id("participant-moved")).to_be_visible(timeout=20_000)
    wait_remote_videos_playing(bob, 1, user_id=ada.user.user_id)
    expect(bob.camera_tile(ada.user.user_id)).to_have_count(1)

"""The lobby and the host's remedies in Chromium (docs/web-client.md, "Lobby and moderation"):
a guest waits in the lobby, the host hears and sees them and admits them, and they meet; a
reload brings the guest back into the call without the lobby; a signed-in newcomer is denied; a participant made co-host gets the host's controls; a removed
participant leaves the room, is told why, and cannot come back.

Ada (host, signed in), Linus (signed in), Grace (a guest in a fresh context without an account).
A waiting page whose user withdrew from another tab goes back to the pre-join and says so.
Screenshots at 1280x720 and 390x844: ``lobby-*.png``.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from browser_harness import VIEWPORT, Api, ParticipantFactory, User, wait_remote_videos_playing
from test_guests import PHONE, _visitor

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]


def _meeting(api: Api, host: User, title: str, **settings) -> str:
    resp = api.http.post("/api/meetings", json={"title": title, **settings}, headers=host.headers)
    assert resp.status_code == 201, resp.text
    return resp.json()["meeting_id"]


def _both_sizes(page, screenshots, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}-1280x720.png"))
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(screenshots / f"{name}-390x844.png"), full_page=True)
    page.set_viewport_size(VIEWPORT)


def test_a_guest_waits_in_the_lobby_the_host_hears_and_admits_them_and_a_newcomer_is_denied(
    api: Api, participants: ParticipantFactory, browser, screenshots
) -> None:
    ada, linus = participants("Ada"), participants("Linus")
    meeting_id = _meeting(api, ada.user, "Lobby on", admission="lobby", allow_guests=True)
    # Linus is no participant: his pre-join asks for the roster once (403), not every 5 s
    roster_reads: list[int] = []
    linus.page.on("response", lambda r: roster_reads.append(r.status) if r.url.endswith(f"/{meeting_id}/roster") else None)
    opened = time.monotonic()
    linus.open_meeting(meeting_id)  # opening the link of a lobby meeting does not knock
    expect(linus.page.get_by_test_id("lobby-notice")).to_be_visible(timeout=20_000)
    ada.join(meeting_id)  # the host never waits

    grace = _visitor(browser, api, "Grace")
    try:
        page = grace.page
        page.goto(f"{api.base_url}/m/{meeting_id}")
        expect(page.get_by_test_id("lobby-notice")).to_be_visible(timeout=20_000)
        grace.wait_preview_playing()
        page.get_by_label("Display name").fill("Grace")
        page.get_by_role("button", name="Ask to join").click()
        expect(page.get_by_role("heading", name="Waiting for the host to let you in")).to_be_visible(timeout=20_000)
        expect(page.get_by_role("button", name="Cancel")).to_be_visible()
        _both_sizes(page, screenshots, "lobby-waiting")

        # the host is told (and a chime played), opens the lobby and lets Grace in
        alert = ada.page.get_by_test_id("lobby-alert")
        expect(alert).to_contain_text("Grace is waiting in the lobby", timeout=20_000)
        assert int(alert.get_attribute("data-beeps") or 0) >= 1
        alert.get_by_role("button", name="Show lobby").click()
        lobby = ada.page.get_by_test_id("lobby-list")
        expect(lobby.get_by_test_id("lobby-person")).to_have_count(1)  # Grace, not Linus
        expect(lobby.get_by_test_id("lobby-person")).to_contain_text("Grace")
        expect(ada.page.get_by_label("Who can join")).to_have_value("lobby")
        _both_sizes(ada.page, screenshots, "lobby-host-list")
        ada.page.get_by_role("button", name="Admit Grace").click()

        local = grace.grid().locator('[data-testid="tile"][data-local="true"]').first
        expect(local).to_be_visible(timeout=30_000)
        guest_id = local.get_attribute("data-user-id")
        assert guest_id and guest_id.startswith("guest-")
        wait_remote_videos_playing(grace, 1, user_id=ada.user.user_id)
        wait_remote_videos_playing(ada, 1, user_id=guest_id)
        expect(lobby.get_by_test_id("lobby-person")).to_have_count(0)

        # a reload brings Grace back into the call as the same guest: no name asked, no lobby
        before_reload = ada.camera_tile(guest_id).get_attribute("data-sid")
        page.reload()
        expect(local).to_be_visible(timeout=30_000)
        assert local.get_attribute("data-user-id") == guest_id
        wait_remote_videos_playing(grace, 1, user_id=ada.user.user_id)
        wait_remote_videos_playing(ada, 1, user_id=guest_id, exclude_sids={before_reload})
        expect(ada.camera_tile(guest_id)).to_have_count(1)
        expect(ada.page.get_by_test_id("lobby-alert")).to_have_count(0)

        # Linus (signed in, on the pre-join since the start) asks too, and is denied
        linus.wait_preview_playing()
        linus.page.wait_for_timeout(max(0.0, 11 - (time.monotonic() - opened)) * 1000)  # two reads' worth
        assert roster_reads == [403], roster_reads
        linus.page.get_by_role("button", name="Ask to join").click()
        expect(linus.page.get_by_role("heading", name="Waiting for the host to let you in")).to_be_visible(timeout=20_000)
        ada.page.get_by_role("button", name="Deny Linus").click(timeout=20_000)
        expect(linus.page.get_by_role("heading", name="The host did not let you in")).to_be_visible(timeout=20_000)
        refused = api.http.post(f"/api/meetings/{meeting_id}/join", headers=linus.user.headers)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "lobby_denied")
        assert grace.page_errors == [] and ada.page_errors == [] and linus.page_errors == []
    finally:
        grace.context.close()


def test_a_co_host_gets_the_controls_and_a_removed_participant_leaves_and_cannot_rejoin(
    api: Api, participants: ParticipantFactory, screenshots
) -> None:
    ada, linus, grace = participants("Ada"), participants("Linus"), participants("Grace")
    meeting_id = _meeting(api, ada.user, "Remedies")
    for person in (ada, linus, grace):
        person.join(meeting_id)
    ada.page.get_by_role("button", name="Participants", exact=True).click(no_wait_after=True)
    expect(ada.page.get_by_role("button", name="Remove Linus")).to_be_visible(timeout=20_000)

    # Grace becomes a co-host: she sees "Co-host" and the room's settings
    ada.page.get_by_role("button", name="Make co-host Grace").click()
    grace.page.get_by_role("button", name="Participants", exact=True).click(no_wait_after=True)
    expect(grace.page.get_by_label("Who can join")).to_be_visible(timeout=20_000)
    expect(grace.page.get_by_test_id("participant-list")).to_contain_text("Co-host")
    expect(grace.page.get_by_role("button", name="Make co-host Linus")).to_have_count(0)  # the host's only

    # Ada removes Linus, after a confirmation
    ada.page.get_by_role("button", name="Remove Linus").click()
    dialog = ada.page.get_by_role("dialog", name="Remove Linus?")
    expect(dialog).to_be_visible()
    _both_sizes(ada.page, screenshots, "lobby-remove-confirm")
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(linus.page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible(timeout=20_000)
    expect(linus.page.get_by_role("alert")).to_contain_text("Ada removed you")
    _both_sizes(linus.page, screenshots, "lobby-removed")
    for person in (ada, grace):
        expect(person.camera_tile(linus.user.user_id)).to_have_count(0, timeout=20_000)

    # the link does not let him back
    linus.page.goto(f"{api.base_url}/m/{meeting_id}")
    expect(linus.page.get_by_role("heading", name="You were removed from the meeting")).to_be_visible(timeout=20_000)
    refused = api.http.post(f"/api/meetings/{meeting_id}/join", headers=linus.user.headers)
    assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "removed_from_meeting")
    assert ada.page_errors == [] and linus.page_errors == [] and grace.page_errors == []


def _host_in_room_and_linus_waiting(ada, linus, meeting_id: str) -> None:
    """Ada (the host) joins; Linus asks to join and sees the waiting screen."""
    ada.join(meeting_id)
    linus.open_meeting(meeting_id)
    linus.wait_preview_playing()
    linus.page.get_by_role("button", name="Ask to join").click()
    expect(linus.page.get_by_role("heading", name="Waiting for the host to let you in")).to_be_visible(timeout=20_000)


def test_closing_the_waiting_page_leaves_the_lobby(api: Api, participants: ParticipantFactory) -> None:
    """Someone who closes the tab while waiting is gone from the host's lobby list at once
    (the page's last request, `DELETE /join` with fetch keepalive), not kept there."""
    ada, linus = participants("Ada"), participants("Linus")
    meeting_id = _meeting(api, ada.user, "Lobby, then gone", admission="lobby")
    _host_in_room_and_linus_waiting(ada, linus, meeting_id)

    alert = ada.page.get_by_test_id("lobby-alert")
    expect(alert).to_contain_text("Linus is waiting in the lobby", timeout=20_000)
    alert.get_by_role("button", name="Show lobby").click()
    people = ada.page.get_by_test_id("lobby-list").get_by_test_id("lobby-person")
    expect(people).to_have_count(1)

    linus.page.close()
    expect(people).to_have_count(0, timeout=20_000)
    lobby = api.http.get(f"/api/meetings/{meeting_id}/lobby", headers=ada.user.headers)
    assert lobby.status_code == 200 and lobby.json()["waiting"] == [], lobby.text


def test_a_waiting_page_whose_user_withdrew_elsewhere_says_so(api: Api, participants: ParticipantFactory, screenshots) -> None:
    """Linus waits in the lobby and withdraws from another tab (here his `DELETE /join`): on its
    next reconnection this page reads `GET /join` (404 `not_in_lobby`), goes back to the pre-join
    and says so, rather than waiting for a decision that cannot come; he can ask again."""
    ada, linus = participants("Ada"), participants("Linus")
    meeting_id = _meeting(api, ada.user, "Lobby, withdrawn elsewhere", admission="lobby")
    _host_in_room_and_linus_waiting(ada, linus, meeting_id)

    withdrawn = api.http.delete(f"/api/meetings/{meeting_id}/join", headers=linus.user.headers)
    assert withdrawn.status_code == 204, withdrawn.text
    linus.go_offline()
    linus.go_online()
    expect(linus.page.get_by_role("alert")).to_contain_text("You stopped waiting in another tab or window", timeout=30_000)
    ask = linus.page.get_by_role("button", name="Ask to join")
    expect(ask).to_be_enabled()
    linus.wait_preview_playing()
    _both_sizes(linus.page, screenshots, "lobby-withdrawn-elsewhere")
    lobby = api.http.get(f"/api/meetings/{meeting_id}/lobby", headers=ada.user.headers)
    assert lobby.status_code == 200 and lobby.json()["waiting"] == [], lobby.text

    ask.click()  # and he asks again from here
    expect(linus.page.get_by_role("heading", name="Waiting for the host to let you in")).to_be_visible(timeout=20_000)
    expect(ada.page.get_by_test_id("lobby-alert")).to_contain_text("Linus is waiting in the lobby", timeout=20_000)
    assert ada.page_errors == [] and linus.page_errors == []

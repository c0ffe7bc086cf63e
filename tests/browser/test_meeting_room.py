"""Three people meet in Chromium: video, chat, screen share, mute, a microphone switched in the
room, video filters, a cut socket, private notes, the host ends it.

One meeting for the whole module (joining three browsers is the slow part): Ada creates it
through the API and is its host; Ada, Grace and Linus each open the invite link in their own
browser context, sign in and join. The tests run in file order and the last one ends the
meeting. Contract: docs/web-client.md.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from browser_harness import (
    Api, Participant, ParticipantFactory, wait_inbound_growing, wait_remote_videos_playing,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@dataclass
class Room:
    meeting_id: str
    host: Participant
    people: list[Participant]

    def others(self, who: Participant) -> list[Participant]:
        return [p for p in self.people if p is not who]


@pytest.fixture(scope="module")
def room(api: Api, participants: ParticipantFactory) -> Room:
    ada, grace, linus = participants("Ada"), participants("Grace"), participants("Linus")
    meeting_id = api.create_meeting(ada.user, "Three-person browser test")
    for person in (ada, grace, linus):
        person.join(meeting_id)
    return Room(meeting_id, ada, [ada, grace, linus])


def test_three_participants_each_see_two_remote_videos_playing(room: Room, screenshots) -> None:
    for person in room.people:
        playing = wait_remote_videos_playing(person, 2)
        seen = {t["user_id"] for t in playing}
        assert seen == {p.user.user_id for p in room.others(person)}, (person.name, playing)
        local = [t for t in person.tiles() if t["local"]]
        assert len(local) == 1 and local[0]["user_id"] == person.user.user_id
        assert local[0]["audio_muted"] == "false" and local[0]["video_muted"] == "false"
        expect(person.page.get_by_test_id("connection-status")).to_have_attribute(
            "data-state", "connected")
    for person in room.people:
        person.screenshot(f"room-{person.name.lower()}")
    room.host.screenshot("three-person-meeting")
    for person in room.people:
        assert person.page_errors == [], (person.name, person.page_errors)


def test_participant_list_names_everyone(room: Room) -> None:
    person = room.people[1]
    button = person.page.get_by_role("button", name="Participants", exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    items = person.page.get_by_test_id("participant-list").get_by_role("listitem")
    expect(items).to_have_count(3)
    for other in room.people:
        expect(person.page.get_by_test_id("participant-list")).to_contain_text(other.name)


def test_a_chat_message_from_one_appears_at_the_other_two(room: Room, screenshots) -> None:
    sender = room.people[1]
    text = f"Hello from {sender.name} {uuid.uuid4().hex[:6]}"
    for person in room.people:
        person.open_chat()
    sender.send_chat(text)
    for person in room.people:
        expect(person.chat_messages().filter(has_text=text)).to_have_count(1, timeout=15_000)
        expect(person.page.get_by_test_id("chat-panel")).to_contain_text(sender.name)
    room.people[2].screenshot("room-chat")


def test_a_screen_share_from_one_is_seen_by_the_other_two(room: Room, screenshots) -> None:
    sharer = room.people[1]
    share = sharer.toggle("Share screen")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true", timeout=15_000)
    for person in room.others(sharer):
        (tile,) = wait_remote_videos_playing(person, 1, screen=True)
        assert tile["user_id"] == sharer.user.user_id
    room.host.screenshot("room-screen-share")
    # stopping it removes the share and the camera keeps flowing
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")
    for person in room.others(sharer):
        screen_tiles = person.grid().locator('[data-testid="tile"][data-screen="true"]')
        expect(screen_tiles).to_have_count(0, timeout=15_000)
        wait_remote_videos_playing(person, 1, user_id=sharer.user.user_id)


def test_a_muted_microphone_shows_as_muted_at_the_others(room: Room) -> None:
    muted = room.host
    mic = muted.toggle("Microphone")
    expect(mic).to_have_attribute("aria-pressed", "true")
    for state, pressed in (("true", "false"), ("false", "true")):
        mic.click()
        expect(mic).to_have_attribute("aria-pressed", pressed)
        expect(muted.camera_tile(muted.user.user_id)).to_have_attribute("data-audio-muted", state)
        for person in room.others(muted):
            expect(person.camera_tile(muted.user.user_id)).to_have_attribute(
                "data-audio-muted", state, timeout=10_000)


def test_a_microphone_chosen_in_the_room_is_what_the_others_receive(room: Room) -> None:
    switching = room.people[1]
    page = switching.page
    devices = page.get_by_role("button", name="Devices", exact=True)
    devices.click()
    expect(devices).to_have_attribute("aria-expanded", "true")
    select = page.locator("#room-microphone")
    expect(page.get_by_label("Microphone", exact=True).and_(select)).to_be_visible()
    options = select.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent])")
    current = select.input_value()
    assert len(options) >= 2, options  # Chromium's fake devices: three microphones
    value, label = next((v, t) for v, t in options if v != current)

    select.select_option(value=value)

    def sending_the_new_microphone():
        stats = page.evaluate("window.parleyDebug.stats()")
        sent = {sid: s["sending"] for sid, s in stats.items()}
        return len(sent) == 2 and all(label in tracks for tracks in sent.values()), sent

    # replaceTrack on both peer connections: no renegotiation, the call goes on
    wait_until(page, sending_the_new_microphone, 15, f"sending {label!r} to both others")
    expect(select).to_have_value(value)
    for person in room.others(switching):
        wait_inbound_growing(person, "audio")
    expect(switching.toggle("Microphone")).to_have_attribute("aria-pressed", "true")
    devices.click()
    expect(page.locator("#devices-panel")).to_have_count(0)


#: what the others' pages measure on the fake camera (VIDEO_LOOK_JS): its colour, max(R,G,B) -
#: min(R,G,B) per pixel, is about 70 on average (0 when grey, with a small tolerance for the
#: codec and the YUV → RGB conversion); the sweeping bar's edge is a luma step of about 140
#: between neighbouring pixels (about 8 through the 10 px blur)
COLOURED, GREY = 30, 8
SHARP, BLURRED = 60, 25


def test_a_video_filter_applies_to_what_the_others_receive(room: Room, screenshots) -> None:
    filtering = room.people[1]
    watchers = room.others(filtering)
    tiles = {p.name: p.camera_tile(filtering.user.user_id) for p in watchers}

    def looks(check):
        def probe():
            seen = {p.name: p.video_look(tiles[p.name]) for p in watchers}
            return all(look["width"] > 0 and check(look) for look in seen.values()), seen
        return probe

    wait_until(filtering.page, looks(lambda v: v["spread_mean"] > COLOURED), 15,
               "a coloured video before the filter")
    wait_until(filtering.page, looks(lambda v: v["edge"] > SHARP), 15,
               "a sharp video before the filter")
    select = filtering.page.get_by_label("Video filter")

    select.select_option(label="Grayscale")
    grey = looks(lambda v: v["spread_mean"] < GREY and v["spread_p95"] < 2 * GREY)
    wait_until(filtering.page, grey, 20, f"{filtering.name}'s video grey at the others")
    room.host.screenshot("room-grayscale-filter")

    select.select_option(label="Blur")
    wait_until(filtering.page, looks(lambda v: v["spread_mean"] > COLOURED and v["edge"] < BLURRED),
               20, f"{filtering.name}'s video blurred (and coloured again) at the others")

    select.select_option(label="None")
    wait_until(filtering.page, looks(lambda v: v["spread_mean"] > COLOURED and v["edge"] > SHARP),
               20, f"{filtering.name}'s video sharp and coloured again at the others")


def test_a_cut_socket_rejoins_by_itself_and_media_flows_again(room: Room, screenshots) -> None:
    cut = room.people[2]
    status = cut.page.get_by_test_id("connection-status")
    old_sids = {t["sid"] for p in room.others(cut) for t in p.tiles()
                if t["user_id"] == cut.user.user_id}
    assert old_sids, "the others do not show the participant before the cut"
    cut.go_offline()
    expect(status).not_to_have_attribute("data-state", "connected", timeout=10_000)
    lost = cut.page.get_by_role("alert").filter(has_text=re.compile("connection lost", re.I))
    expect(lost).to_be_visible()
    cut.page.wait_for_timeout(4000)  # reconnection attempts fail meanwhile
    cut.go_online()
    expect(status).to_have_attribute("data-state", "connected", timeout=30_000)
    # no reload happened: the same document rejoined and renegotiated
    assert cut.page.url.endswith(f"/m/{room.meeting_id}")
    # the others see it again through a new socket (a new sid) and new peer connections:
    # WebRTC media is not cut by going offline, so the old tile proves nothing
    for person in room.others(cut):
        wait_remote_videos_playing(person, 1, user_id=cut.user.user_id, exclude_sids=old_sids)
        stale = [t for t in person.tiles() if t["sid"] in old_sids]
        assert stale == [], f"{person.name} still shows the cut socket's tile: {stale}"
    wait_remote_videos_playing(cut, 2, timeout=45)
    wait_inbound_growing(cut, "video")
    cut.screenshot("room-after-reconnect")


def test_private_notes_are_saved_as_you_type_and_stay_private(api: Api, room: Room) -> None:
    writer, other = room.people[1], room.people[0]
    text = f"Ask about the budget {uuid.uuid4().hex[:6]}"
    open_notes(writer)
    notes = writer.page.get_by_label("Private notes")
    notes.press_sequentially(text, delay=20)
    saved = writer.page.get_by_role("status").filter(has_text=re.compile(r"^Saved\b"))
    expect(saved).to_be_visible(timeout=10_000)
    # a reload (same context: still signed in) goes through the pre-join screen again
    writer.page.reload()
    writer.enter_room()
    open_notes(writer)
    expect(writer.page.get_by_label("Private notes")).to_have_value(text, timeout=10_000)
    # the other participant's notes (loaded when they joined) are their own, still empty
    open_notes(other)
    expect(other.page.get_by_label("Private notes")).to_have_value("")
    resp = api.http.get(f"/api/chat/meetings/{room.meeting_id}/notes", headers=other.user.headers)
    assert resp.status_code == 200 and resp.json()["text"] == "", resp.text


def open_notes(person: Participant) -> None:
    button = person.page.get_by_role("button", name="Notes", exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(person.page.get_by_label("Private notes")).to_be_visible()


def test_the_host_ends_the_meeting_everyone_sees_it_and_chat_stays_readable(
    api: Api, room: Room, screenshots
) -> None:
    text = f"Notes for later {uuid.uuid4().hex[:6]}"
    api.post_chat(room.host.user, room.meeting_id, text)
    for person in room.people:
        person.open_chat()
        expect(person.chat_messages().filter(has_text=text)).to_have_count(1, timeout=15_000)
    room.host.page.get_by_role("button", name="End meeting for everyone").click()
    for person in room.people:
        heading = person.page.get_by_role("heading", name="This meeting has ended")
        expect(heading).to_be_visible(timeout=20_000)
        expect(person.page.get_by_test_id("meeting-ended")).to_be_visible()
        expect(person.chat_messages().filter(has_text=text)).to_have_count(1)
    room.people[1].screenshot("meeting-ended")
    # the same link, opened again afterwards, shows the ended screen and the history
    later = room.people[2]
    later.page.goto(f"{later.base_url}/m/{room.meeting_id}")
    expect(later.page.get_by_role("heading", name="This meeting has ended")).to_be_visible()
    expect(later.chat_messages().filter(has_text=text)).to_have_count(1, timeout=15_000)

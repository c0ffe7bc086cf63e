"""Three people meet in Chromium: video, chat, screen share, a cut socket, the host ends it.

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

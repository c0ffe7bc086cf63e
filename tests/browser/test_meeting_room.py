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
    PHONE, VIEWPORT, Api, Participant, ParticipantFactory, wait_inbound_growing, wait_remote_videos_playing, wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


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


def test_chat_messages_sent_quickly_appear_at_all_three_in_the_order_typed(room: Room, screenshots) -> None:
    sender = room.people[1]
    tag = uuid.uuid4().hex[:6]
    texts = [f"Hello from {sender.name} {tag} #{n}" for n in range(1, 4)]
    for person in room.people:
        person.open_chat()
    for text in texts:  # one after another without waiting for chat's answer
        sender.send_chat(text, wait=False)
    for person in room.people:
        ours = person.chat_messages().filter(has_text=tag)
        expect(ours).to_have_count(len(texts), timeout=30_000)
        expect(ours.locator("time.chat-time")).to_have_count(len(texts), timeout=30_000)  # stored
        assert [m.locator(".chat-text").inner_text() for m in ours.all()] == texts
        expect(person.page.get_by_test_id("chat-panel")).to_contain_text(sender.name)
    room.people[2].screenshot("room-chat")


def test_a_screen_share_from_one_is_seen_by_the_other_two(room: Room, screenshots) -> None:
    sharer = room.people[1]
    share = sharer.toggle("Share screen")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    for person in room.others(sharer):
        (tile,) = wait_remote_videos_playing(person, 1, screen=True)
        assert tile["user_id"] == sharer.user.user_id
    room.host.screenshot("room-screen-share")
    # stopping it removes the share and the camera keeps flowing
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")
    for person in room.others(sharer):
        screen_tiles = person.grid().locator('[data-testid="tile"][data-screen="true"]')
        expect(screen_tiles).to_have_count(0)
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
    choose_filter_by_keyboard(filtering)
    grey = looks(lambda v: v["spread_mean"] < GREY and v["spread_p95"] < 2 * GREY)
    wait_until(filtering.page, grey, 20, f"{filtering.name}'s video grey at the others")
    room.host.screenshot("room-grayscale-filter")

    filtering.choose_video_filter("Blur")
    wait_until(filtering.page, looks(lambda v: v["spread_mean"] > COLOURED and v["edge"] < BLURRED),
               20, f"{filtering.name}'s video blurred (and coloured again) at the others")

    filtering.choose_video_filter("None")
    wait_until(filtering.page, looks(lambda v: v["spread_mean"] > COLOURED and v["edge"] > SHARP),
               20, f"{filtering.name}'s video sharp and coloured again at the others")


FILTERS = ["None", "Blur", "Background blur", "Grayscale"]


def choose_filter_by_keyboard(person: Participant) -> None:
    """The menu button "Video filter" with the keyboard alone: it opens on the checked filter,
    the arrows move and wrap, Escape closes it unchanged with the focus back on the button,
    End and Enter choose "Grayscale"."""
    page = person.page
    button = page.get_by_role("button", name="Video filter", exact=True)
    menu = page.get_by_role("menu", name="Video filter")
    expect(button).to_have_attribute("aria-haspopup", "menu")
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    items = menu.get_by_role("menuitemradio")
    expect(items).to_have_count(len(FILTERS))
    for index, label in enumerate(FILTERS):
        expect(items.nth(index)).to_have_accessible_name(label)
        expect(items.nth(index)).to_have_attribute("aria-checked", "true" if label == "None" else "false")
    expect(items.nth(0)).to_be_focused()
    person.screenshot("video-filter-menu-1280x720")
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(items.nth(3)).to_be_focused()  # wrapped round to the last
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(items.nth(0)).to_have_attribute("aria-checked", "true")  # Escape chose nothing
    page.keyboard.press("End")
    expect(items.nth(3)).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_count(0)
    expect(button).to_be_focused()
    expect(button).to_contain_text("Grayscale")  # the current filter, shown under the name
    expect(button).to_have_accessible_name("Video filter")


def test_a_cut_socket_rejoins_by_itself_and_media_flows_again(room: Room, screenshots) -> None:
    cut = room.people[2]
    status = cut.page.get_by_test_id("connection-status")
    own_tile = cut.grid().locator('[data-testid="tile"][data-local="true"]').first
    before = own_tile.get_attribute("data-sid")
    assert before and all(any(t["sid"] == before for t in p.tiles()) for p in room.others(cut)), \
        "the others do not show the participant before the cut"
    cut.go_offline()
    expect(status).not_to_have_attribute("data-state", "connected", timeout=10_000)
    lost = cut.page.get_by_role("alert").filter(has_text=re.compile("connection lost", re.I))
    expect(lost).to_be_visible()
    cut.page.wait_for_timeout(4000)  # reconnection attempts fail meanwhile
    cut.go_online()
    expect(status).to_have_attribute("data-state", "connected", timeout=30_000)
    # no reload happened: the same document rejoined
    assert cut.page.url.endswith(f"/m/{room.meeting_id}")
    # Back within the hold time it resumed its participant id and kept its peer connections
    # (docs/web-client.md, "Reconnection, drain and leaving"); later, it joined afresh under a
    # new id and the others called it again. Either way the others show it once, under the id
    # it has now, with video playing, and no tile of another id.
    now = own_tile.get_attribute("data-sid")
    for person in room.others(cut):
        wait_remote_videos_playing(person, 1, user_id=cut.user.user_id)

        def once() -> tuple[bool, object]:
            tiles = [t["sid"] for t in person.tiles()
                     if t["user_id"] == cut.user.user_id and not t["screen"]]
            return tiles == [now], tiles

        wait_until(person.page, once, 20, f"{cut.name} shown once as {now} at {person.name}")
    # signaling works again: a mute after the reconnection reaches the others
    mic = cut.toggle("Microphone")
    for state, pressed in (("true", "false"), ("false", "true")):
        mic.click()
        expect(mic).to_have_attribute("aria-pressed", pressed)
        for person in room.others(cut):
            expect(person.camera_tile(cut.user.user_id)).to_have_attribute(
                "data-audio-muted", state, timeout=10_000)
    wait_remote_videos_playing(cut, 2, timeout=45)
    wait_inbound_growing(cut, "video")
    print(f"\ncut socket: participant id {before} → {now} "
          f"({'resumed' if now == before else 'joined afresh'})")
    cut.screenshot("room-after-reconnect")


def test_private_notes_are_saved_as_you_type_and_stay_private(api: Api, room: Room) -> None:
    writer, other = room.people[1], room.people[0]
    text = f"Ask about the budget {uuid.uuid4().hex[:6]}"
    open_notes(writer)
    notes = writer.page.get_by_label("Private notes")
    notes.press_sequentially(text, delay=20)
    saved = writer.page.get_by_role("status").filter(has_text=re.compile(r"^Saved\b"))
    expect(saved).to_be_visible(timeout=10_000)
    # a reload in the call rejoins it directly (no pre-join), the notes come back
    writer.page.reload()
    expect(writer.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=30_000)
    open_notes(writer)
    expect(writer.page.get_by_label("Private notes")).to_have_value(text, timeout=10_000)
    # the other participant's notes (loaded when they joined) are their own, still empty
    open_notes(other)
    expect(other.page.get_by_label("Private notes")).to_have_value("")
    resp = api.http.get(f"/api/chat/meetings/{room.meeting_id}/notes", headers=other.user.headers)
    assert resp.status_code == 200 and resp.json()["text"] == "", resp.text


def test_a_reload_in_the_call_rejoins_it_directly_with_the_microphone_still_muted(room: Room) -> None:
    """As Meet does: a reload of the room's page joins the call again without the pre-join
    screen, with the microphone and camera as chosen before it (docs/web-client.md). The
    others see the person once (the new page took the participant over), muted, video playing."""
    person = room.people[2]
    mic = person.toggle("Microphone")
    if mic.get_attribute("aria-pressed") == "true":
        mic.click()
    expect(mic).to_have_attribute("aria-pressed", "false")
    for other in room.others(person):
        expect(other.camera_tile(person.user.user_id)).to_have_attribute("data-audio-muted", "true", timeout=10_000)

    person.page.reload()
    expect(person.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(timeout=30_000)
    expect(person.page.get_by_role("button", name="Join meeting")).to_have_count(0)
    expect(person.toggle("Microphone")).to_have_attribute("aria-pressed", "false")
    expect(person.toggle("Camera")).to_have_attribute("aria-pressed", "true")
    for other in room.others(person):
        wait_remote_videos_playing(other, 1, user_id=person.user.user_id)
        expect(other.camera_tile(person.user.user_id)).to_have_count(1, timeout=20_000)
        expect(other.camera_tile(person.user.user_id)).to_have_attribute("data-audio-muted", "true", timeout=10_000)
    wait_remote_videos_playing(person, 2)
    # unmuting after the reload reaches the others
    person.toggle("Microphone").click()
    for other in room.others(person):
        expect(other.camera_tile(person.user.user_id)).to_have_attribute("data-audio-muted", "false", timeout=10_000)


def test_the_name_chosen_before_joining_is_the_chat_name_and_rejoin_keeps_it_and_the_badge(
    participants: ParticipantFactory,
) -> None:
    """The pre-join's display name is the sender's name in chat (live and in history), Rejoin
    after Leave offers it again, and the history the room starts with is not counted unread."""
    ada, bob = participants("Ada"), participants("Bob")
    meeting_id = participants.api.create_meeting(ada.user, "Chat names")
    bob.join(meeting_id)
    ada.open_meeting(meeting_id)
    ada.page.get_by_label("Display name").fill("Ada at the desk")
    ada.enter_room()
    ada.send_chat("hello from the desk")
    bob.open_chat()
    sent = bob.chat_messages().filter(has_text="hello from the desk")
    expect(sent).to_contain_text("Ada at the desk", timeout=30_000)

    ada.page.get_by_role("button", name="Leave", exact=True).click()
    ada.page.get_by_role("button", name="Rejoin").click()
    expect(ada.page.get_by_label("Display name")).to_have_value("Ada at the desk")
    ada.enter_room()
    expect(ada.page.get_by_test_id("chat-badge")).to_have_count(0)
    ada.open_chat()  # the history, under the chosen name
    expect(ada.chat_messages().filter(has_text="hello from the desk")).to_contain_text("Ada at the desk")
    ada.page.get_by_role("button", name="Chat", exact=True).click()  # closed again
    bob.send_chat("welcome back")
    expect(ada.page.get_by_test_id("chat-badge")).to_have_text("1")


def test_keyboard_shortcuts_toggle_microphone_and_camera_and_escape_closes_panels(room: Room) -> None:
    """Ctrl+D and Ctrl+E (as Meet), shown in the controls' tooltips; Escape closes the open
    panel and gives the focus back to the control that opened it."""
    person = room.people[0]
    mic, cam = person.toggle("Microphone"), person.toggle("Camera")
    expect(mic).to_have_attribute("title", "Microphone (Ctrl+D)")
    expect(cam).to_have_attribute("title", "Camera (Ctrl+E)")
    expect(mic).to_have_attribute("aria-keyshortcuts", "Control+D")
    mic_was, cam_was = mic.get_attribute("aria-pressed"), cam.get_attribute("aria-pressed")
    flipped = {"true": "false", "false": "true"}
    person.page.keyboard.press("Control+d")
    expect(mic).to_have_attribute("aria-pressed", flipped[mic_was])
    person.page.keyboard.press("Control+e")
    expect(cam).to_have_attribute("aria-pressed", flipped[cam_was])
    for other in room.others(person):
        expect(other.camera_tile(person.user.user_id)).to_have_attribute(
            "data-audio-muted", "true" if mic_was == "true" else "false", timeout=10_000)
    person.page.keyboard.press("Control+d")
    person.page.keyboard.press("Control+e")
    expect(mic).to_have_attribute("aria-pressed", mic_was)
    expect(cam).to_have_attribute("aria-pressed", cam_was)

    chat_button = person.page.get_by_role("button", name="Chat", exact=True)
    if chat_button.get_attribute("aria-expanded") == "true":  # left open by an earlier test
        chat_button.click()
    expect(chat_button).to_have_attribute("aria-expanded", "false")
    chat_button.focus()
    person.page.keyboard.press("Enter")
    expect(person.page.get_by_test_id("chat-panel")).to_be_visible()
    person.page.get_by_test_id("chat-panel").get_by_label("Message").focus()
    person.page.keyboard.press("Escape")
    expect(person.page.get_by_test_id("chat-panel")).to_have_count(0)
    expect(chat_button).to_be_focused()
    expect(chat_button).to_have_attribute("aria-expanded", "false")


def test_every_panel_open_at_once_keeps_each_usable(room: Room) -> None:
    """At 1280x720 Chat, Participants, Notes and Devices open together share the side column,
    which scrolls: the chat's box and "Send" are whole, and the sound checkbox is a small box
    beside its words (the text fields' full width is not a checkbox's)."""
    person = room.people[1]
    buttons = [person.page.get_by_role("button", name=name, exact=True)
               for name in ("Chat", "Participants", "Notes", "Devices")]
    for panel_button in buttons:
        if panel_button.get_attribute("aria-expanded") != "true":
            panel_button.click()
        expect(panel_button).to_have_attribute("aria-expanded", "true")
    chat = person.page.get_by_test_id("chat-panel")
    for control in (chat.get_by_label("Message"), chat.get_by_role("button", name="Send")):
        control.scroll_into_view_if_needed()
        box, panel = control.bounding_box(), chat.bounding_box()
        assert box and panel and panel["y"] <= box["y"] and box["y"] + box["height"] <= panel["y"] + panel["height"], (
            "cut by the chat panel", box, panel)
    sound = person.page.get_by_role("checkbox", name="Sound when someone joins or leaves")
    sound.scroll_into_view_if_needed()
    box = sound.bounding_box()
    assert box and box["width"] <= 24 and box["height"] <= 24, box
    person.screenshot("room-every-panel-open")
    for panel_button in buttons:
        panel_button.click()
        expect(panel_button).to_have_attribute("aria-expanded", "false")


def open_notes(person: Participant) -> None:
    button = person.page.get_by_role("button", name="Notes", exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(person.page.get_by_label("Private notes")).to_be_visible()


def hand_order(person: Participant) -> list[str]:
    """The user ids of the tiles with a raised hand in ``person``'s grid, by their badge's number."""
    raised = person.page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="tile"][data-hand]')]
            .map(t => [Number(t.dataset.hand), t.dataset.userId])"""
    )
    return [user_id for _, user_id in sorted(raised)]


def test_raised_hands_are_seen_by_all_in_order_and_the_host_lowers_one(room: Room, screenshots) -> None:
    ada, grace, linus = room.people
    # Linus first, then Grace: every page shows the same order, on tiles and in the list
    linus.toggle("Raise hand").click()
    expect(linus.toggle("Raise hand")).to_have_attribute("aria-pressed", "true")
    for person in room.people:
        wait_until(person.page, lambda p=person: (hand_order(p) == [linus.user.user_id], hand_order(p)), 15,
                   f"{person.name} sees Linus's hand")
    grace.toggle("Raise hand").click()
    expected = [linus.user.user_id, grace.user.user_id]
    for person in room.people:
        wait_until(person.page, lambda p=person: (hand_order(p) == expected, hand_order(p)), 15,
                   f"{person.name} sees both hands in order")
    expect(grace.camera_tile(grace.user.user_id).get_by_test_id("tile-hand")).to_contain_text("2")
    panel_button = ada.page.get_by_role("button", name="Participants", exact=True)
    if panel_button.get_attribute("aria-expanded") != "true":
        panel_button.click()
    listed = ada.page.get_by_test_id("participant-list").get_by_role("listitem")
    expect(listed.nth(0)).to_contain_text("Linus")
    expect(listed.nth(0).get_by_test_id("participant-hand")).to_contain_text("1")
    expect(listed.nth(1)).to_contain_text("Grace")
    ada.screenshot("hands-raised-host")
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "hands-raised-host-390x844.png"), full_page=True)
    ada.page.set_viewport_size(VIEWPORT)
    # a participant sees no button to lower another's hand; the host lowers Linus's
    grace_list = grace.page.get_by_role("button", name="Participants", exact=True)
    if grace_list.get_attribute("aria-expanded") != "true":
        grace_list.click()
    expect(grace.page.get_by_role("button", name=re.compile("^Lower hand of Linus"))).to_have_count(0)
    ada.page.get_by_role("button", name=re.compile("^Lower hand of Linus")).click()
    for person in room.people:
        wait_until(person.page, lambda p=person: (hand_order(p) == [grace.user.user_id], hand_order(p)), 15,
                   f"{person.name} sees Linus's hand lowered")
    expect(linus.toggle("Raise hand")).to_have_attribute("aria-pressed", "false")
    # Grace lowers her own
    grace.toggle("Raise hand").click()
    for person in room.people:
        wait_until(person.page, lambda p=person: (hand_order(p) == [], hand_order(p)), 15,
                   f"{person.name} sees no hand")
    for person in room.people:
        assert person.page_errors == [], (person.name, person.page_errors)


#: records, in a page, every reaction shown over the camera tile of the user it is given
WATCH_REACTIONS_JS = """
(userId) => {
  window.__reactionsSeen = [];
  const tile = `[data-testid="tile"][data-user-id="${userId}"]:not([data-screen="true"]) [data-testid="tile-reaction"]`;
  new MutationObserver(() => document.querySelectorAll(tile).forEach((el) => window.__reactionsSeen.push(el.textContent)))
    .observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def test_a_reaction_is_seen_by_all_over_the_senders_tile(room: Room, screenshots) -> None:
    """Every page shows the reaction over the sender's tile; each page records it as it comes
    (a reaction shows for 4 s, so pages looked at one after the other on a loaded machine could
    miss one that came and went)."""
    sender = room.people[2]
    for person in room.people:
        person.page.evaluate(WATCH_REACTIONS_JS, sender.user.user_id)
    sender.page.get_by_role("button", name="React", exact=True).click()
    sender.page.get_by_role("button", name="React 🎉").click()
    for person in room.people:
        person.page.wait_for_function("() => window.__reactionsSeen.includes('🎉')", timeout=30_000)
    room.people[0].screenshot("reaction-seen")
    # it goes after a few seconds
    for person in room.people:
        expect(person.camera_tile(sender.user.user_id).get_by_test_id("tile-reaction")).to_have_count(
            0)


def test_the_host_mutes_one_asks_to_unmute_and_mutes_everyone(room: Room, screenshots) -> None:
    ada, grace, linus = room.people
    for person in room.people:  # everyone speaking to begin with
        if person.toggle("Microphone").get_attribute("aria-pressed") != "true":
            person.toggle("Microphone").click()
        expect(person.toggle("Microphone")).to_have_attribute("aria-pressed", "true")
    for person in room.people:
        button = person.page.get_by_role("button", name="Participants", exact=True)
        if button.get_attribute("aria-expanded") != "true":
            button.click()
    # a participant has none of the host's buttons
    expect(grace.page.get_by_role("button", name="Mute everyone")).to_have_count(0)
    expect(grace.page.get_by_role("button", name="Mute Linus")).to_have_count(0)

    ada.page.get_by_role("button", name="Mute Grace").click()
    expect(grace.toggle("Microphone")).to_have_attribute("aria-pressed", "false")
    expect(grace.page.get_by_role("alert").filter(has_text="Ada muted you")).to_be_visible()
    expect(linus.toggle("Microphone")).to_have_attribute("aria-pressed", "true")  # only Grace
    grace.screenshot("moderation-muted")
    # the host sees it beside Grace's name, not after the buttons that follow it
    grace_row = ada.page.get_by_test_id("participant-list").locator("li").filter(has_text="Grace")
    expect(grace_row.locator(".participant-name").get_by_title("Microphone off")).to_be_visible()
    ada.screenshot("moderation-host-sees-muted")

    ada.page.get_by_role("button", name="Ask to unmute Grace").click()
    request = grace.page.get_by_test_id("unmute-request")
    expect(request).to_contain_text("Ada asks you to turn your microphone on")
    grace.screenshot("moderation-unmute-request")
    grace.page.set_viewport_size(PHONE)
    grace.page.screenshot(path=str(screenshots / "moderation-unmute-request-390x844.png"), full_page=True)
    grace.page.set_viewport_size(VIEWPORT)
    request.get_by_role("button", name="Unmute").click()
    expect(grace.toggle("Microphone")).to_have_attribute("aria-pressed", "true")
    expect(request).to_have_count(0)

    ada.page.get_by_role("button", name="Mute everyone").click()
    for person in (grace, linus):
        expect(person.toggle("Microphone")).to_have_attribute("aria-pressed", "false")
    expect(ada.toggle("Microphone")).to_have_attribute("aria-pressed", "true")  # not the host
    for person in room.people:
        assert person.page_errors == [], (person.name, person.page_errors)


def test_the_host_ends_the_meeting_everyone_sees_it_and_chat_stays_readable(
    api: Api, room: Room, screenshots
) -> None:
    text = f"Notes for later {uuid.uuid4().hex[:6]}"
    api.post_chat(room.host.user, room.meeting_id, text)
    for person in room.people:
        person.open_chat()
        expect(person.chat_messages().filter(has_text=text)).to_have_count(1, timeout=30_000)
    host = room.host.page
    # ending asks first; cancelling changes nothing
    host.get_by_role("button", name="End meeting for everyone").click()
    dialog = host.get_by_role("dialog", name="End the meeting for everyone?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    room.host.screenshot("end-for-everyone-confirm")
    host.set_viewport_size(PHONE)
    host.screenshot(path=str(screenshots / "end-for-everyone-confirm-390x844.png"))
    host.set_viewport_size(VIEWPORT)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    host.wait_for_timeout(1_000)  # had it ended, the others would show it now
    for person in room.people:
        expect(person.page.get_by_test_id("meeting-ended")).to_have_count(0)
    resp = api.http.get(f"/api/meetings/{room.meeting_id}", headers=room.host.user.headers)
    assert resp.json()["status"] == "active", resp.text
    host.get_by_role("button", name="End meeting for everyone").click()
    dialog.get_by_role("button", name="End for everyone").click()
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
    expect(later.chat_messages().filter(has_text=text)).to_have_count(1)

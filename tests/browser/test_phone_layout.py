"""The room and home on a phone (390x844) in Chromium: one row of primary controls, the rest in
a "More" menu, panels as bottom sheets with the chat input and Send fully visible, and a home
top bar that fits. Contract: docs/web-client.md ("Phone layout").

One meeting for the module: Ada (the host) is alone in it first, then Grace and Linus join.
Screenshots at 390x844 and 1280x720: ``phone-*.png`` (artifacts/screenshots/).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, expect

from browser_harness import PHONE, VIEWPORT, Participant, ParticipantFactory, wait_remote_videos_playing
from test_calls import befriend
from test_direct_messages import post_direct

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


#: the phone's row, in order
PRIMARY = ["Microphone", "Camera", "Chat", "More", "Leave"]
#: what "More" holds for a host
IN_MORE = ["Share screen", "Raise hand", "React", "Record", "Video filter", "Participants", "Notes",
           "Devices", "End meeting for everyone"]

#: where an element is, whether it is inside the viewport, and which of the points a click at
#: its centre and near each corner would reach lie under something else (none: nothing covers it)
REACHABLE_JS = """
el => {
  const r = el.getBoundingClientRect();
  const dx = Math.min(8, r.width / 4), dy = Math.min(8, r.height / 4);  // rounded corners
  const points = [[(r.left + r.right) / 2, (r.top + r.bottom) / 2],
                  [r.left + dx, r.top + dy], [r.right - dx, r.top + dy],
                  [r.left + dx, r.bottom - dy], [r.right - dx, r.bottom - dy]];
  const covered = points.filter(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return !hit || !(hit === el || el.contains(hit) || (el.labels && [...el.labels].some(l => l.contains(hit))));
  }).map(([x, y]) => { const hit = document.elementFromPoint(x, y);
    return `${Math.round(x)},${Math.round(y)}: ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'}`; });
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          inside: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
          covered};
}
"""


@dataclass
class PhoneRoom:
    meeting_id: str
    host: Participant


@pytest.fixture(scope="module")
def phone_room(participants: ParticipantFactory) -> PhoneRoom:
    ada = participants("Ada")
    meeting_id = participants.api.create_meeting(ada.user, "Phone layout")
    ada.join(meeting_id)
    return PhoneRoom(meeting_id, ada)


def reachable(locator: Locator) -> dict:
    return locator.evaluate(REACHABLE_JS)


def assert_reachable(locator: Locator, what: str) -> dict:
    """Inside the viewport and on top at its corners and centre, once the layout has settled
    (right after a resize, a busy machine may measure a control mid re-render: a zero box)."""
    expect(locator).to_be_visible()
    deadline = time.monotonic() + 10
    box = reachable(locator)
    while not (box["inside"] and box["covered"] == []) and time.monotonic() < deadline:
        locator.page.wait_for_timeout(100)
        box = reachable(locator)
    assert box["inside"] and box["covered"] == [], (what, box)
    return box


def button(person: Participant, name: str) -> Locator:
    return person.page.get_by_role("button", name=name, exact=True)


def test_the_home_top_bar_fits_a_phone(participants: ParticipantFactory, screenshots) -> None:
    """Its links stay on screen with an unread count on "Contacts" too (the widest it gets)."""
    ada, bob = participants("Ada"), participants("Bob")
    befriend(participants.api, ada.user, bob.user)
    bob.page.set_viewport_size(PHONE)
    bob.sign_in("/")
    page = bob.page
    expect(page.get_by_role("button", name="New meeting")).to_be_visible(timeout=20_000)
    for unread in ("", "12"):
        if unread:
            for n in range(int(unread)):
                post_direct(participants.api, ada.user, bob.user, f"note {n}")
            expect(page.get_by_test_id("unread-total")).to_have_text(unread, timeout=30_000)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the home page is {width} px wide at 390 ({unread or 'no'} unread)"
        for item in (page.get_by_role("link", name="Contacts"), page.get_by_role("link", name="Developer"),
                     page.get_by_role("button", name="Sign out")):
            assert_reachable(item, item)
        page.screenshot(path=str(screenshots / f"phone-home{'-unread' if unread else ''}-390x844.png"))


def test_a_refused_schedule_says_why_beside_the_form_on_a_phone(participants: ParticipantFactory, screenshots) -> None:
    """A time in the past: the reason shows in the form, on screen where "Schedule" was tapped,
    not at the top of the page."""
    bob = participants("Bob")
    bob.page.set_viewport_size(PHONE)
    bob.sign_in("/")
    page = bob.page
    page.get_by_label("Title").fill("Yesterday's review")
    page.get_by_label("Date and time").fill("2020-01-02T10:00")
    schedule = page.get_by_role("button", name="Schedule", exact=True)
    schedule.scroll_into_view_if_needed()
    schedule.click()
    refusal = page.get_by_role("alert").filter(has_text="That time has passed")
    expect(refusal).to_be_visible()
    assert_reachable(refusal, "the refusal")
    page.screenshot(path=str(screenshots / "phone-schedule-refused-390x844.png"))


def test_a_schedule_without_a_title_says_why_in_the_form(participants: ParticipantFactory) -> None:
    """The form's own reason, not the browser's "Please fill out this field." bubble."""
    cleo = participants("Cleo")
    cleo.page.set_viewport_size(PHONE)
    cleo.sign_in("/")
    schedule = cleo.page.get_by_role("button", name="Schedule", exact=True)
    schedule.scroll_into_view_if_needed()
    schedule.click()
    refusal = cleo.page.get_by_role("alert").filter(has_text="Give the meeting a title.")
    expect(refusal).to_be_visible()
    assert_reachable(refusal, "the refusal")


def test_the_pre_joins_join_button_is_on_screen_under_a_long_title(participants: ParticipantFactory, screenshots) -> None:
    """The main action of the pre-join stays on a phone's screen without scrolling, whatever
    the title and the device fields above it take."""
    dora = participants("Dora")
    meeting_id = participants.api.create_meeting(dora.user, "Design sync: onboarding flow and the new billing page")
    dora.page.set_viewport_size(PHONE)
    dora.open_meeting(meeting_id)
    dora.wait_preview_playing()
    assert_reachable(button(dora, "Join meeting"), "Join meeting")
    dora.page.screenshot(path=str(screenshots / "phone-prejoin-long-title-390x844.png"))
    button(dora, "Join meeting").click()
    expect(dora.grid().locator('[data-testid="tile"][data-local="true"]')).to_be_visible(timeout=30_000)


#: the parts of each field (``fields``) that show at or below the top of ``button``: points of
#: the field's box, every 4 px across and down, where the page shows the field itself
SHOWN_UNDER_JS = """
([button, ...fields]) => {
  const top = button.getBoundingClientRect().top;
  const shown = [];
  for (const field of fields) {
    const r = field.getBoundingClientRect();
    for (let y = Math.max(r.top + 1, top); y < Math.min(r.bottom, innerHeight); y += 4) {
      for (let x = r.left + 1; x < r.right; x += 4) {
        const hit = document.elementFromPoint(x, y);
        if (hit && (hit === field || field.contains(hit))) shown.push(`${field.id} ${x | 0},${y | 0}`);
      }
    }
  }
  return shown.slice(0, 5);
}
"""


def test_no_pre_join_field_shows_around_the_join_bar_nor_stays_under_it_focused(
        participants: ParticipantFactory, screenshots) -> None:
    """The sticky "Join meeting" sits in a bar that is opaque down to the screen's edge: at
    every scroll position, the first one included, no field shows beside or below the button
    (a field passing under the bar is cut off as at the screen's edge); and a field that gets
    the focus while under the bar (here "Display name", just under it at first) is scrolled
    clear of it, whole and on top."""
    fay = participants("Fay")
    meeting_id = participants.api.create_meeting(fay.user, "Design sync: onboarding flow and the new billing page")
    fay.page.set_viewport_size(PHONE)
    fay.open_meeting(meeting_id)
    fay.wait_preview_playing()
    page = fay.page
    join = button(fay, "Join meeting")
    fields = [page.get_by_role("combobox", name=name, exact=True) for name in ("Camera", "Microphone", "Speaker")]
    fields.append(page.get_by_role("textbox", name="Display name"))
    handles = [join.element_handle()] + [field.element_handle() for field in fields]
    page.screenshot(path=str(screenshots / "phone-prejoin-join-bar-390x844.png"))
    bottom = page.evaluate("() => document.documentElement.scrollHeight - innerHeight")
    for y in range(0, bottom + 8, 8):
        page.evaluate("y => scrollTo(0, y)", y)
        shown = page.evaluate(SHOWN_UNDER_JS, handles)
        assert shown == [], f"scrolled to {y}: fields show beside or below the Join button: {shown}"
    for field in fields:
        page.evaluate("() => scrollTo(0, 0)")
        field.focus()
        box = assert_reachable(field, field)
        assert box["bottom"] <= join.bounding_box()["y"], (field, box, join.bounding_box())
    page.screenshot(path=str(screenshots / "phone-prejoin-name-focused-390x844.png"))


def test_a_blocked_persons_long_address_wraps_on_a_phone(participants: ParticipantFactory, screenshots) -> None:
    """The contacts page's addresses (here the Blocked list's) wrap within their column: none
    is cut off with an ellipsis in the middle of its domain."""
    erin, max_ = participants("Erin"), participants("Maximiliana")
    befriend(participants.api, erin.user, max_.user)
    erin.page.set_viewport_size(PHONE)
    erin.sign_in("/contacts")
    page = erin.page
    page.get_by_role("button", name="Block Maximiliana").click()
    email = page.get_by_test_id("blocked-item").locator(".contact-email")
    expect(email).to_have_text(max_.user.email)
    clipped = email.evaluate("el => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight + 1")
    assert not clipped, email.evaluate("el => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight]")
    page.screenshot(path=str(screenshots / "phone-contacts-blocked-390x844.png"))


def test_alone_on_a_phone_the_controls_are_one_row(phone_room: PhoneRoom, screenshots) -> None:
    ada = phone_room.host
    ada.page.set_viewport_size(VIEWPORT)
    # wide, a host's controls (End meeting for everyone included) are one row too
    rows = {round(b.bounding_box()["y"]) for b in
            ada.page.get_by_role("navigation", name="Meeting controls").get_by_role("button").all()}
    assert len(rows) == 1, f"the controls at 1280 px take {len(rows)} rows: {sorted(rows)}"
    ada.screenshot("phone-room-one-1280x720")
    ada.page.set_viewport_size(PHONE)
    tops = []
    for name in PRIMARY:
        tops.append(assert_reachable(button(ada, name), name)["top"])
    assert max(tops) - min(tops) < 2, f"the primary controls are not one row: {dict(zip(PRIMARY, tops))}"
    bar = ada.page.get_by_role("navigation", name="Meeting controls").bounding_box()
    assert bar and bar["height"] < 100, bar
    for name in IN_MORE:  # in the menu, which is closed
        expect(button(ada, name)).to_have_count(0)
    # the own tile fills the space between header and controls
    tile = ada.grid().locator('[data-testid="tile"][data-local="true"]').bounding_box()
    assert tile and tile["height"] > 400, tile
    ada.page.screenshot(path=str(screenshots / "phone-room-one-390x844.png"))


def test_more_holds_every_other_control_and_each_is_reachable(phone_room: PhoneRoom, screenshots) -> None:
    ada = phone_room.host
    ada.page.set_viewport_size(PHONE)
    more = button(ada, "More")
    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    menu = ada.page.get_by_role("group", name="More controls")
    ada.page.screenshot(path=str(screenshots / "phone-more-menu-390x844.png"))
    for name in IN_MORE:
        assert_reachable(menu.get_by_role("button", name=name, exact=True), name)
    ada.page.screenshot(path=str(screenshots / "phone-more-menu-390x844.png"))
    # the filters open above the sheet, each on screen; Escape closes them alone
    filters = menu.get_by_role("button", name="Video filter", exact=True)
    filters.click()
    choices = ada.page.get_by_role("menu", name="Video filter")
    for name in ("None", "Blur", "Background blur", "Grayscale"):
        assert_reachable(choices.get_by_role("menuitemradio", name=name, exact=True), name)
    ada.page.screenshot(path=str(screenshots / "phone-video-filter-menu-390x844.png"))
    ada.page.keyboard.press("Escape")
    expect(choices).to_have_count(0)
    expect(filters).to_be_focused()
    expect(menu).to_be_visible()
    # React shows its emoji without closing the menu, every one on screen
    menu.get_by_role("button", name="React", exact=True).click()
    for emoji in ("👍", "🎉"):
        assert_reachable(ada.page.get_by_role("button", name=f"React {emoji}"), emoji)
    menu.get_by_role("button", name="React", exact=True).click()
    # Escape closes the menu and gives the focus back to "More"
    ada.page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(more).to_be_focused()
    # a panel chosen in the menu opens as a sheet over the grid, the menu closes
    more.click()
    menu.get_by_role("button", name="Participants", exact=True).click()
    expect(menu).to_have_count(0)
    listed = ada.page.get_by_test_id("participant-list")
    assert_reachable(listed, "participant list")
    expect(listed.get_by_role("listitem")).to_have_count(1)
    close = ada.page.get_by_role("button", name="Close participants")
    assert_reachable(close, "the sheet's close button")
    close.click()
    expect(listed).to_have_count(0)
    expect(more).to_be_focused()
    # the ending dialog fits the phone
    more.click()
    menu.get_by_role("button", name="End meeting for everyone").click()
    dialog = ada.page.get_by_role("dialog", name="End the meeting for everyone?")
    assert_reachable(dialog.get_by_role("button", name="End for everyone"), "End for everyone")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert ada.page_errors == [], ada.page_errors


def test_with_three_the_chat_sheet_shows_its_input_and_send_whole(
    phone_room: PhoneRoom, participants: ParticipantFactory, screenshots
) -> None:
    ada = phone_room.host
    grace, linus = participants("Grace"), participants("Linus")
    for person in (grace, linus):
        person.join(phone_room.meeting_id)
    ada.page.set_viewport_size(VIEWPORT)
    wait_remote_videos_playing(ada, 2)
    ada.screenshot("phone-room-three-1280x720")
    ada.page.set_viewport_size(PHONE)
    wait_remote_videos_playing(ada, 2)
    for tile in ada.grid().get_by_test_id("tile").all():  # every tile on screen, none cut off
        box = tile.bounding_box()
        assert box and box["width"] > 300 and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    ada.page.screenshot(path=str(screenshots / "phone-room-three-390x844.png"))

    ada.open_chat()
    panel = ada.page.get_by_test_id("chat-panel")
    field, send = panel.get_by_label("Message"), panel.get_by_role("button", name="Send")
    controls = ada.page.get_by_role("navigation", name="Meeting controls").bounding_box()
    assert controls is not None
    for what, element in (("the chat input", field), ("Send", send)):
        box = assert_reachable(element, what)
        assert box["bottom"] <= controls["y"], (what, box, controls)
    text = f"From the phone {uuid.uuid4().hex[:6]}"
    field.fill(text)
    send.click()
    for person in (grace, linus):
        person.open_chat()
        expect(person.chat_messages().filter(has_text=text)).to_have_count(1)
    grace.send_chat("Seen on the desktop")
    expect(ada.chat_messages().filter(has_text="Seen on the desktop")).to_have_count(1)
    ada.page.screenshot(path=str(screenshots / "phone-chat-sheet-390x844.png"))
    # Chat again closes the sheet; the primary row stays where it was
    button(ada, "Chat").click()
    expect(panel).to_have_count(0)
    assert_reachable(button(ada, "Leave"), "Leave")
    for person in (ada, grace, linus):
        assert person.page_errors == [], (person.name, person.page_errors)

"""The room's layouts in Chromium: three people make a grid whose lone last tile is centred; a
shared screen is the large tile on every page with the cameras in a strip (beside it at
1280x720, below it at 390x844); a pin makes a tile large for that viewer only, and wins over
the presentation; when the share stops the grid returns; the host spotlights a participant
for everyone (a viewer's pin still wins there), and takes it away. Contract:
docs/web-client.md ("Layouts"), docs/signaling.md ("Spotlight").

One meeting for the module: Ada (the host), Grace and Linus join; the tests run in file order.
Screenshots: ``grid-three-1280x720.png``, ``presentation-1280x720.png``,
``presentation-390x844.png``, ``pinned-1280x720.png``, ``spotlight-1280x720.png``
(artifacts/screenshots/).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from browser_harness import PHONE, VIEWPORT, Participant, ParticipantFactory, wait_remote_videos_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


#: every tile of the grid with its box, its place (stage or strip) and its data attributes
BOXES_JS = """
grid => [...grid.querySelectorAll('[data-testid="tile"]')].map(t => {
  const r = t.getBoundingClientRect();
  return {user_id: t.dataset.userId, screen: t.dataset.screen === 'true',
          featured: t.dataset.featured === 'true', in_strip: !!t.closest('[data-testid="tile-strip"]'),
          x: r.x, y: r.y, width: r.width, height: r.height};
})
"""


@dataclass
class Room:
    meeting_id: str
    ada: Participant
    grace: Participant
    linus: Participant

    @property
    def people(self) -> list[Participant]:
        return [self.ada, self.grace, self.linus]


@pytest.fixture(scope="module")
def room(participants: ParticipantFactory) -> Room:
    ada, grace, linus = participants("Ada"), participants("Grace"), participants("Linus")
    meeting_id = participants.api.create_meeting(ada.user, "Presentation")
    for person in (ada, grace, linus):
        person.join(meeting_id)
    for person in (ada, grace, linus):
        wait_remote_videos_playing(person, 2)
    return Room(meeting_id, ada, grace, linus)


def boxes(person: Participant) -> list[dict]:
    return person.grid().evaluate(BOXES_JS)


def has_focus(person: Participant, locator) -> None:
    """``locator`` is the page's active element (the page of a background context may not have
    the window's focus, which ``to_be_focused`` also asks for)."""
    person.page.wait_for_function("b => document.activeElement === b", arg=locator.element_handle(), timeout=5_000)


def area(box: dict) -> float:
    return box["width"] * box["height"]


def assert_presenting(person: Participant, sharer: Participant, *, beside: bool) -> dict:
    """``person``'s page shows ``sharer``'s screen as the large tile and the three cameras in a
    strip beside it (``beside``) or below it; returns the screen tile's box."""
    expect(person.grid()).to_have_attribute("data-layout", "stage")
    expect(person.grid()).to_have_attribute("data-featured-reason", "presentation")
    tiles = boxes(person)
    (screen,) = [t for t in tiles if t["screen"]]
    cameras = [t for t in tiles if not t["screen"]]
    assert screen["user_id"] == sharer.user.user_id and screen["featured"] and not screen["in_strip"], tiles
    assert len(cameras) == 3 and all(c["in_strip"] and not c["featured"] for c in cameras), tiles
    for camera in cameras:
        assert area(screen) > 4 * area(camera), (person.name, screen, camera)
        if beside:
            assert camera["x"] >= screen["x"] + screen["width"], (person.name, screen, camera)
        else:
            assert camera["y"] >= screen["y"] + screen["height"], (person.name, screen, camera)
    return screen


def test_three_people_make_a_grid_whose_last_tile_is_centred(room: Room, screenshots) -> None:
    ada = room.ada
    expect(ada.grid()).to_have_attribute("data-layout", "grid")
    tiles = boxes(ada)
    assert len(tiles) == 3, tiles
    grid = ada.grid().bounding_box()
    assert grid is not None
    first, second, last = sorted(tiles, key=lambda t: (round(t["y"]), t["x"]))
    # two on the first row, one below them, all of the same size
    assert abs(first["y"] - second["y"]) < 2 and last["y"] >= first["y"] + first["height"], tiles
    for tile in (second, last):
        assert abs(tile["width"] - first["width"]) < 2 and abs(tile["height"] - first["height"]) < 2, tiles
    # the lone tile of the last row is centred: no empty quarter
    centre = last["x"] + last["width"] / 2
    assert abs(centre - (grid["x"] + grid["width"] / 2)) < 3, (grid, last)
    assert abs(centre - (first["x"] + second["x"] + second["width"]) / 2) < 3, tiles
    ada.page.mouse.move(0, 0)  # no hovered tile: its pin button hides
    ada.page.screenshot(path=str(screenshots / "grid-three-1280x720.png"))


def test_a_shared_screen_is_the_large_tile_on_every_page(room: Room, screenshots) -> None:
    grace = room.grace
    share = grace.toggle("Share screen")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    for person in (room.ada, room.linus):
        (tile,) = wait_remote_videos_playing(person, 1, screen=True)
        assert tile["user_id"] == grace.user.user_id
    for person in room.people:  # the sharer's own page too
        assert_presenting(person, grace, beside=True)
    room.ada.page.mouse.move(0, 0)  # no hovered tile: its pin button hides
    room.ada.page.screenshot(path=str(screenshots / "presentation-1280x720.png"))

    # on a phone the strip is below the shared screen, which spans the width
    room.ada.page.set_viewport_size(PHONE)
    try:
        screen = assert_presenting(room.ada, grace, beside=False)
        assert screen["width"] > PHONE["width"] - 30, screen
        for tile in boxes(room.ada):  # all on screen, above the controls
            assert tile["y"] >= 0 and tile["y"] + tile["height"] <= PHONE["height"] - 60, tile
        wait_remote_videos_playing(room.ada, 1, screen=True)
        room.ada.page.mouse.move(0, 0)  # no hovered tile: its pin button hides
        room.ada.page.screenshot(path=str(screenshots / "presentation-390x844.png"))
    finally:
        room.ada.page.set_viewport_size(VIEWPORT)
    assert_presenting(room.ada, grace, beside=True)


def test_a_pin_makes_a_tile_large_for_that_viewer_only(room: Room, screenshots) -> None:
    ada, grace, linus = room.ada, room.grace, room.linus
    ada_tile = linus.camera_tile(ada.user.user_id)
    ada_tile.get_by_role("button", name="Pin Ada", exact=True).click()
    # Linus: Ada's camera large, over Grace's presentation; the screen is in the strip now
    expect(linus.grid()).to_have_attribute("data-featured-reason", "pin")
    expect(ada_tile).to_have_attribute("data-featured", "true")
    expect(ada_tile).to_have_attribute("data-pinned", "true")
    # the tile moved to the stage; its button kept the focus
    has_focus(linus, ada_tile.get_by_role("button", name="Unpin Ada", exact=True))
    tiles = boxes(linus)
    (pinned,) = [t for t in tiles if t["featured"]]
    others = [t for t in tiles if t is not pinned]
    assert pinned["user_id"] == ada.user.user_id and not pinned["screen"], tiles
    assert len(others) == 3 and all(t["in_strip"] and area(pinned) > 4 * area(t) for t in others), tiles
    linus.page.mouse.move(0, 0)  # no hovered tile: its pin button hides
    linus.page.screenshot(path=str(screenshots / "pinned-1280x720.png"))
    # nobody else's layout changed
    for person in (ada, grace):
        assert_presenting(person, grace, beside=True)
    # Unpin: back to the presentation
    ada_tile.get_by_role("button", name="Unpin Ada", exact=True).click()
    assert_presenting(linus, grace, beside=True)
    expect(ada_tile).not_to_have_attribute("data-pinned", "true")
    has_focus(linus, ada_tile.get_by_role("button", name="Pin Ada", exact=True))


def test_when_the_share_stops_the_grid_returns_and_a_pin_still_works(room: Room) -> None:
    ada, grace, linus = room.ada, room.grace, room.linus
    share = grace.toggle("Share screen")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")
    for person in room.people:
        expect(person.grid()).to_have_attribute("data-layout", "grid")
        expect(person.grid().locator('[data-testid="tile"][data-screen="true"]')).to_have_count(0)
    # a pin without any presentation: Grace large at Ada's only, the grid at the others'
    ada.camera_tile(grace.user.user_id).get_by_role("button", name="Pin Grace", exact=True).click()
    expect(ada.grid()).to_have_attribute("data-layout", "stage")
    expect(ada.camera_tile(grace.user.user_id)).to_have_attribute("data-featured", "true")
    for person in (grace, linus):
        expect(person.grid()).to_have_attribute("data-layout", "grid")
    ada.camera_tile(grace.user.user_id).get_by_role("button", name="Unpin Grace", exact=True).click()
    expect(ada.grid()).to_have_attribute("data-layout", "grid")
    for person in room.people:
        assert person.page_errors == [], (person.name, person.page_errors)


def open_participants(person: Participant):
    button = person.page.get_by_role("button", name="Participants", exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    return person.page.get_by_test_id("participant-list")


def test_the_host_spotlights_a_participant_for_everyone(room: Room, screenshots) -> None:
    ada, grace, linus = room.ada, room.grace, room.linus
    # only the host and co-hosts have the button
    expect(open_participants(grace).get_by_role("button", name="Spotlight Linus")).to_have_count(0)
    open_participants(ada).get_by_role("button", name="Spotlight Linus", exact=True).click()
    for person in room.people:
        expect(person.grid()).to_have_attribute("data-featured-reason", "spotlight")
        expect(person.camera_tile(linus.user.user_id)).to_have_attribute("data-featured", "true")
        tiles = boxes(person)
        (large,) = [t for t in tiles if t["featured"]]
        assert all(area(large) > 4 * area(t) for t in tiles if t is not large), (person.name, tiles)
    ada.page.mouse.move(0, 0)  # no hovered tile: its pin button hides
    ada.page.screenshot(path=str(screenshots / "spotlight-1280x720.png"))
    # Grace's own pin wins over the spotlight, at Grace's only
    grace.camera_tile(ada.user.user_id).get_by_role("button", name="Pin Ada", exact=True).click()
    expect(grace.grid()).to_have_attribute("data-featured-reason", "pin")
    expect(linus.camera_tile(linus.user.user_id)).to_have_attribute("data-featured", "true")
    grace.camera_tile(ada.user.user_id).get_by_role("button", name="Unpin Ada", exact=True).click()
    expect(grace.grid()).to_have_attribute("data-featured-reason", "spotlight")
    # taken away: the grid everywhere
    open_participants(ada).get_by_role("button", name="Remove spotlight Linus", exact=True).click()
    for person in room.people:
        expect(person.grid()).to_have_attribute("data-layout", "grid")
    for person in room.people:
        assert person.page_errors == [], (person.name, person.page_errors)

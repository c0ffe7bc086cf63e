"""Who comes and goes in the room, in Chromium: a join or a leave shows briefly as a toast (a
polite live region; the focus stays where it was) and plays a short sound unless the user
turned sounds off in Devices. Contract: docs/web-client.md ("room": toasts).

The sound is observed with a test-only hook (no client internals): every
``OscillatorNode.start`` of the page is recorded with its frequency and its audio context's
state.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_harness import Participant, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TONES_HOOK = """
(() => {
  window.__parleyTones = [];
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.__parleyTones.push({frequency: this.frequency.value, state: this.context.state});
    return start.apply(this, args);
  };
})();
"""


def tones(person: Participant) -> list[dict]:
    return person.page.evaluate("() => window.__parleyTones || []")


def test_joins_and_leaves_show_as_toasts_and_sound_unless_turned_off(
    participants: ParticipantFactory, screenshots
) -> None:
    ada, grace = participants("Ada"), participants("Grace")
    ada.context.add_init_script(script=TONES_HOOK)
    meeting_id = participants.api.create_meeting(ada.user, "Toasts")
    ada.join(meeting_id)
    toasts = ada.page.get_by_test_id("toasts")
    expect(toasts).to_have_attribute("aria-live", "polite")
    ada.open_chat()
    field = ada.page.get_by_test_id("chat-panel").get_by_label("Message")
    field.focus()
    assert tones(ada) == []  # joining alone: nobody is news

    grace.join(meeting_id)
    joined = toasts.get_by_test_id("toast").filter(has_text="Grace joined")
    expect(joined).to_be_visible(timeout=20_000)
    expect(field).to_be_focused()  # the toast took no focus
    ada.screenshot("toast-joined")
    heard = tones(ada)
    assert len(heard) == 2 and heard[0]["frequency"] < heard[1]["frequency"], heard  # rising
    assert all(t["state"] == "running" for t in heard), heard
    expect(joined).to_have_count(0, timeout=10_000)  # gone after a few seconds

    # sounds off (Devices), kept for next time: a leave shows, silently
    ada.page.get_by_role("button", name="Devices", exact=True).click()
    sound = ada.page.get_by_label("Sound when someone joins or leaves")
    expect(sound).to_be_checked()
    sound.uncheck()
    assert ada.page.evaluate("() => localStorage.getItem('parley.joinLeaveSounds')") == "off"
    grace.page.get_by_role("button", name="Leave", exact=True).click()
    expect(toasts.get_by_test_id("toast").filter(has_text="Grace left")).to_be_visible(timeout=20_000)
    assert len(tones(ada)) == 2, tones(ada)
    assert ada.page_errors == [] and grace.page_errors == [], (ada.page_errors, grace.page_errors)


def test_the_speaker_is_outlined_and_speaking_muted_says_so(
    participants: ParticipantFactory, screenshots
) -> None:
    """Chromium's fake microphone beeps: Grace's microphone is on, Ada's is off. Both pages
    outline Grace's tile, never Ada's; Ada's page says she is muted, since her microphone
    (analysed even while muted) hears the beep."""
    ada, grace = participants("Ada"), participants("Grace")
    meeting_id = participants.api.create_meeting(ada.user, "Speakers")
    for person in (ada, grace):
        person.join(meeting_id)
    ada.toggle("Microphone").click()
    expect(ada.toggle("Microphone")).to_have_attribute("aria-pressed", "false")
    for person in (ada, grace):
        expect(person.camera_tile(grace.user.user_id)).to_have_attribute(
            "data-speaking", "true", timeout=30_000)
    expect(ada.page.get_by_test_id("speaking-muted")).to_contain_text("You are muted")
    expect(grace.page.get_by_test_id("speaking-muted")).to_have_count(0)
    ada.screenshot("speaker-outlined-muted")
    for _ in range(10):  # Ada sends silence: never outlined, on either page
        for person in (ada, grace):
            assert person.camera_tile(ada.user.user_id).get_attribute("data-speaking") == "false"
        ada.page.wait_for_timeout(300)
    # unmuted, "You are muted" goes
    ada.toggle("Microphone").click()
    expect(ada.page.get_by_test_id("speaking-muted")).to_have_count(0)
    assert ada.page_errors == [] and grace.page_errors == [], (ada.page_errors, grace.page_errors)

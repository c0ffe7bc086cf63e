"""The pre-join screen in Chromium: a microphone level meter that moves with the (fake,
beeping) microphone, the list of who is already in the call (``GET …/roster``), and a speaker
choice where the browser can play on a chosen output (``HTMLMediaElement.setSinkId``), which
the room's remote tiles then use. Contract: docs/web-client.md ("pre-join").
Screenshots: ``prejoin-*.png`` at 1280x720 and 390x844."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_harness import PHONE, VIEWPORT, ParticipantFactory, wait_remote_videos_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

#: the audio outputs the page may choose (what the "Speaker" select should list)
OUTPUTS_JS = """
async () => 'setSinkId' in HTMLMediaElement.prototype
  ? (await navigator.mediaDevices.enumerateDevices())
      .filter(d => d.kind === 'audiooutput' && d.deviceId).map(d => d.deviceId)
  : []
"""


def test_the_prejoin_shows_the_mic_level_who_is_in_and_a_speaker_choice(
    participants: ParticipantFactory, screenshots
) -> None:
    ada, grace = participants("Ada"), participants("Grace")
    meeting_id = participants.api.create_meeting(ada.user, "Pre-join")
    grace.open_meeting(meeting_id)
    grace.wait_preview_playing()
    roster = grace.page.get_by_test_id("prejoin-roster")
    expect(roster).to_contain_text("Nobody is in the call yet")

    ada.join(meeting_id)
    expect(roster.get_by_role("listitem")).to_have_text(["Ada"], timeout=20_000)
    meter = grace.page.get_by_label("Microphone level")
    grace.page.wait_for_function("m => m.value > 0.05", arg=meter.element_handle())
    # off, the meter still moves: it is a check of the microphone before joining
    grace.toggle("Microphone").click()
    expect(grace.toggle("Microphone")).to_have_attribute("aria-pressed", "false")
    grace.page.wait_for_function("m => m.value > 0.05", arg=meter.element_handle())
    grace.toggle("Microphone").click()

    outputs = grace.page.evaluate(OUTPUTS_JS)
    speaker = grace.page.get_by_label("Speaker")
    if outputs:
        expect(speaker.locator("option")).to_have_count(len(outputs))
        chosen = outputs[-1]
        speaker.select_option(value=chosen)
    else:  # nothing to choose: no select
        expect(speaker).to_have_count(0)
    grace.screenshot("prejoin-1280x720")
    grace.page.set_viewport_size(PHONE)
    grace.page.screenshot(path=str(screenshots / "prejoin-390x844.png"), full_page=True)
    grace.page.set_viewport_size(VIEWPORT)

    grace.enter_room()
    wait_remote_videos_playing(grace, 1)
    if outputs:  # the others are heard on the chosen output
        sink = grace.camera_tile(ada.user.user_id).locator("video").evaluate("v => v.sinkId")
        assert sink == chosen, (sink, chosen)
    print(f"\naudio outputs offered: {len(outputs)}")
    assert grace.page_errors == [] and ada.page_errors == [], (grace.page_errors, ada.page_errors)

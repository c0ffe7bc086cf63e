"""A participant whose camera is denied sees why, in words, and still joins with audio.

Camera denial in headless Chromium: a second browser launched WITHOUT
``--use-fake-ui-for-media-stream`` (with it, every prompt is accepted whatever the context
was granted), in a context granted only ``"microphone"``: ``getUserMedia`` then fails with
``NotAllowedError`` for any request that includes video and succeeds for audio alone.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_harness import (
    Api, ParticipantFactory, wait_inbound_growing, wait_remote_videos_playing,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def test_camera_denied_shows_the_error_and_joins_with_audio(
    api: Api, participants: ParticipantFactory, strict_browser, screenshots
) -> None:
    host = participants("Hedy")
    meeting_id = api.create_meeting(host.user, "Camera denied")
    host.join(meeting_id)

    guest = participants("Alan", browser=strict_browser, permissions=["microphone"])
    guest.open_meeting(meeting_id)
    denied = guest.page.get_by_role("alert").filter(has_text=re.compile("denied", re.I))
    expect(denied).to_be_visible()
    expect(denied).to_contain_text(re.compile("camera", re.I))
    guest.screenshot("prejoin-camera-denied")

    guest.page.get_by_role("button", name="Join meeting").click()
    local = guest.grid().locator('[data-testid="tile"][data-local="true"]')
    expect(local).to_have_attribute("data-video-muted", "true", timeout=20_000)
    expect(local).to_have_attribute("data-audio-muted", "false")
    expect(guest.toggle("Microphone")).to_have_attribute("aria-pressed", "true")
    expect(guest.toggle("Camera")).to_have_attribute("aria-pressed", "false")

    # the host hears the guest (RTP audio arriving), sees the tile as camera-off, unmuted
    remote = host.grid().locator(
        f'[data-testid="tile"][data-user-id="{guest.user.user_id}"]:not([data-screen="true"])')
    expect(remote).to_have_attribute("data-audio-muted", "false", timeout=20_000)
    expect(remote).to_have_attribute("data-video-muted", "true")
    wait_inbound_growing(host, "audio")
    # and the guest still receives the host's video
    wait_remote_videos_playing(guest, 1, user_id=host.user.user_id)
    guest.screenshot("room-camera-denied")

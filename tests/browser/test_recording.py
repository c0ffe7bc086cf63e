"""Recording the meeting in Chromium: Ada records a few seconds of a call with Grace while her
own microphone is off; the WebM she downloads holds the meeting's composite (video frames that
change, as the fake cameras' clip moves) and audio whose energy can only be Grace's (Ada's
microphone is muted, and a muted microphone is not mixed). Grace, and Linus who joins during
the recording, see that Ada records; nobody does once she stopped. Contract:
docs/web-client.md ("Recording"), docs/signaling.md ("Recording").

The file is decoded with PyAV (FFmpeg in its wheel).
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import av
import pytest
from playwright.sync_api import expect

from browser_harness import Api, Participant, ParticipantFactory, wait_inbound_growing, wait_remote_videos_playing

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]

#: how long Ada records (ms), counted from the moment her button says "Recording"
RECORD_MS = 4_000


def indicator(person: Participant):
    return person.page.get_by_test_id("recording-indicator")


def luma_sample(frame: av.VideoFrame) -> list[int]:
    """The frame's grey levels on a coarse grid (every 16th row, every 8th column)."""
    grey = frame.reformat(format="gray")
    plane = grey.planes[0]
    data = bytes(plane)
    return [v for y in range(0, grey.height, 16) for v in data[y * plane.line_size: y * plane.line_size + grey.width: 8]]


def mean_difference(a: list[int], b: list[int]) -> float:
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)


def decode(path: Path) -> dict:
    """What the WebM holds: its streams; the decoded video frames, how much one varies
    (standard deviation of its grey levels) and how much the picture moves (the median, over
    the frames, of the mean difference from the frame five before); the audio's duration and
    its loudest 100 ms (RMS of the mix, full scale 1)."""
    found = {"streams": [], "video_frames": 0, "frame_size": None, "frame_spread": 0.0, "motion": 0.0,
             "audio_seconds": 0.0, "audio_peak_rms": 0.0}
    with av.open(str(path)) as container:
        found["streams"] = sorted(s.type for s in container.streams)
        frames = []
        for frame in container.decode(video=0):
            found["frame_size"] = (frame.width, frame.height)
            frames.append(luma_sample(frame))
        found["video_frames"] = len(frames)
        for sample in frames:
            mean = sum(sample) / len(sample)
            spread = math.sqrt(sum((v - mean) ** 2 for v in sample) / len(sample))
            found["frame_spread"] = max(found["frame_spread"], spread)
        moves = sorted(mean_difference(frames[i], frames[i - 5]) for i in range(5, len(frames)))
        found["motion"] = moves[len(moves) // 2] if moves else 0.0
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48_000)
        samples = array("f")
        for frame in container.decode(audio=0):
            for mono in resampler.resample(frame):
                samples.extend(array("f", bytes(mono.planes[0])[: mono.samples * 4]))
        found["audio_seconds"] = len(samples) / 48_000
        window = 4_800
        for start in range(0, len(samples) - window + 1, window):
            chunk = samples[start:start + window]
            found["audio_peak_rms"] = max(found["audio_peak_rms"], math.sqrt(sum(v * v for v in chunk) / window))
    return found


def test_a_recording_holds_the_meeting_and_the_others_audio_and_everyone_sees_who_records(
        api: Api, participants: ParticipantFactory, tmp_path: Path, screenshots) -> None:
    ada, grace = participants("Ada"), participants("Grace")
    meeting_id = api.create_meeting(ada.user, "Recorded meeting")
    for person in (ada, grace):
        person.join(meeting_id)
    for person in (ada, grace):
        wait_remote_videos_playing(person, 1)
    wait_inbound_growing(ada, "audio")  # Grace's microphone reaches Ada

    # Ada's own microphone off: any energy in the recording's audio is someone else's
    mic = ada.toggle("Microphone")
    mic.click()
    expect(mic).to_have_attribute("aria-pressed", "false")

    record = ada.toggle("Record")
    expect(record).to_have_attribute("aria-pressed", "false")
    record.click()
    # pressed, and saying "Recording", only once the recorder started
    expect(record).to_have_attribute("aria-pressed", "true")
    expect(record).to_contain_text("Recording")
    started = ada.page.evaluate("() => performance.now()")

    expect(indicator(ada)).to_have_text("You are recording", timeout=10_000)
    expect(indicator(grace)).to_have_text("Ada is recording", timeout=10_000)
    expect(indicator(grace)).to_have_attribute("role", "status")
    grace.screenshot("recording-indicator")

    # someone who joins during the recording sees it too (the join acknowledgement says so),
    # and is drawn and mixed from then on
    linus = participants("Linus")
    linus.join(meeting_id)
    expect(indicator(linus)).to_have_text("Ada is recording", timeout=10_000)
    wait_remote_videos_playing(ada, 2)

    remaining = RECORD_MS - (ada.page.evaluate("() => performance.now()") - started)
    if remaining > 0:
        ada.page.wait_for_timeout(remaining)
    with ada.page.expect_download(timeout=30_000) as download:
        record.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("parley-recorded-meeting-") and saved.suffix == ".webm"
    expect(record).to_have_attribute("aria-pressed", "false")
    expect(ada.page.get_by_role("link", name=f"Download {saved.name}")).to_be_visible()
    for person in (ada, grace, linus):
        expect(indicator(person)).to_have_count(0, timeout=10_000)

    found = decode(saved)
    assert saved.stat().st_size > 0
    assert found["streams"] == ["audio", "video"], found
    assert found["frame_size"] == (1280, 720), found
    assert found["video_frames"] >= 10, found  # 15 frames a second are drawn; a loaded machine drops some
    assert found["frame_spread"] > 10, found  # tiles with video, not a blank canvas
    assert found["motion"] > 1, found  # the cameras' clip moves throughout: live video, not still tiles
    assert found["audio_seconds"] >= 2, found
    # Grace's fake microphone beeps; silence would be ~0, the beep is far above 0.01
    assert found["audio_peak_rms"] > 0.01, found
    for person in (ada, grace, linus):
        assert person.page_errors == [], (person.name, person.page_errors)

"""Background blur keeps the person sharp while the rest of the frame blurs, as the others
receive it. Contract: docs/web-client.md ("Video filters").

Maria's camera is her own fake camera (a browser of her own): a drawn head-and-shoulders figure
in the middle of the frame, whose shirt has fine horizontal stripes of two blues, in front of a
wall of fine vertical stripes. The segmentation model (MediaPipe Selfie Segmentation, run in Maria's page)
finds a person in it, as it does in a real camera. Tom, in the shared test browser, measures
the sharpness of what he receives from Maria: the mean luma step across the stripes in the
centre (the shirt) and along the left and right edges (the wall), with no filter, with
"Background blur" and with "Blur". Background blur must leave the centre about as sharp as no
filter does while the edges lose their stripes like the whole frame does under "Blur"; if the
model found no person (or could not run), the centre would blur too and the test fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from browser_harness import (
    Api, Participant, ParticipantFactory, launch_chromium, wait_remote_videos_playing, wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]

WIDTH, HEIGHT = 320, 240
#: the wall's vertical stripes and the shirt's horizontal ones: 4 px light, 4 px dark
STRIPE = 4
WALL = ((150, 170, 170), (40, 70, 70))
#: two blues: the model takes a shirt of light and dark blue stripes for a shirt, while white
#: stripes on blue made it see wall there (a mask of about 5% instead of 100% over the shirt)
SHIRT = ((80, 110, 180), (30, 55, 110))
SKIN, HAIR, EYES = (217, 160, 122), (43, 27, 16), (34, 34, 34)

#: where the sharpness is measured, as fractions of the frame (x0, y0, x1, y1): the shirt, in
#: the middle; the wall, along the left and the right edge
CENTRE = (0.40, 0.74, 0.60, 0.95)
EDGES = ((0.0, 0.05, 0.15, 0.95), (0.85, 0.05, 1.0, 0.95))


def _inside(x: float, y: float, cx: float, cy: float, rx: float, ry: float) -> bool:
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1


def figure_pixel(x: int, y: int) -> tuple[int, int, int]:
    """The colour of the drawn figure's frame at (x, y)."""
    w, h = WIDTH, HEIGHT
    for ex in (w / 2 - 0.04 * w, w / 2 + 0.04 * w):
        if (x - ex) ** 2 + (y - 0.36 * h) ** 2 <= 9:
            return EYES
    if y < 0.27 * h and _inside(x, y, w / 2, 0.27 * h, 0.115 * w, 0.1 * h):
        return HAIR
    if _inside(x, y, w / 2, 0.38 * h, 0.11 * w, 0.19 * h):
        return SKIN
    if abs(x - w / 2) <= 0.05 * w and 0.5 * h <= y <= 0.68 * h:  # the neck
        return SKIN
    if _inside(x, y, w / 2, 1.05 * h, 0.32 * w, 0.42 * h):
        return SHIRT[(y // STRIPE) % 2]
    return WALL[(x // STRIPE) % 2]


def write_figure_camera(path: Path, frames: int = 2, fps: int = 15) -> Path:
    """A Y4M clip (YUV 4:2:0, BT.601 full range as C420jpeg says) of the figure, still."""
    rgb = [[figure_pixel(x, y) for x in range(WIDTH)] for y in range(HEIGHT)]
    luma = bytes(min(255, round(0.299 * r + 0.587 * g + 0.114 * b))
                 for row in rgb for r, g, b in row)
    u, v = bytearray(), bytearray()
    for y in range(0, HEIGHT, 2):
        for x in range(0, WIDTH, 2):
            block = [rgb[y + dy][x + dx] for dy in (0, 1) for dx in (0, 1)]
            r, g, b = (sum(c[i] for c in block) / 4 for i in range(3))
            u.append(max(0, min(255, round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b))))
            v.append(max(0, min(255, round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b))))
    frame = b"FRAME\n" + luma + bytes(u) + bytes(v)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(frame)
    return path


#: the mean luma step between neighbours in each region of the video: across the rows (the
#: shirt's stripes) in the centre, across the columns (the wall's) at the edges
SHARPNESS_JS = """
(v, [centre, edges]) => {
  const w = v.videoWidth, h = v.videoHeight;
  if (!w || !h) return {width: 0, centre: 0, edges: 0};
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(v, 0, 0, w, h);
  const d = ctx.getImageData(0, 0, w, h).data;
  const luma = (x, y) => { const i = 4 * (y * w + x); return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; };
  const step = ([x0, y0, x1, y1], dx, dy) => {
    let sum = 0, n = 0;
    for (let y = Math.max(dy, Math.floor(y0 * h)); y < Math.floor(y1 * h); y++)
      for (let x = Math.max(dx, Math.floor(x0 * w)); x < Math.floor(x1 * w); x++) {
        sum += Math.abs(luma(x, y) - luma(x - dx, y - dy)); n++;
      }
    return sum / n;
  };
  const sides = edges.map(r => step(r, 1, 0));
  return {width: w, height: h, centre: step(centre, 0, 1), edges: Math.max(...sides)};
}
"""


@dataclass
class BlurRoom:
    maria: Participant
    tom: Participant

    def sharpness(self) -> dict:
        """How sharp Maria's video is at Tom's now (SHARPNESS_JS)."""
        video = self.tom.camera_tile(self.maria.user.user_id).locator("video")
        return video.evaluate(SHARPNESS_JS, [list(CENTRE), [list(e) for e in EDGES]])


@pytest.fixture(scope="module")
def figure_browser(playwright, tmp_path_factory: pytest.TempPathFactory):
    """Chromium whose camera shows the drawn figure."""
    camera = write_figure_camera(tmp_path_factory.mktemp("figure") / "figure.y4m")
    browser = launch_chromium(playwright, camera, fake_ui=True)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def blur_room(api: Api, participants: ParticipantFactory, figure_browser) -> BlurRoom:
    maria = participants("Maria", browser=figure_browser)
    tom = participants("Tom")
    meeting_id = api.create_meeting(maria.user, "Background blur")
    for person in (maria, tom):
        person.join(meeting_id)
    wait_remote_videos_playing(tom, 1, user_id=maria.user.user_id)
    return BlurRoom(maria, tom)


def test_background_blur_keeps_the_centre_sharp_while_the_edges_blur(blur_room: BlurRoom,
                                                                       screenshots) -> None:
    maria, tom = blur_room.maria, blur_room.tom

    def settled(check, what: str) -> dict:
        """The sharpness once ``check`` held for three looks in a row (the encoder's quality
        ramps up and down with the bandwidth estimate)."""
        streak: list[dict] = []

        def probe():
            look = blur_room.sharpness()
            streak[:] = [*streak, look][-3:] if look["width"] and check(look) else []
            return len(streak) == 3, look

        wait_until(tom.page, probe, 60, what)
        return streak[-1]

    plain = settled(lambda s: s["centre"] > 10 and s["edges"] > 10,
                    "Maria's striped shirt and wall both sharp at Tom's before any filter")

    maria.choose_video_filter("Blur")
    blurred = settled(lambda s: s["centre"] < 0.3 * plain["centre"] and s["edges"] < 0.3 * plain["edges"],
                      f"Maria's whole frame blurred at Tom's (no filter: {plain})")

    maria.choose_video_filter("Background blur")
    background = settled(
        lambda s: s["centre"] > 0.6 * plain["centre"] and s["edges"] < 0.3 * plain["edges"],
        f"Maria's shirt sharp and the wall blurred at Tom's (no filter: {plain}, blur: {blurred})")
    tom.screenshot("background-blur-at-the-other")
    maria.screenshot("background-blur-own-view")
    # the edges blur as much as under "Blur"; the centre keeps most of its sharpness
    assert background["edges"] < 2 * blurred["edges"] + 1, (background, blurred)
    assert background["centre"] > 3 * background["edges"], background

    maria.choose_video_filter("None")
    settled(lambda s: s["centre"] > 0.6 * plain["centre"] and s["edges"] > 0.6 * plain["edges"],
            f"Maria's frame sharp again at Tom's (no filter at first: {plain})")
    for person in (maria, tom):
        assert person.page_errors == [], (person.name, person.page_errors)

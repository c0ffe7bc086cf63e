"""Drive the Parley web client in Debian's Chromium (Playwright's sync API) for the browser tests.

Only the public contracts are used: docs/http-api.md (users and meetings are set up through the
API with httpx) and docs/web-client.md (routes, accessible names, ``data-testid``s). Two
test-only hooks are injected into every page before the client's code runs, and depend on no
client internals: they record each ``RTCPeerConnection`` (for ``getStats``) and each
``WebSocket`` (to cut the signaling socket).

Chromium, headless, launched from ``/usr/bin/chromium`` (Debian) and never downloaded:

- ``--use-fake-device-for-media-stream`` + ``--use-file-for-fake-video-capture``: the camera
  is a small looping Y4M clip (320x240 at 15 fps, written by :func:`write_fake_camera`) and the
  microphone a beep, so three participants fit on 2 cores;
- ``--use-fake-ui-for-media-stream``: every permission prompt is accepted. In Chromium 156
  headless this alone also makes ``getDisplayMedia`` resolve, with a fake 1280x720 "monitor"
  source (``screen:-3:0``): ``--auto-select-desktop-capture-source``,
  ``--auto-accept-this-tab-capture`` and ``--enable-usermedia-screen-capturing`` are not
  needed. Without the fake UI, ``getDisplayMedia`` never settles (no picker can be shown) and
  ``getUserMedia`` is denied unless the context was granted the permission;
- so a participant whose camera is denied runs in a second browser launched WITHOUT
  ``--use-fake-ui-for-media-stream``, in a context granted only ``"microphone"``: there
  ``getUserMedia({audio})`` succeeds and any request for video fails with ``NotAllowedError``
  (with the fake UI the context's permissions are ignored and everything is granted).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 720}
#: the phone the browser tests check layouts on (docs/web-client.md, "Phone layout")
PHONE = {"width": 390, "height": 844}
#: Playwright's limit for one action (a click, a fill) and one ``expect``: generous, because a
#: renderer of the loaded CI machine (load average ~40 on 2 cores, two browsers per worker) was
#: seen to take over 15 s to take a click (the blur test, stop 36's CI); a test that hangs is
#: still caught by its own hang timeout
ACTION_TIMEOUT_MS = 30_000
PASSWORD = "correct horse battery staple"

#: flags of every test browser (see the module docstring)
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    # remote videos may start without a click in the page (a real user clicked "Join meeting")
    "--autoplay-policy=no-user-gesture-required",
]
FAKE_UI = "--use-fake-ui-for-media-stream"

#: test-only hooks, injected before any script of the page (see the module docstring)
PAGE_HOOKS = """
(() => {
  const track = (Native, list) => new Proxy(Native, {
    construct(target, args, newTarget) {
      const obj = Reflect.construct(target, args, newTarget);
      list.push(obj);
      return obj;
    },
  });
  window.__parleyPeerConnections = [];
  window.__parleySockets = [];
  window.RTCPeerConnection = track(window.RTCPeerConnection, window.__parleyPeerConnections);
  window.WebSocket = track(window.WebSocket, window.__parleySockets);
})();
"""

#: every tile of the room's grid, with what its <video> is doing
TILES_JS = """
() => [...document.querySelectorAll('[data-testid="video-grid"] [data-testid="tile"]')].map(t => {
  const v = t.querySelector('video');
  const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  return {
    sid: t.dataset.sid || '', user_id: t.dataset.userId || '',
    local: t.dataset.local === 'true', screen: t.dataset.screen === 'true',
    audio_muted: t.dataset.audioMuted, video_muted: t.dataset.videoMuted,
    width: v ? v.videoWidth : 0, time: v ? v.currentTime : 0,
    frames: q ? q.totalVideoFrames : 0, paused: v ? v.paused : true,
  };
})
"""

#: inbound RTP totals over every open peer connection of the page (W3C webrtc-stats)
INBOUND_JS = """
async () => {
  const out = {audio_packets: 0, video_frames: 0, connections: 0};
  for (const pc of window.__parleyPeerConnections || []) {
    if (pc.connectionState === 'closed') continue;
    out.connections += 1;
    (await pc.getStats()).forEach(s => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'audio') out.audio_packets += s.packetsReceived || 0;
      if (s.kind === 'video') out.video_frames += s.framesDecoded || 0;
    });
  }
  return out;
}
"""


#: the current frame of a <video>, drawn at its own size into a canvas: how coloured it is
#: (per pixel max(R,G,B) - min(R,G,B): its mean and 95th percentile; 0 for grey) and how sharp
#: (the largest luma step between horizontal neighbours over a few rows; a blur flattens it)
VIDEO_LOOK_JS = """
v => {
  const w = v.videoWidth, h = v.videoHeight;
  if (!w || !h) return {width: 0, height: 0, spread_mean: 0, spread_p95: 0, edge: 0};
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(v, 0, 0, w, h);
  const d = ctx.getImageData(0, 0, w, h).data;
  const hist = new Array(256).fill(0);
  let sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    const s = Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]);
    hist[s] += 1; sum += s;
  }
  const n = w * h;
  let p95 = 0;
  for (let acc = 0; p95 < 255 && (acc += hist[p95]) < 0.95 * n; p95++);
  const luma = i => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  let edge = 0;
  for (let y = Math.floor(h / 8); y < h; y += Math.floor(h / 4)) {
    for (let x = 1; x < w; x++) {
      const i = 4 * (y * w + x);
      edge = Math.max(edge, Math.abs(luma(i) - luma(i - 4)));
    }
  }
  return {width: w, height: h, spread_mean: sum / n, spread_p95: p95, edge};
}
"""


# fake camera ---------------------------------------------------------------------------------
def write_fake_camera(path: Path, width: int = 320, height: int = 240, fps: int = 15,
                      frames: int = 45) -> Path:
    """Write a looping Y4M clip (YUV 4:2:0; the format Chromium's file capture reads): a
    blue-green gradient with a light bar sweeping across, so every frame differs."""
    chroma = bytes([150]) * (width // 2 * height // 2) + bytes([110]) * (width // 2 * height // 2)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            x0 = i * width // frames
            row = bytes(220 if x0 <= x < x0 + width // 10 else 50 + x * 90 // width
                        for x in range(width))
            f.write(b"FRAME\n" + row * height + chroma)
    return path


def launch_chromium(playwright: Playwright, fake_camera: Path, *, fake_ui: bool = True) -> Browser:
    """Debian's Chromium, headless, with fake media devices (``fake_ui``: accept prompts).
    Every context and page it makes reports its CSP violations (:class:`CspWatchingBrowser`)."""
    args = [*BASE_ARGS, f"--use-file-for-fake-video-capture={fake_camera}"]
    if fake_ui:
        args.append(FAKE_UI)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    return CspWatchingBrowser(browser)  # type: ignore[return-value]


# Content-Security-Policy violations ---------------------------------------------------------
#: Every CSP violation any page of any test browser reported since the last check, as text.
#: The ``no_csp_violation`` fixture (conftest.py, autouse) fails a test that leaves one here.
CSP_VIOLATIONS: list[str] = []

#: Reports each ``securitypolicyviolation`` event of the document (CSP3 §5.3: fired at the
#: element or the document, bubbling; captured here) to the binding ``__parleyCspViolation``.
CSP_HOOK = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__parleyCspViolation(`${e.disposition}: ${e.effectiveDirective} refused ` +
    `${e.blockedURI || '(inline)'} at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
}, true);
"""


def watch_csp(context: BrowserContext) -> BrowserContext:
    """Record every CSP violation of ``context``'s pages in :data:`CSP_VIOLATIONS`: the page's
    ``securitypolicyviolation`` events (:data:`CSP_HOOK`) and Chromium's console messages about
    a Content Security Policy (which also cover what no event reaches, e.g. a refused worker),
    or about the ``Permissions-Policy`` header (a feature Chromium does not know is an error)."""
    context.expose_binding("__parleyCspViolation",
                           lambda source, text: CSP_VIOLATIONS.append(f"{source['page'].url} {text}"))
    context.add_init_script(script=CSP_HOOK)
    context.on("console", lambda msg: CSP_VIOLATIONS.append(f"console {msg.type}: {msg.text}")
               if "Content Security Policy" in msg.text or "Permissions-Policy" in msg.text else None)
    return context


class CspWatchingBrowser:
    """A Playwright ``Browser`` whose every ``new_context()`` / ``new_page()`` is watched by
    :func:`watch_csp`; everything else is the browser's own."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, **options: Any) -> BrowserContext:
        return watch_csp(self._browser.new_context(**options))

    def new_page(self, **options: Any) -> Page:
        context = self.new_context(**options)
        page = context.new_page()
        page.on("close", lambda _: context.close())
        return page


# the API -------------------------------------------------------------------------------------
@dataclass
class User:
    user_id: str
    email: str
    display_name: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class Api:
    """The platform's public HTTP API through Traefik (docs/http-api.md)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=15)

    def close(self) -> None:
        self.http.close()

    def register(self, display_name: str) -> User:
        email = f"{display_name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
        resp = self.http.post("/api/auth/register", json={
            "email": email, "display_name": display_name, "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        login = self.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return User(resp.json()["user_id"], email, display_name, login.json()["access_token"])

    def create_meeting(self, host: User, title: str) -> str:
        resp = self.http.post("/api/meetings", json={"title": title}, headers=host.headers)
        assert resp.status_code == 201, resp.text
        return resp.json()["meeting_id"]

    def post_chat(self, user: User, meeting_id: str, text: str) -> None:
        resp = self.http.post(f"/api/chat/meetings/{meeting_id}/messages", headers=user.headers,
                              json={"message_id": uuid.uuid4().hex, "text": text})
        assert resp.status_code == 201, resp.text


# a participant -------------------------------------------------------------------------------
@dataclass
class Participant:
    """One person: their own browser context (1280x720) and page, signed in through the UI."""

    user: User
    context: BrowserContext
    page: Page
    base_url: str
    page_errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.user.display_name

    # navigation --------------------------------------------------------------------------
    def sign_in(self, next_path: str = "/") -> None:
        """Sign in through the sign-in form and land on ``next_path``."""
        page = self.page
        page.goto(f"{self.base_url}/signin?next={quote(next_path, safe='/')}")
        page.get_by_label("Email").fill(self.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        # anchored at the origin: the sign-in page's own address ends in ``next_path`` too
        landed = re.compile("^" + re.escape(self.base_url + next_path) + r"([?#].*)?$")
        expect(page).to_have_url(landed)

    def open_meeting(self, meeting_id: str) -> None:
        """Open the invite link signed in: the pre-join screen (or the ended screen)."""
        self.sign_in(f"/m/{meeting_id}")

    def join(self, meeting_id: str) -> None:
        """Invite link → pre-join (the camera preview playing) → "Join meeting" → the room's
        grid with one's own tile."""
        self.open_meeting(meeting_id)
        self.enter_room()

    def enter_room(self) -> None:
        """From the pre-join screen (e.g. after a reload of ``/m/{id}``): wait for the camera
        preview, "Join meeting", and wait for the room's grid with one's own tile."""
        self.wait_preview_playing()
        self.page.get_by_role("button", name="Join meeting").click(timeout=20_000)
        expect(self.grid().locator('[data-testid="tile"][data-local="true"]').first).to_be_visible(
            timeout=20_000)

    def wait_preview_playing(self, timeout_ms: float = 20_000) -> None:
        """Wait until the pre-join preview shows the camera (decoded size, time advancing)."""
        preview = self.page.get_by_test_id("preview-video")
        expect(preview).to_be_visible(timeout=timeout_ms)
        self.page.wait_for_function(
            "v => v.videoWidth > 0 && v.currentTime > 0", arg=preview.element_handle(),
            timeout=timeout_ms)

    # the room ----------------------------------------------------------------------------
    def grid(self):
        return self.page.get_by_test_id("video-grid")

    def toggle(self, name: str):
        """A room toggle button ("Microphone", "Camera", "Share screen", "Record")."""
        return self.page.get_by_role("button", name=name, exact=True)

    def tiles(self) -> list[dict[str, Any]]:
        return self.page.evaluate(TILES_JS)

    def camera_tile(self, user_id: str):
        """The camera tile (not a screen share) of ``user_id`` in this page's grid."""
        return self.grid().locator(
            f'[data-testid="tile"][data-user-id="{user_id}"]:not([data-screen="true"])')

    def choose_video_filter(self, label: str) -> None:
        """Open the menu button "Video filter" and choose ``label`` ("None", "Blur", "Background
        blur", "Grayscale"); it is checked when the menu is opened again."""
        button = self.page.get_by_role("button", name="Video filter", exact=True)
        button.click()
        menu = self.page.get_by_role("menu", name="Video filter")
        menu.get_by_role("menuitemradio", name=label, exact=True).click()
        expect(menu).to_have_count(0)
        expect(button).to_be_focused()
        button.click()
        expect(menu.get_by_role("menuitemradio", name=label, exact=True)).to_have_attribute(
            "aria-checked", "true")
        self.page.keyboard.press("Escape")
        expect(menu).to_have_count(0)

    def video_look(self, tile) -> dict[str, Any]:
        """What the ``video`` of ``tile`` (a locator) shows now, from its pixels (VIDEO_LOOK_JS)."""
        return tile.locator("video").evaluate(VIDEO_LOOK_JS)

    def inbound(self) -> dict[str, int]:
        return self.page.evaluate(INBOUND_JS)

    def connection_state(self) -> str | None:
        return self.page.get_by_test_id("connection-status").get_attribute("data-state")

    def open_chat(self) -> None:
        button = self.page.get_by_role("button", name="Chat", exact=True)
        if button.get_attribute("aria-expanded") != "true":
            button.click()
        expect(self.page.get_by_test_id("chat-panel")).to_be_visible()

    def send_chat(self, text: str, *, wait: bool = True) -> None:
        """Sends ``text`` in the meeting's chat and, unless ``wait`` is false, waits until chat
        stored it (the message is no longer "Sending…"); fails if it shows "Not sent."."""
        self.open_chat()
        panel = self.page.get_by_test_id("chat-panel")
        panel.get_by_label("Message").fill(text)
        panel.get_by_role("button", name="Send").click()
        if not wait:
            return
        own = self.chat_messages().filter(has_text=text).last
        expect(own.locator("time.chat-time, .chat-failed")).to_have_count(1, timeout=30_000)  # stored or failed
        expect(own.locator(".chat-failed"), f"chat did not store {text!r}").to_have_count(0)

    def chat_messages(self):
        return self.page.get_by_test_id("chat-messages").get_by_test_id("chat-message")

    def go_offline(self) -> None:
        """Cut the network under the signaling socket: the context goes offline (Chromium then
        closes its WebSockets and every request, reconnection attempts included, fails) and
        any WebSocket still open is closed. WebRTC media is not affected."""
        self.context.set_offline(True)
        self.page.evaluate(
            "() => window.__parleySockets.forEach(ws => ws.readyState < 2 && ws.close())")

    def go_online(self) -> None:
        self.context.set_offline(False)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


class ParticipantFactory:
    """Creates participants (a registered user + a fresh context) and closes them at the end."""

    def __init__(self, api: Api, browser: Browser) -> None:
        self.api = api
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    def __call__(self, display_name: str, *, browser: Browser | None = None,
                 permissions: list[str] | None = None) -> Participant:
        user = self.api.register(display_name)
        options: dict[str, Any] = {"viewport": VIEWPORT}
        if permissions is not None:
            options["permissions"] = permissions
        context = (browser or self.browser).new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.add_init_script(script=PAGE_HOOKS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # e.g. "End the meeting for everyone?"
        participant = Participant(user, context, page, self.api.base_url)
        page.on("pageerror", lambda exc: participant.page_errors.append(str(exc)))
        return participant

    def close(self) -> None:
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # noqa: BLE001 - the browser may already be gone
                pass
        self.contexts.clear()


# waiting for media ---------------------------------------------------------------------------
class HeldAnswers:
    """Route ``url`` (a glob) in ``person``'s page: each request is sent at once and its
    answer kept, not delivered, until :meth:`release` hands them all to the page in the order
    asked; requests after that pass. Every request is held, not just the first: a page may ask
    twice (a second load when its socket connects), and Playwright runs route handlers
    concurrently, so a "first request" check can let two through as first."""

    def __init__(self, person: Participant, url: str) -> None:
        self.page, self.url = person.page, url
        self.requests: list[list] = []  # [route, response or None until fetched], in order
        self.released = False
        self.handler = self._hold  # one object, for route and unroute
        self.page.route(url, self.handler)

    def _hold(self, route) -> None:
        if self.released:
            route.continue_()
            return
        entry = [route, None]
        self.requests.append(entry)
        entry[1] = route.fetch()

    def wait(self, what: str, timeout: float = 30) -> None:
        """Until the page asked at least once and every answer held came back; fails naming
        ``what`` after ``timeout`` seconds."""
        wait_until(self.page, lambda: (bool(self.requests) and all(r is not None for _, r in self.requests),
                                       f"{len(self.requests)} requests held"),
                   timeout, f"asked for {what} and answered", interval_ms=100)

    def release(self) -> None:
        """Hand every held answer to the page, in the order asked, and let later requests pass."""
        self.wait(self.url)
        self.released = True
        for route, response in self.requests:
            route.fulfill(response=response)
        self.page.unroute(self.url, self.handler)


def wait_held(person: Participant, held: list, what: str, timeout: float = 30) -> None:
    """Until a request that ``held`` collects (a Playwright route handler appends to it) came
    from ``person``'s page; fails naming ``what`` after ``timeout`` seconds."""
    wait_until(person.page, lambda: (bool(held), "nothing held"), timeout, f"asked for {what}", interval_ms=100)


def wait_until(page: Page, probe: Callable[[], tuple[bool, Any]], timeout: float,
               what: str, interval_ms: int = 500) -> Any:
    """Call ``probe`` (→ ``(done, detail)``) until done, pumping Playwright's events between
    calls (``page.wait_for_timeout``, never ``time.sleep``); fail with the last detail."""
    deadline = time.monotonic() + timeout
    while True:
        done, detail = probe()
        if done:
            return detail
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f}s, still not {what}: {detail}")
        page.wait_for_timeout(interval_ms)


def playing_tiles(participant: Participant, select: Callable[[dict[str, Any]], bool],
                  interval_ms: int = 800) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The selected tiles whose video is playing: a decoded size (``videoWidth`` > 0) and a
    ``currentTime`` or decoded frame count that grew over ``interval_ms``. Returns
    ``(playing, all selected tiles as last seen)``."""
    before = {(t["sid"], t["screen"]): t for t in participant.tiles() if select(t)}
    participant.page.wait_for_timeout(interval_ms)
    after = [t for t in participant.tiles() if select(t)]
    playing = []
    for tile in after:
        prev = before.get((tile["sid"], tile["screen"]))
        advancing = prev and (tile["time"] > prev["time"] or tile["frames"] > prev["frames"])
        if advancing and tile["width"] > 0:
            playing.append(tile)
    return playing, after


def wait_remote_videos_playing(participant: Participant, count: int, *, screen: bool = False,
                               user_id: str | None = None, exclude_sids: set[str] = frozenset(),
                               timeout: float = 45) -> list[dict]:
    """Wait until ``participant`` sees at least ``count`` remote tiles playing video (camera
    tiles, or screen-share tiles when ``screen``), optionally only ``user_id``'s, and only
    tiles whose ``data-sid`` is not in ``exclude_sids`` (a socket that has since gone)."""

    def select(tile: dict[str, Any]) -> bool:
        return (not tile["local"] and tile["screen"] == screen
                and (user_id is None or tile["user_id"] == user_id)
                and tile["sid"] not in exclude_sids)

    def probe() -> tuple[bool, Any]:
        playing, seen = playing_tiles(participant, select)
        return len(playing) >= count, {"playing": playing, "seen": seen}

    kind = "screen-share" if screen else "camera"
    return wait_until(participant.page, probe, timeout,
                      f"{count} remote {kind} video(s) playing at {participant.name}")["playing"]


def wait_inbound_growing(participant: Participant, kind: str, timeout: float = 30) -> None:
    """Wait until the page's peer connections receive ``kind`` ("audio": RTP packets, "video":
    decoded frames) and the total grows over a second (getStats, W3C webrtc-stats)."""
    key = "audio_packets" if kind == "audio" else "video_frames"

    def probe() -> tuple[bool, Any]:
        first = participant.inbound()
        participant.page.wait_for_timeout(1000)
        second = participant.inbound()
        return second[key] > first[key] > 0, {"before": first, "after": second}

    wait_until(participant.page, probe, timeout, f"receiving {kind} at {participant.name}")

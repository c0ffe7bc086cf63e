"""Smoke test of the browser client through the whole stack (runs in the default test run).

The stack's base URL (Traefik) serves the web client: ``/`` and every client route
(``/m/{meeting_id}``) get the same ``index.html``, its hashed assets load with long caching,
the API prefixes still reach their services, and Debian's Chromium loads the page without a
script error. Until ``web/package.json`` exists, the web service answers 503
``client_not_built`` on every client route, and that is what is checked instead.
"""

from __future__ import annotations

import re

import httpx
import pytest

from browser_harness import REPO, SCREENSHOTS, VIEWPORT, launch_chromium
from parley_testing import Stack

pytestmark = pytest.mark.e2e

CLIENT_WRITTEN = (REPO / "web" / "package.json").is_file()


def test_base_url_serves_the_client_index_on_every_client_route(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as http:
        root = http.get("/")
        for path in ("/m/any-meeting-id", "/signin", "/signup?next=/m/x"):
            other = http.get(path)
            assert (other.status_code, other.content) == (root.status_code, root.content), path
        if not CLIENT_WRITTEN:
            assert root.status_code == 503
            assert root.json()["detail"]["code"] == "client_not_built"
            return
        assert root.status_code == 200, root.text[:300]
        assert root.headers["content-type"].startswith("text/html")
        assert root.headers["cache-control"] == "no-cache"
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', root.text)
        assert assets, f"index.html references no /assets/ file:\n{root.text}"
        for asset in assets:
            resp = http.get(asset)
            assert resp.status_code == 200, asset
            assert "immutable" in resp.headers["cache-control"], asset
        assert http.get("/assets/not-a-build-file.js").status_code == 404
        # the API keeps its own routes: auth answers, not the web service
        assert http.get("/api/auth/.well-known/jwks.json").json()["keys"]


def test_debian_chromium_loads_the_client_without_script_errors(
    stack: Stack, playwright, fake_camera
) -> None:
    browser = launch_chromium(playwright, fake_camera)
    try:
        page = browser.new_page(viewport=VIEWPORT)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        response = page.goto(f"{stack.base_url}/m/smoke-test", wait_until="load")
        assert response is not None
        if not CLIENT_WRITTEN:
            assert response.status == 503
            return
        assert response.status == 200
        page.wait_for_timeout(1500)  # let the client start and route
        assert page.title(), "the client's page has no title"
        assert errors == [], f"script errors while loading the client: {errors}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "smoke.png"))
    finally:
        browser.close()

"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (sync API), the API,
and participants each in their own browser context. See browser_harness.py for the flags.

Feature tests are marked ``browser`` (only these: ``-m browser``; ``./taskw test:browser``);
``./taskw test`` runs them all. Screenshots go to the git-ignored ``artifacts/screenshots/``.

An ``expect`` and an action wait up to 30 s (``ACTION_TIMEOUT_MS``) unless they say otherwise
(Playwright's default is 5 s): much of what a page shows comes through Kafka, and CI's loaded
2-core machine may take longer than 5 s for it. A passing expectation returns as soon as it holds, so this costs nothing then.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser_harness import (  # noqa: E402
    ACTION_TIMEOUT_MS, CSP_VIOLATIONS, SCREENSHOTS, Api, ParticipantFactory, launch_chromium, write_fake_camera,
)
from parley_testing import Stack  # noqa: E402

expect.set_options(timeout=ACTION_TIMEOUT_MS)


@pytest.fixture(autouse=True)
def no_csp_violation() -> Iterator[None]:
    """Fail any test during which a page of a test browser reported a Content-Security-Policy
    violation (the policy is Traefik's security-headers middleware): the client must run
    under it with none. Violations of a module's shared fixtures count at its first test."""
    yield
    found, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
    assert found == [], "Content-Security-Policy violations or Permissions-Policy errors:\n" + "\n".join(found)


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_camera(tmp_path_factory.mktemp("media") / "camera.y4m")


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright, fake_camera):
    """Chromium that accepts every media prompt (camera, microphone, screen)."""
    browser = launch_chromium(playwright, fake_camera, fake_ui=True)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def strict_browser(playwright, fake_camera):
    """Chromium WITHOUT the fake prompt UI: media access is what the context was granted."""
    browser = launch_chromium(playwright, fake_camera, fake_ui=False)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[Api]:
    client = Api(stack.base_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def participants(api: Api, browser) -> Iterator[ParticipantFactory]:
    """``participants("Ada")`` → a registered user with a fresh 1280x720 context and page."""
    factory = ParticipantFactory(api, browser)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

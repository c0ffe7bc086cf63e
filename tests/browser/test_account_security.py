"""Account security as a person meets it in Chromium.

The refresh token lives in an HttpOnly, Secure, SameSite=Strict cookie, never in the page:
Chromium treats http://127.0.0.1 as a potentially trustworthy origin, so it keeps and sends a
``Secure`` cookie over the local stack's plain http, and a reload restores the session with it.
A common password is refused in words; too many wrong passwords say when to try again. Also
screenshots of the sign-in page at a desktop and a phone size (artifacts/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_harness import PHONE, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

STORAGE = "() => JSON.stringify({local: Object.entries(localStorage), session: Object.entries(sessionStorage)})"


def test_the_refresh_token_is_an_httponly_cookie_that_restores_the_session(
    participants: ParticipantFactory,
) -> None:
    ada = participants("Ada")
    page, context = ada.page, ada.context
    with page.expect_response(re.compile(r"/api/auth/login$")) as login:
        ada.sign_in("/")
    assert login.value.status == 200
    assert "refresh_token" not in login.value.json()  # the page never sees it
    expect(page.get_by_role("button", name="New meeting")).to_be_visible()

    (cookie,) = [c for c in context.cookies() if c["name"] == "parley_refresh"]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"], cookie["path"]) == (
        True, True, "Strict", "/api/auth")
    assert cookie["domain"] == "127.0.0.1"
    stored = page.evaluate(STORAGE)
    assert cookie["value"] not in stored and "refresh_token" not in stored
    assert "parley_refresh" not in page.evaluate("() => document.cookie")

    # A reload has no access token: the session comes back through the cookie alone.
    with page.expect_response(re.compile(r"/api/auth/refresh$")) as refreshed:
        page.reload()
    assert refreshed.value.status == 200
    assert "refresh_token" not in refreshed.value.json()
    expect(page.get_by_role("button", name="New meeting")).to_be_visible()
    (rotated,) = [c for c in context.cookies() if c["name"] == "parley_refresh"]
    assert rotated["value"] != cookie["value"]

    # Signing out revokes the session and the cookie is gone.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin(\?.*)?$"))
    assert [c for c in context.cookies() if c["name"] == "parley_refresh"] == []
    # the sign-in form, not "Your session ended here": the session-ended event of this very
    # sign-out reaches the page's user socket too (before or after the logout's answer)
    expect(page.get_by_label("Email")).to_be_visible()
    page.wait_for_timeout(3_000)  # the event's way through the outbox, Kafka and signaling
    expect(page.get_by_text("Your session ended here")).to_have_count(0)
    expect(page.get_by_label("Email")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Email")).to_be_visible()
    assert ada.page_errors == []


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_the_sign_in_page_fits_desktop_and_phone(browser, api, screenshots, width: int, height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(f"{api.base_url}/signin")
        for field in ("Email", "Password"):
            expect(page.get_by_label(field)).to_be_visible()
        button = page.get_by_role("button", name="Sign in", exact=True)
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # no sideways scroll
        page.screenshot(path=str(screenshots / f"sign-in-{width}x{height}.png"))
    finally:
        context.close()


def test_a_common_password_is_refused_in_words_on_sign_up(browser, api, screenshots) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{api.base_url}/signup")
        page.get_by_label("Email").fill("common-password@example.com")
        page.get_by_label("Display name").fill("Common")
        page.get_by_label("Password").fill("password1")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("alert")).to_contain_text("on a list of commonly used passwords")
        expect(page).to_have_url(re.compile(r"/signup"))
        page.screenshot(path=str(screenshots / "sign-up-common-password-390x844.png"))
    finally:
        context.close()


def test_too_many_wrong_passwords_say_when_to_try_again(participants: ParticipantFactory, screenshots) -> None:
    eve = participants("Eve")
    page = eve.page
    page.goto(f"{eve.base_url}/signin")
    page.get_by_label("Email").fill(eve.user.email)
    page.get_by_label("Password").fill("not the password")
    for _ in range(5):
        with page.expect_response(re.compile(r"/api/auth/login$")) as answer:
            page.get_by_role("button", name="Sign in", exact=True).click()
        assert answer.value.status == 401
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"Too many sign-in attempts\. Try again in [1-5] minutes?\."))
    page.screenshot(path=str(screenshots / "sign-in-throttled.png"))

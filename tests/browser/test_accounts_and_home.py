"""The way in: the base URL opens the sign-in page; sign up, start a meeting from home."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from browser_harness import PASSWORD, VIEWPORT, Api

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def test_the_base_url_opens_the_sign_in_page(api: Api, browser, screenshots) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(api.base_url)
        expect(page).to_have_url(re.compile(r"/signin(\?.*)?$"))
        expect(page.get_by_label("Email")).to_be_visible()
        expect(page.get_by_label("Password")).to_be_visible()
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Create an account")).to_be_visible()
        page.screenshot(path=str(screenshots / "sign-in.png"))
    finally:
        context.close()


def test_sign_up_then_start_a_meeting_from_home(browser, api: Api, screenshots) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{api.base_url}/signin")
        page.get_by_role("link", name="Create an account").click()
        expect(page).to_have_url(re.compile(r"/signup"))
        page.get_by_label("Email").fill(f"margaret-{uuid.uuid4().hex[:8]}@example.com")
        page.get_by_label("Display name").fill("Margaret")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        new_meeting = page.get_by_role("button", name="New meeting")
        expect(new_meeting).to_be_visible()
        page.screenshot(path=str(screenshots / "home.png"))
        new_meeting.click()
        expect(page).to_have_url(re.compile(r"/m/[A-Za-z0-9_-]+$"))
        preview = page.get_by_test_id("preview-video")
        expect(preview).to_be_visible()
        page.wait_for_function(
            "v => v.videoWidth > 0 && v.currentTime > 0", arg=preview.element_handle())
        expect(page.get_by_role("button", name="Join meeting")).to_be_enabled()
        expect(page.get_by_label("Display name")).to_have_value("Margaret")
        page.screenshot(path=str(screenshots / "prejoin.png"))
    finally:
        context.close()

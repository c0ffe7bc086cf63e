"""The way in: the base URL opens the sign-in page; sign up, start a meeting from home."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from browser_harness import PASSWORD, PHONE, VIEWPORT, Api, ParticipantFactory

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


def test_an_error_moves_neither_the_sign_in_nor_the_sign_up_card(api: Api, browser, screenshots) -> None:
    """The card stays where it is when an alert appears in it (a wrong password, a refused one)
    and when it goes (the form edited): at 1280x720 and on a phone, the brand and the heading
    keep their place to the pixel."""
    for viewport, size in ((VIEWPORT, "1280x720"), (PHONE, "390x844")):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            alert = page.get_by_role("alert")

            def place() -> list[float]:
                brand = page.locator("main p.brand").bounding_box()
                heading = page.get_by_role("heading", level=1).bounding_box()
                return [brand["y"], heading["y"]]

            page.goto(f"{api.base_url}/signin")
            expect(page.get_by_label("Email")).to_be_visible()
            before = place()
            page.get_by_label("Email").fill(f"nobody-{uuid.uuid4().hex[:8]}@example.com")
            page.get_by_label("Password").fill("not the password")
            page.get_by_role("button", name="Sign in", exact=True).click()
            expect(alert).to_contain_text("The email or password is not right.")
            assert place() == before, f"the sign-in card moved at {size}: {before} -> {place()}"
            page.screenshot(path=str(screenshots / f"sign-in-refused-{size}.png"))

            page.goto(f"{api.base_url}/signup")
            expect(page.get_by_label("Email")).to_be_visible()
            before = place()
            page.get_by_label("Email").fill(f"nobody-{uuid.uuid4().hex[:8]}@example.com")
            page.get_by_label("Display name").fill("Nobody")
            page.get_by_label("Password").fill("password")  # eight characters, and common: refused
            page.get_by_role("button", name="Create account").click()
            expect(alert).to_contain_text("commonly used passwords")
            assert place() == before, f"the sign-up card moved at {size}: {before} -> {place()}"
            page.get_by_label("Password").fill(PASSWORD)  # an edit takes the answer away
            expect(alert).to_have_count(0)
            assert place() == before, f"the sign-up card moved back at {size}: {before} -> {place()}"
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


def test_a_wrong_link_offers_the_way_on_that_fits_the_visitor(
        browser, api: Api, participants: ParticipantFactory, screenshots) -> None:
    """A link to no meeting, or to no page: signed out, the way on is to sign in (home would
    only send there); signed in, it is the list of one's meetings."""
    wrong_meeting, wrong_page = "/m/zzzz-zzzz-zzzz", "/no-such-page"
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(api.base_url + wrong_meeting)
        expect(page.get_by_role("heading", name="This link does not open a meeting")).to_be_visible()
        expect(page.get_by_role("link", name="Back to your meetings")).to_have_count(0)
        page.screenshot(path=str(screenshots / "wrong-meeting-link-signed-out.png"))
        page.get_by_role("link", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/signin$"))
        expect(page.get_by_label("Password")).to_be_visible()
        page.goto(api.base_url + wrong_page)
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        page.get_by_role("link", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/signin$"))
    finally:
        context.close()

    ada = participants("Ada")
    ada.sign_in()
    ada.page.goto(api.base_url + wrong_meeting)
    expect(ada.page.get_by_role("heading", name="This link does not open a meeting")).to_be_visible()
    ada.page.get_by_role("link", name="Back to your meetings").click()
    expect(ada.page.get_by_role("button", name="New meeting")).to_be_visible()
    ada.page.goto(api.base_url + wrong_page)
    ada.page.get_by_role("link", name="Go to your meetings").click()
    expect(ada.page.get_by_role("button", name="New meeting")).to_be_visible()


def test_home_rides_out_a_short_outage_of_the_meetings_api(api: Api, participants: ParticipantFactory) -> None:
    """While meetings restarts, the edge answers its GETs 503 (docs/http-api.md, the edge's
    own page with Retry-After): the web client tries a GET again (GET_RETRY in
    web/src/api/http.ts), so the list appears a moment later, with no error shown."""
    ada = participants("Ada")
    api.create_meeting(ada.user, "Retried standup")
    page = ada.page
    edge_page = page.request.get(f"{api.base_url}/_parley/errors/503.json")  # Traefik's replacement
    assert edge_page.status == 503 and edge_page.json()["detail"]["code"] == "unavailable"
    refused: list[str] = []

    def outage(route) -> None:  # noqa: ANN001 - playwright's Route
        if route.request.method == "GET" and len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(response=edge_page)
        else:
            route.continue_()

    page.route(re.compile(r"/api/meetings(\?[^/]*)?$"), outage)
    ada.sign_in("/")
    expect(page.get_by_text("Retried standup")).to_be_visible()
    assert len(refused) == 2, refused
    expect(page.get_by_text("Your meetings could not be loaded.")).to_have_count(0)
    assert ada.page_errors == []

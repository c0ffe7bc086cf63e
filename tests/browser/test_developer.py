"""The Developer page: a user creates an API key (the secret shown once, with a copy button),
sees it listed without its secret, uses it from an application, and revokes it.

Screenshots at 1280x720 and 390x844: ``developer-*.png``.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from browser_harness import ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_create_copy_list_use_and_revoke_a_key(participants: ParticipantFactory, screenshots, stack) -> None:
    ada = participants("Ada")
    ada.sign_in("/")
    ada.page.get_by_role("link", name="Developer").click()
    expect(ada.page.get_by_role("heading", name="Developer", exact=True)).to_be_visible()
    expect(ada.page.get_by_text("No keys yet.")).to_be_visible()

    ada.page.get_by_role("button", name="Create key").click()
    expect(ada.page.get_by_role("alert")).to_contain_text("Give the key a name")

    ada.page.get_by_label("Name").fill("CRM integration")
    ada.page.get_by_role("button", name="Create key").click()
    secret = ada.page.get_by_test_id("api-key-secret")
    expect(secret).to_have_text(re.compile(r"^parley_sk_[0-9A-Za-z]{49}$"))
    value = secret.inner_text()
    item = ada.page.get_by_test_id("api-key-item").filter(has_text="CRM integration")
    expect(item).to_contain_text("meetings:read, meetings:write")
    expect(item).to_contain_text("never used")
    ada.page.get_by_role("button", name="Copy key").click()
    expect(ada.page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    ada.page.screenshot(path=str(screenshots / "developer-new-key-1280x720.png"))
    ada.page.set_viewport_size({"width": 390, "height": 844})
    ada.page.screenshot(path=str(screenshots / "developer-new-key-390x844.png"), full_page=True)
    ada.page.set_viewport_size({"width": 1280, "height": 720})

    # an application uses it (meetings learns the key from auth's event within moments)
    with httpx.Client(base_url=stack.base_url, timeout=10) as http:
        for _ in range(100):
            answer = http.get("/api/meetings", headers={"X-API-Key": value})
            if answer.status_code != 401:
                break
            time.sleep(0.2)
        assert answer.status_code == 200, answer.text

    # the secret is not shown again after a reload; the list never holds it
    ada.page.reload()
    expect(item).to_be_visible()
    expect(ada.page.get_by_test_id("api-key-secret")).to_have_count(0)
    expect(ada.page.get_by_test_id("api-key-list")).not_to_contain_text(value[14:])

    item.get_by_role("button", name="Revoke CRM integration").click()
    expect(item).to_have_attribute("data-revoked", "true")
    expect(item).to_contain_text("Revoked")
    ada.page.screenshot(path=str(screenshots / "developer-revoked-1280x720.png"))
    ada.page.set_viewport_size({"width": 390, "height": 844})
    ada.page.screenshot(path=str(screenshots / "developer-revoked-390x844.png"), full_page=True)

"""The Developer page: a user creates an API key (the secret shown once, with a copy button),
sees it listed without its secret, uses it from an application, and revokes it; registers a
webhook to a receiver on loopback, sees its deliveries, sends one again, and deletes it.

Screenshots at 1280x720 and 390x844: ``developer-*.png``.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from browser_harness import PHONE, VIEWPORT, Api, ParticipantFactory

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


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
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "developer-new-key-390x844.png"), full_page=True)
    ada.page.set_viewport_size(VIEWPORT)

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
    ada.page.set_viewport_size(PHONE)
    ada.page.screenshot(path=str(screenshots / "developer-revoked-390x844.png"), full_page=True)


def receiver() -> tuple[ThreadingHTTPServer, "queue.Queue[tuple[dict[str, str], bytes]]"]:
    """A webhook receiver on 127.0.0.1 (an ephemeral port) answering 204 and queueing each
    request's headers and body."""
    received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.put((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def test_register_a_webhook_see_its_deliveries_and_send_one_again(participants: ParticipantFactory, api: Api, screenshots) -> None:
    server, received = receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        ada = participants("Ada")
        ada.sign_in("/developer")
        expect(ada.page.get_by_text("No webhooks yet.")).to_be_visible()
        ada.page.get_by_label("Address").fill("http://hooks.example.com/parley")
        ada.page.get_by_role("button", name="Register webhook").click()
        expect(ada.page.get_by_role("alert")).to_contain_text("cannot receive webhooks")  # http only to loopback

        ada.page.get_by_label("Address").fill(url)
        ada.page.get_by_role("button", name="Register webhook").click()
        secret = ada.page.get_by_test_id("webhook-secret")
        expect(secret).to_have_text(re.compile(r"^whsec_[A-Za-z0-9+/=]{44}$"))
        item = ada.page.get_by_test_id("webhook-item").filter(has_text=url)
        expect(item).to_contain_text("meeting.created, meeting.ended")

        meeting_id = api.create_meeting(ada.user, "Webhook demo")
        headers, body = received.get(timeout=30)
        message = Webhook(secret.inner_text()).verify(body, headers)
        assert (message["type"], message["data"]["meeting_id"]) == ("meeting.created", meeting_id)

        item.get_by_role("button", name=f"Show deliveries to {url}").click()
        delivery = item.get_by_test_id("webhook-delivery").filter(has_text="meeting.created")
        expect(delivery).to_have_attribute("data-state", "succeeded", timeout=20_000)
        expect(delivery).to_contain_text("1 attempt · answered 204")
        ada.page.screenshot(path=str(screenshots / "developer-webhooks-1280x720.png"), full_page=True)

        delivery.get_by_role("button", name="Send meeting.created again").click()
        again_headers, again_body = received.get(timeout=30)
        assert again_headers["webhook-id"] == headers["webhook-id"] and again_body == body
        expect(delivery).to_contain_text("2 attempts · answered 204", timeout=20_000)

        item.get_by_role("button", name=f"Delete {url}").click()
        expect(ada.page.get_by_text("No webhooks yet.")).to_be_visible()
    finally:
        server.shutdown()

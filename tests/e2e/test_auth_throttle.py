"""Login throttling through Traefik: a client cannot pick its own address with X-Forwarded-For.

Auth runs behind Traefik with uvicorn's ``--forwarded-allow-ips`` naming only Traefik, and
Traefik does not trust an X-Forwarded-For sent by a client (no ``forwardedHeaders.trustedIPs``
on its entry point): it replaces it with the client's real address. So a guesser who sends a
new X-Forwarded-For with every attempt is still counted as one address, and the small limit
per account and address (5 per 5 minutes) answers 429 long before the per-account one (20).
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from parley_testing import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_spoofed_x_forwarded_for_does_not_escape_the_throttle(stack: Stack) -> None:
    email = f"spoof-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        created = http.post(
            "/api/auth/register", json={"email": email, "display_name": "Spoof", "password": "tulip quarry lantern"}
        )
        assert created.status_code == 201, created.text
        statuses = []
        for n in range(8):
            spoofed = {"X-Forwarded-For": f"198.51.100.{n + 1}", "X-Real-IP": f"198.51.100.{n + 1}"}
            response = http.post("/api/auth/login", json={"email": email, "password": "wrong guess"}, headers=spoofed)
            statuses.append(response.status_code)
        assert statuses == [401] * 5 + [429] * 3
        assert 1 <= int(response.headers["retry-after"]) <= 300
        assert response.json()["detail"]["code"] == "too_many_attempts"

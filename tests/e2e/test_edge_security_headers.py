"""Browser security headers on every answer through Traefik (the `security-headers` middleware of
traefik/local/dynamic.yml.tmpl), and no `Server` header naming the software.

The browser tests (tests/browser) prove the CSP lets the client run with no violation; this file
checks the headers are there, on the client's HTML and assets, on API answers (success and
error), and on socket.io's long-polling answers.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from parley_testing import Stack

pytestmark = pytest.mark.e2e


def _directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def _check(response: httpx.Response, what: str) -> None:
    headers = response.headers
    csp = _directives(headers.get("content-security-policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], (what, headers.get("content-security-policy"))
    assert csp.get("default-src") == ["'none'"], what
    # no 'unsafe-inline', no 'unsafe-eval': WebAssembly alone may be compiled (the background
    # blur's segmentation model runs in it)
    assert csp.get("script-src") == ["'self'", "'wasm-unsafe-eval'"], what
    assert csp.get("object-src") == ["'none'"] and csp.get("base-uri") == ["'none'"], what
    assert all("unsafe" not in word for words in csp.values() for word in words
               if word != "'wasm-unsafe-eval'"), (what, csp)
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert headers.get("cross-origin-opener-policy") == "same-origin", what
    policy = {k.strip(): v.strip() for k, v in
              (item.split("=", 1) for item in headers.get("permissions-policy", "").split(",") if "=" in item)}
    for feature in ("camera", "microphone", "display-capture"):
        assert policy.get(feature) == "(self)", (what, feature, policy)
    assert policy.get("geolocation") == "()", (what, policy)
    assert "server" not in headers, (what, headers.get("server"))


def test_every_kind_of_answer_carries_the_security_headers(stack: Stack) -> None:
    email = f"headers-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        index = http.get("/")
        _check(index, "client index.html")
        asset = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
        assert asset, index.text
        _check(http.get(asset.group(1)), "a client asset")
        _check(http.get("/m/some-meeting"), "a client route")
        registered = http.post("/api/auth/register", json={
            "email": email, "display_name": "Headers", "password": "correct horse battery"})
        assert registered.status_code == 201, registered.text
        _check(registered, "201 from auth")
        login = http.post("/api/auth/login", json={"email": email, "password": "correct horse battery"})
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        _check(http.get("/api/auth/.well-known/jwks.json"), "the JWKS")
        _check(http.get("/api/meetings"), "401 from meetings")
        _check(http.get("/api/meetings", headers=auth), "200 from meetings")
        _check(http.get("/api/chat/meetings/none-such/messages", headers=auth), "404 from chat")
        _check(http.get("/api/turn/credentials", headers=auth), "200 from turn-config")
        _check(http.get("/socket.io/", params={"EIO": "4", "transport": "polling"}), "socket.io polling")


def test_services_do_not_announce_their_server_software(stack: Stack) -> None:
    """uvicorn runs with --no-server-header: not even on a service's own port is `Server` sent."""
    for name, service in stack.raw["services"].items():
        response = httpx.get(f"{service['url']}/healthz", timeout=10)
        assert response.status_code == 200, name
        assert "server" not in response.headers, (name, response.headers.get("server"))

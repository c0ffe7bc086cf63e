"""The API's refusals of hostile requests, through Traefik (docs/http-api.md, first section).

- Invalid input is a 422 with the ``detail`` list at every service, whatever the input holds: a
  lone surrogate escape (``"\\ud800"``, which UTF-8 cannot encode) or ``NaN``/``Infinity``
  (which JSON cannot say) used to make the services' 422 fail while writing the input back: a
  plain-text 500.
- A method the path does not take is a 405 whose ``Allow`` names the path's methods (it was
  empty for every route a service declares on a router).
- An encoded character in a meeting id (``%2F``, ``%3F``, ...) passes through Traefik and is a
  404 or 422 in the error shape; Traefik refuses a body over 1 MiB (413 ``body_too_large`` in
  the error shape) before any service sees it.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from parley_testing import Stack

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def http(stack: Stack):
    with httpx.Client(base_url=stack.base_url, timeout=20) as client:
        yield client


@pytest.fixture(scope="module")
def auth(http: httpx.Client) -> dict[str, str]:
    email = f"edge-{uuid.uuid4().hex[:10]}@example.com"
    http.post("/api/auth/register", json={"email": email, "display_name": "Edge", "password": PASSWORD}).raise_for_status()
    login = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="module")
def meeting_id(http: httpx.Client, auth) -> str:
    created = http.post("/api/meetings", json={"title": "Edge"}, headers=auth)
    assert created.status_code == 201, created.text
    return created.json()["meeting_id"]


@pytest.mark.parametrize("value", ['"x\\ud800"', "NaN", "-Infinity"])
def test_every_service_refuses_unencodable_input_with_a_422_list(http: httpx.Client, auth, meeting_id: str,
                                                                   value: str) -> None:
    json_headers = {**auth, "content-type": "application/json"}
    answers = {
        "auth register": http.post("/api/auth/register", headers={"content-type": "application/json"},
                                   content=f'{{"email": "a@b.com", "display_name": {value}, "password": "{PASSWORD}"}}'),
        "meetings create": http.post("/api/meetings", headers=json_headers,
                                     content=f'{{"title": "t", "duration_minutes": {value}}}'),
        "chat post": http.post(f"/api/chat/meetings/{meeting_id}/messages", headers=json_headers,
                               content=f'{{"message_id": "message-0001", "text": {value}}}'),
    }
    for what, response in answers.items():
        assert response.status_code == 422, (what, value, response.status_code, response.text[:200])
        assert response.headers["content-type"] == "application/json", what
        assert all(set(error) == {"type", "loc", "msg"} for error in response.json()["detail"]), (what, response.text)


def test_a_method_the_path_does_not_take_is_a_405_naming_the_ones_it_does(http: httpx.Client, auth) -> None:
    for method, path, allowed in (("PUT", "/api/meetings", {"GET", "POST"}), ("DELETE", "/api/auth/keys", {"GET", "POST"}),
                                  ("POST", "/api/turn/credentials", {"GET"})):
        response = http.request(method, path, headers=auth)
        assert response.status_code == 405, (path, response.text)
        assert response.json()["detail"]["code"] == "method_not_allowed"
        assert set(response.headers["allow"].split(", ")) == allowed, (path, response.headers.get("allow"))


@pytest.mark.parametrize("encoded", ["%2F", "%5C", "%00", "%3B", "%25", "%3F", "%23"])
def test_an_encoded_character_in_a_meeting_id_is_a_404_or_422_in_the_error_shape(http: httpx.Client, auth,
                                                                                    encoded: str) -> None:
    for path in (f"/api/meetings/abc{encoded}def", f"/api/chat/meetings/abc{encoded}def/messages"):
        response = http.get(path, headers=auth)
        assert response.status_code in (404, 422), (path, response.status_code, response.text[:200])
        detail = response.json()["detail"]
        assert isinstance(detail, list) or set(detail) == {"code", "message"}, (path, response.text[:200])


def test_traefik_refuses_a_body_over_one_mebibyte_in_the_error_shape(http: httpx.Client, auth, meeting_id: str) -> None:
    big = {"title": "x" * (1024 * 1024)}
    for path in ("/api/meetings", f"/api/chat/meetings/{meeting_id}/messages", "/api/auth/login"):
        response = http.post(path, json=big, headers=auth)
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert response.json()["detail"]["code"] == "body_too_large", path
    # a body under the limit still reaches the service (which refuses its too long title)
    under = http.post("/api/meetings", json={"title": "x" * 500_000}, headers=auth)
    assert under.status_code == 422 and len(under.content) < 1000, under.status_code

"""Meeting ids are validated at every service's edge (issue 6, item 15).

Meeting ids are 1–128 of ``[A-Za-z0-9_-]`` (``parley_security.MeetingId``). Through Traefik,
with a real user's token, a path segment holding a control character, a space or another
character outside that set is refused with 422 by meetings and by chat, before chat asks
meetings anything: chat used to build meetings' URL with an f-string, and a control character
made httpx raise ``InvalidURL`` (not an ``HTTPError``), a 500. ``?``, ``#`` and ``/`` (encoded)
pass through Traefik; the services' answer to them is tested in tests/e2e/test_api_edge.py and
in-process (services/chat/tests, libs/security/tests).
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from parley_testing import Stack

pytestmark = pytest.mark.e2e

#: percent-encoded meeting ids that are not ids
BAD_IDS = ["bad%01id", "bad%0Aid", "bad%7Fid", "bad%20id", "bad%C3%A9id", "bad.id", "x" * 129]


@pytest.fixture(scope="module")
def auth(stack: Stack) -> dict[str, str]:
    email = f"ids-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        http.post("/api/auth/register", json={
            "email": email, "display_name": "Ids", "password": "correct horse battery"}).raise_for_status()
        login = http.post("/api/auth/login", json={"email": email, "password": "correct horse battery"})
        return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.mark.parametrize("bad", BAD_IDS)
def test_chat_and_meetings_refuse_a_malformed_meeting_id_with_422(stack: Stack, auth, bad: str) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=15, headers=auth) as http:
        answers = {
            "chat history": http.get(f"/api/chat/meetings/{bad}/messages"),
            "chat post": http.post(f"/api/chat/meetings/{bad}/messages",
                                   json={"message_id": "message-0001", "text": "hi"}),
            "chat notes": http.get(f"/api/chat/meetings/{bad}/notes"),
            "chat save notes": http.put(f"/api/chat/meetings/{bad}/notes", json={"text": "x"}),
            "meeting": http.get(f"/api/meetings/{bad}"),
            "join": http.post(f"/api/meetings/{bad}/join"),
            "membership": http.get(f"/api/meetings/{bad}/membership"),
        }
    for what, response in answers.items():
        assert response.status_code == 422, (what, bad, response.status_code, response.text[:300])
        assert any(err["loc"] == ["path", "meeting_id"] for err in response.json()["detail"]), (what, response.text)

"""An application drives meetings with an API key, through Traefik and the real replicas.

A user creates keys at auth (``POST /api/auth/keys``); meetings learns them only from auth's
``api_key.created`` / ``api_key.revoked`` on Kafka (its projection), never by asking auth. So:
an application with a ``meetings:read``+``meetings:write`` key schedules, reschedules and
cancels a meeting (the owner is its host); a ``meetings:read`` key gets 403
``insufficient_scope`` on create; once revoked, a key gets 401 ``invalid_api_key``; and the
key's use shows in auth's list (``last_used_at``, from meetings' ``api_key.used``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from datetime import UTC, datetime, timedelta
from collections.abc import Awaitable, Callable

import httpx
import pytest

from parley_testing import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PASSWORD = "correct horse battery staple"


async def until(probe: Callable[[], Awaitable[httpx.Response]], done: Callable[[httpx.Response], bool], timeout_s: float = 30) -> httpx.Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        answer = await probe()
        if done(answer) or loop.time() > deadline:
            return answer
        await asyncio.sleep(0.2)


def start_in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0).isoformat()


async def test_an_application_with_a_scoped_key_schedules_reschedules_and_cancels(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as http:
        email = f"integrator-{uuid.uuid4().hex[:10]}@example.com"
        assert (await http.post("/api/auth/register", json={"email": email, "display_name": "Integrator", "password": PASSWORD})).status_code == 201
        login = (await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()
        user = {"Authorization": f"Bearer {login['access_token']}"}

        async def new_key(scopes: list[str]) -> dict:
            created = await http.post("/api/auth/keys", json={"name": "crm", "scopes": scopes}, headers=user)
            assert created.status_code == 201, created.text
            return created.json()

        writer, reader = await new_key(["meetings:read", "meetings:write"]), await new_key(["meetings:read"])
        app = {"X-API-Key": writer["secret"]}
        # meetings accepts the key once auth's event reached it
        listed = await until(lambda: http.get("/api/meetings", headers=app), lambda r: r.status_code != 401)
        assert listed.status_code == 200, listed.text

        created = await http.post(
            "/api/meetings", json={"title": "Customer call", "scheduled_start": start_in(2), "duration_minutes": 30},
            headers={**app, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert created.status_code == 201, created.text
        meeting = created.json()
        assert meeting["host_id"] == login["user"]["user_id"]
        assert meeting["invite_url"].endswith(f"/m/{meeting['meeting_id']}")
        moved = await http.put(f"/api/meetings/{meeting['meeting_id']}/schedule", json={"scheduled_start": start_in(3)}, headers=app)
        assert moved.status_code == 200, moved.text
        assert datetime.fromisoformat(moved.json()["scheduled_start"]) == datetime.fromisoformat(start_in(3))
        cancelled = await http.post(f"/api/meetings/{meeting['meeting_id']}/cancel", headers=app)
        assert (cancelled.status_code, cancelled.json()["end_reason"]) == (200, "cancelled")

        read_only = {"X-API-Key": reader["secret"]}
        assert (await until(lambda: http.get("/api/meetings", headers=read_only), lambda r: r.status_code != 401)).status_code == 200
        refused = await http.post("/api/meetings", json={"title": "not allowed"}, headers=read_only)
        assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "insufficient_scope")

        revoked = await http.delete(f"/api/auth/keys/{writer['key_id']}", headers=user)
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        after = await until(lambda: http.get("/api/meetings", headers=app), lambda r: r.status_code == 401)
        assert (after.status_code, after.json()["detail"]["code"]) == (401, "invalid_api_key")
        assert (await http.post("/api/meetings", json={"title": "x"}, headers={"Authorization": f"Bearer {writer['secret']}"})).status_code == 401

        keys = await until(
            lambda: http.get("/api/auth/keys", headers=user),
            lambda r: all(k["last_used_at"] for k in r.json()["keys"]),
        )
        assert {k["key_id"]: bool(k["last_used_at"]) for k in keys.json()["keys"]} == {writer["key_id"]: True, reader["key_id"]: True}


EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "schedule_meeting.py"


async def test_the_documented_example_client_schedules_reschedules_and_cancels(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=15) as http:
        email = f"example-{uuid.uuid4().hex[:10]}@example.com"
        assert (await http.post("/api/auth/register", json={"email": email, "display_name": "Example", "password": PASSWORD})).status_code == 201
        login = (await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()
        user = {"Authorization": f"Bearer {login['access_token']}"}
        key = (await http.post("/api/auth/keys", json={"name": "example", "scopes": ["meetings:read", "meetings:write"]}, headers=user)).json()
        known = await until(lambda: http.get("/api/meetings", headers={"X-API-Key": key["secret"]}), lambda r: r.status_code != 401)
        assert known.status_code == 200
    run = await asyncio.to_thread(
        subprocess.run, [sys.executable, str(EXAMPLE), "--base-url", stack.base_url],
        env={**os.environ, "PARLEY_API_KEY": key["secret"]}, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["scheduled", "rescheduled", "cancelled"], run.stdout
    assert f"{stack.base_url}/m/" in lines[0] or "/m/" in lines[0]

"""Two replicas of auth and chat take the same request at once, and stay correct.

Against the running test stack, where Traefik spreads ``/api/auth`` and ``/api/chat`` over two
replicas each (``auth-1``/``auth-2``, ``chat-1``/``chat-2``) that share one store:

- the same refresh token sent N times at once through Traefik (N = 2 and 12, five rounds
  each, a new session per round): exactly one 200; every other
  answer is 401 ``invalid_refresh_token``, and the reuse revokes the family, so the token the
  winner received is refused too (docs/http-api.md); both auth replicas took part;
- the same chat post (same client ``message_id``) sent concurrently to both chat replicas:
  one message is stored and published, one answer is 201 and the others 200, all with the
  same message;
- N people joining one meeting at once through Traefik (both meetings replicas, each join a
  conditional ``$push`` on the meeting's document): every one of them is a participant.
"""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from pymongo import AsyncMongoClient

from parley_events.topics import CHAT
from parley_probe.api import ApiClient
from parley_testing import Stack, tail_topic

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

N = 12
PASSWORD = "correct horse battery staple"


def requests_served(metrics: str, route: str) -> float:
    """The sum of ``parley_http_requests_total`` over every series of ``route``."""
    pattern = re.compile(r"^parley_http_requests_total\{(.*)\} ([0-9.e+]+)$", re.M)  # routes hold braces
    return sum(float(value) for labels, value in pattern.findall(metrics) if f'route="{route}"' in labels)


async def served_by_each(stack: Stack, service: str, route: str) -> dict[str, float]:
    replicas = {name: svc["url"] for name, svc in stack.raw["services"].items()
                if name.startswith(f"{service}-")}
    async with httpx.AsyncClient(timeout=5) as http:
        return {name: requests_served((await http.get(f"{url}/metrics")).text, route)
                for name, url in sorted(replicas.items())}


async def signed_up(base_url: str, name: str) -> tuple[ApiClient, dict]:
    api = ApiClient(base_url)
    email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
    await api.register(email, name.capitalize(), PASSWORD)
    return api, await api.login(email, PASSWORD)


@pytest.mark.parametrize("n", [2, N])
async def test_one_refresh_token_sent_n_times_at_once_rotates_once_and_revokes_the_family(stack: Stack, n: int) -> None:
    route = "/api/auth/refresh"
    before = await served_by_each(stack, "auth", route)
    api, pair = await signed_up(stack.base_url, "racer")
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        for _round in range(5):
            answers = await asyncio.gather(*(
                http.post(route, json={"refresh_token": pair["refresh_token"]}) for _ in range(n)
            ))
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [200] + [401] * (n - 1), statuses
            refused = [a.json() for a in answers if a.status_code == 401]
            assert {r["detail"]["code"] for r in refused} == {"invalid_refresh_token"}, refused[:1]
            (winner,) = [a.json() for a in answers if a.status_code == 200]
            # reuse detection: the family is revoked, the successor the winner got included
            successor = await http.post(route, json={"refresh_token": winner["refresh_token"]})
            assert successor.status_code == 401, successor.text
            pair = await api.login(pair["user"]["email"], PASSWORD)  # a new session, next round
    await api.aclose()
    after = await served_by_each(stack, "auth", route)
    assert sorted(after) == ["auth-1", "auth-2"]
    assert all(after[name] > before[name] for name in after), (before, after)


async def test_one_chat_post_taken_by_both_chat_replicas_at_once_is_stored_once(stack: Stack) -> None:
    api, pair = await signed_up(stack.base_url, "poster")
    try:
        meeting = await api.create_meeting("two replicas, one message")
        meeting_id = meeting["meeting_id"]
        replicas = sorted(url for name, url in
                          ((n, s["url"]) for n, s in stack.raw["services"].items()) if name.startswith("chat-"))
        assert len(replicas) == 2, stack.raw["services"].keys()
        body = {"message_id": f"m-{uuid.uuid4().hex[:12]}", "text": "said once, heard once"}
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        path = f"/api/chat/meetings/{meeting_id}/messages"
        async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
            async with httpx.AsyncClient(timeout=30) as http:
                answers = await asyncio.gather(*(
                    http.post(replicas[i % 2] + path, json=body, headers=headers) for i in range(N)
                ))
            events = await tail.events(subject=meeting_id, count=2, timeout_s=5)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * (N - 1) + [201], [a.text for a in answers if a.status_code >= 300][:2]
        messages = [a.json() for a in answers]
        assert all(m == messages[0] for m in messages), messages
        assert {k: messages[0][k] for k in body} == body
        history = await api.chat_history(meeting_id)
        assert [m["message_id"] for m in history["messages"]] == [body["message_id"]]
        assert history["messages"][0] == messages[0]
        assert len(events) >= 1 and len({event.id for event in events}) == 1  # one event (a copy shares its id)
    finally:
        await api.aclose()


async def test_people_joining_one_meeting_at_once_through_both_replicas_are_all_participants(stack: Stack) -> None:
    host, _ = await signed_up(stack.base_url, "host")
    guests = await asyncio.gather(*(signed_up(stack.base_url, f"guest{i}") for i in range(8)))
    try:
        meeting_id = (await host.create_meeting("everyone at once"))["meeting_id"]
        joined = await asyncio.gather(*(api.join_meeting(meeting_id) for api, _ in guests))
        assert {j["role"] for j in joined} == {"participant"}
        client: AsyncMongoClient = AsyncMongoClient(stack.mongo_uri)
        try:
            doc = await client["meetings"]["meetings"].find_one({"_id": meeting_id})
        finally:
            await client.close()
        expected = sorted([host.user["user_id"], *(api.user["user_id"] for api, _ in guests)])
        assert sorted(p["user_id"] for p in doc["participants"]) == expected
    finally:
        await asyncio.gather(host.aclose(), *(api.aclose() for api, _ in guests))
    served = await served_by_each(stack, "meetings", "/api/meetings/{meeting_id}/join")
    assert sorted(served) == ["meetings-1", "meetings-2"] and all(served.values()), served

"""One meeting's chat is seen in one order everywhere: history, the chat topic, a live socket.

Against the running test stack. Posts go concurrently to both chat replicas (their own ports,
alternating), in waves, while a participant's socket sits on a signaling replica; then:

- every post got a distinct ``seq`` and history, paged by cursor (limit 7, through Traefik),
  holds every message exactly once, newest first, without gap or duplicate;
- the chat topic's ``chat.message.posted`` records of the meeting (a re-published copy shares
  its event id and is skipped, as consumers do) come out in history's order;
- the socket received every message once, in history's order;
- a retried post (same ``message_id`` and text, to the other replica) answers 200 with the
  stored message and stores and publishes nothing new.
"""

from __future__ import annotations

import asyncio
import io
import uuid

import httpx
import pytest

from parley_events import ChatMessagePosted
from parley_events.topics import CHAT
from parley_probe.result import Progress, ProbeResult
from parley_probe.run import ProbeOptions, Scenario
from parley_testing import Stack, tail_topic

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

WAVES, PER_WAVE = 6, 10


async def test_history_topic_and_socket_order_agree_under_concurrent_posts_on_both_replicas(stack: Stack) -> None:
    scenario = Scenario(ProbeOptions(base_url=stack.base_url, step_timeout_s=30), Progress(ProbeResult(), io.StringIO()))
    try:
        await scenario.accounts()
        await scenario.meeting()
        await scenario.signaling()
        meeting_id, guest = scenario.meeting_id, scenario.guest.socket
        assert guest is not None
        replicas = sorted(s["url"] for name, s in stack.raw["services"].items() if name.startswith("chat-"))
        assert len(replicas) == 2
        path = f"/api/chat/meetings/{meeting_id}/messages"
        headers = {"Authorization": f"Bearer {scenario.host.api.access_token}"}
        run = uuid.uuid4().hex[:8]
        bodies = [{"message_id": f"order-{run}-{i:03d}", "text": f"message {i}"} for i in range(WAVES * PER_WAVE)]

        async with tail_topic(stack.kafka_bootstrap_servers, CHAT.name) as tail:
            async with httpx.AsyncClient(timeout=60) as http:
                answers = []
                for wave in range(WAVES):
                    chunk = bodies[wave * PER_WAVE : (wave + 1) * PER_WAVE]
                    answers += await asyncio.gather(*(
                        http.post(replicas[i % 2] + path, json=body, headers=headers) for i, body in enumerate(chunk)
                    ))
                assert [a.status_code for a in answers] == [201] * len(bodies), [a.text for a in answers if a.status_code != 201][:2]
                retried = await http.post(replicas[1] + path, json=bodies[3], headers=headers)
                retried_again = await http.post(replicas[0] + path, json=bodies[3], headers=headers)
            ours = lambda found: [e for e in found if e.subject == meeting_id]  # noqa: E731
            events = ours(await tail.events_until(lambda found: len({e.id for e in ours(found)}) >= len(bodies)))
            events += await tail.events(subject=meeting_id, count=1, timeout_s=2)  # anything extra

        posted = {a.json()["message_id"]: a.json() for a in answers}
        assert sorted(m["seq"] for m in posted.values()) == list(range(1, len(bodies) + 1))
        for again in (retried, retried_again):
            assert again.status_code == 200 and again.json() == posted[bodies[3]["message_id"]]

        # history, paged through Traefik: every message once, seq descending, no gap
        history, cursor = [], None
        while True:
            params = {"limit": 7, **({"before": cursor} if cursor else {})}
            page = await scenario.guest.api._http.get(path, params=params, headers={"Authorization": f"Bearer {scenario.guest.api.access_token}"})
            assert page.status_code == 200, page.text
            history += page.json()["messages"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert [m["seq"] for m in history] == list(range(len(bodies), 0, -1))
        assert {m["message_id"]: m for m in history} == posted
        in_order = [m["message_id"] for m in reversed(history)]

        # the topic, first copy of each event (consumers skip a re-published copy by its id)
        seen, topic_order = set(), []
        for event in events:
            if event.id not in seen and isinstance(event.data, ChatMessagePosted):
                seen.add(event.id)
                topic_order.append(event.data.message_id)
        assert topic_order == in_order  # nothing extra for the retries either

        # the live socket (on a signaling replica of its own): each once, in history's order
        await guest.wait_for(
            "chat-message", lambda d: isinstance(d, dict) and d.get("message_id") == in_order[-1], timeout_s=30
        )
        await asyncio.sleep(1.0)  # a late duplicate would arrive now
        live = [r.data["message_id"] for r in guest.received("chat-message") if r.data.get("meeting_id") == meeting_id]
        assert live == in_order
    finally:
        await scenario.clean_up()

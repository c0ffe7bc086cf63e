"""A meeting whose room stayed empty expires after its timeout, even when every meetings
replica restarted in between (issue 10, "Expiry").

Against the running test stack:

1. A host creates a meeting and sets its ``empty_timeout_seconds`` to 20 through ``PATCH``
   (the guest may not); a second meeting of the same host gets the same timeout. Host and guest join the
   first meeting's room (socket.io), the host alone the second's.
2. Host and guest leave the first room; the test waits until meetings' roster is empty (the
   roster write that emptied it stored the deadline).
3. Both meetings replicas get SIGKILL and stay down a few seconds, then start again.
4. ``meeting.expired`` arrives on Kafka for the first meeting, not before its deadline
   (``expired_at`` >= ``empty_since`` + 20 s); the meeting reads ``ended`` with
   ``end_reason`` ``expired``; joining its room is refused with ``meeting_ended``; its chat
   history is still readable. The second meeting, whose room was never empty, stays active,
   and its host in the room gets no ``meeting-ended``.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from parley_events import MeetingExpired
from parley_events.topics import MEETINGS as MEETINGS_TOPIC
from parley_probe.api import ApiClient, ApiError, meeting_of_two
from parley_probe.signaling import SignalingClient, SignalingError
from parley_testing import Stack, tail_topic
from parley_testing.faults import hold_down, sigkill, stack_ready, start, until

pytestmark = [pytest.mark.e2e, pytest.mark.exclusive, pytest.mark.timeout(420)]

STEP_S = 20.0
TIMEOUT_S = 20
REPLICAS = ("meetings-1", "meetings-2")
#: How long after its deadline the meeting must have expired: the sweep interval (5 s), a
#: restart of meetings, the outbox relay, on a loaded machine.
EXPIRES_WITHIN_S = 150.0


async def in_room(api: ApiClient, base_url: str, meeting_id: str, name: str) -> SignalingClient:
    client = SignalingClient(name, base_url, api.access_token or "")
    await client.connect(STEP_S)
    await client.request("join", {"meeting_id": meeting_id}, STEP_S)
    return client


async def test_an_empty_meeting_expires_after_its_timeout_across_a_restart_of_meetings(stack: Stack) -> None:
    host, guest, meeting_id = await meeting_of_two(stack.base_url, "expiry")
    sockets: list[SignalingClient] = []
    try:
        patched = await host.update_meeting(meeting_id, empty_timeout_seconds=TIMEOUT_S)
        assert patched["empty_timeout_seconds"] == TIMEOUT_S
        with pytest.raises(ApiError) as refused:  # only the host changes it
            await guest.update_meeting(meeting_id, empty_timeout_seconds=5)
        assert (refused.value.status, refused.value.code) == (403, "not_host")
        busy = await host.create_meeting(f"busy {uuid.uuid4().hex[:6]}")
        await host.update_meeting(busy["meeting_id"], empty_timeout_seconds=TIMEOUT_S)
        await host.post_chat(meeting_id, str(uuid.uuid4()), "before it expires")

        host_socket = await in_room(host, stack.base_url, meeting_id, "host")
        guest_socket = await in_room(guest, stack.base_url, meeting_id, "guest")
        stayer = await in_room(host, stack.base_url, busy["meeting_id"], "stayer")
        sockets += [host_socket, guest_socket, stayer]

        async def roster_size(mid: str) -> int:
            return len((await host.roster(mid))["participants"])

        await until(lambda: _equals(roster_size(meeting_id), 2), 60, "both in the roster")
        await until(lambda: _equals(roster_size(busy["meeting_id"]), 1), 60, "the stayer in the busy roster")

        async with tail_topic(stack.kafka_bootstrap_servers, MEETINGS_TOPIC.name) as tail:
            await host_socket.request("leave", {"meeting_id": meeting_id}, STEP_S)
            await guest_socket.request("leave", {"meeting_id": meeting_id}, STEP_S)
            await until(lambda: _equals(roster_size(meeting_id), 0), 60, "an empty roster (the deadline stored)")

            for name in REPLICAS:  # every meetings replica dies with the deadline pending
                await hold_down(stack, name, sigkill(stack, name))
            await asyncio.sleep(3)
            for name in REPLICAS:
                await start(stack, name)

            events = await tail.events_until(
                lambda found: any(isinstance(e.data, MeetingExpired) and e.subject == meeting_id for e in found),
                timeout_s=TIMEOUT_S + EXPIRES_WITHIN_S,
            )
        expired = [e.data for e in events if isinstance(e.data, MeetingExpired) and e.subject == meeting_id]
        assert len(expired) >= 1, "no meeting.expired for the empty meeting"
        event = expired[0]
        assert event.event_type == "parley.meetings.meeting.expired.v1"
        assert event.empty_timeout_seconds == TIMEOUT_S
        assert (event.expired_at - event.empty_since).total_seconds() >= TIMEOUT_S
        assert not any(isinstance(e.data, MeetingExpired) and e.subject == busy["meeting_id"] for e in events)

        await stack_ready(stack)
        # Traefik routes to the restarted replicas from its next health check on
        shown = await until(lambda: _routed(host.get_meeting(meeting_id)), 60, "meetings routed by Traefik again")
        assert (shown["status"], shown["end_reason"]) == ("ended", "expired")
        with pytest.raises(SignalingError) as ended:
            await host_socket.request("join", {"meeting_id": meeting_id}, STEP_S)
        assert ended.value.code == "meeting_ended"
        history = await guest.chat_history(meeting_id)
        assert [m["text"] for m in history["messages"]] == ["before it expires"]

        still = await host.get_meeting(busy["meeting_id"])
        assert still["status"] == "active"
        assert stayer.received("meeting-ended") == []
    finally:
        for socket in sockets:
            await socket.close()
        await host.aclose()
        await guest.aclose()
        await stack_ready(stack)


async def _routed(answer):  # noqa: ANN001, ANN202 - an ApiClient call
    """The call's answer, or None while Traefik has no healthy replica for it (503)."""
    try:
        return await answer
    except ApiError as exc:
        if exc.status == 503:
            return None
        raise


async def _equals(value, expected) -> bool:
    return (await value) == expected

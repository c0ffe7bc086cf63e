"""Direct calls in signaling, unit level: each ``call.*`` event becomes one ``call`` to every
local socket of both users (with fakes; the whole path across replicas runs in
tests/e2e/test_call_ring_across_replicas.py, and in the browser in tests/browser/test_calls.py)."""

from datetime import UTC, datetime

import pytest

from parley_events import CALL_EVENTS, CallEnded, CallEscalated, CallRinging
from parley_signaling.calls import CallDelivery
from parley_signaling.messaging import CONSUMES
from parley_signaling.users import UserDelivery

from signaling_testkit import FakeSio

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = {"call_id": "c1", "caller_id": "ada", "caller_name": "Ada L", "callee_id": "bob", "room_id": "abcd-efgh-ijkl", "at": NOW}


async def test_a_ring_reaches_every_local_socket_of_both_users_with_the_callers_name() -> None:
    sio = FakeSio()
    await CallDelivery(UserDelivery(sio)).call_changed(  # type: ignore[arg-type]
        CallRinging(**FIELDS, state="ringing", ring_deadline=NOW)
    )
    ((event, payload, kwargs),) = sio.emitted
    assert event == "call"
    assert payload == {
        "call_id": "c1",
        "state": "ringing",
        "caller_id": "ada",
        "caller_name": "Ada L",
        "callee_id": "bob",
        "room_id": "abcd-efgh-ijkl",
        "at": "2026-01-01T00:00:00+00:00",
        "ring_deadline": "2026-01-01T00:00:00+00:00",
    }
    assert kwargs == {"room": ["user:bob", "user:ada"], "ignore_queue": True}


@pytest.mark.parametrize("cls", [c for c in CALL_EVENTS if c is not CallRinging])
async def test_every_answer_reaches_both_users_without_a_deadline(cls) -> None:
    sio = FakeSio()
    state = cls.event_type.split(".")[-2]
    extra = {CallEnded: {"ended_by": "bob"}, CallEscalated: {"escalated_by": "bob"}}.get(cls, {})
    await CallDelivery(UserDelivery(sio)).call_changed(cls(**FIELDS, state=state, **extra))  # type: ignore[arg-type]
    ((event, payload, kwargs),) = sio.emitted
    assert (event, payload["state"], payload["ring_deadline"]) == ("call", state, None)
    assert kwargs["room"] == ["user:bob", "user:ada"]


def test_the_calls_channel_is_in_the_asyncapi_consumes() -> None:
    assert set(CONSUMES["calls"]) == set(CALL_EVENTS)

"""How fast one user may post (PARLEY_CHAT_POST_LIMIT_PER_USER, parley_chat.domain.post_limit),
through the chat app against the real FerretDB and Kafka."""

import asyncio

import pytest

from parley_testing import sample_value

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings):
    # A window long enough that four posts fit in it on a loaded machine (CI once took more
    # than 2 s for them, and the fourth went through).
    return settings.model_copy(update={"chat_post_limit_per_user": "3/10 seconds"})


async def test_a_user_over_the_post_limit_gets_429_with_retry_after_and_nothing_is_stored(client, room) -> None:
    for i in range(3):
        assert (await client.post("bob", room, f"fast-000{i}", f"message {i}")).status_code == 201
    refused = await client.post("bob", room, "fast-0003", "one too many")
    assert refused.status_code == 429, refused.text
    assert refused.json()["detail"]["code"] == "too_many_messages"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 10
    assert f"try again in {retry_after} seconds" in refused.json()["detail"]["message"]

    assert (await client.post("alice", room, "alice-000", "another user is not limited")).status_code == 201
    history = (await client.history("bob", room)).json()["messages"]
    assert [m["message_id"] for m in history] == ["alice-000", "fast-0002", "fast-0001", "fast-0000"]

    await asyncio.sleep(retry_after)  # the window has room again: the same post goes through
    assert (await client.post("bob", room, "fast-0003", "one too many")).status_code == 201
    metrics = (await client.http.get("/metrics")).text
    assert sample_value(metrics, "parley_chat_post_refusals_total", reason="too_many_messages") == 1

"""Helpers of the auth tests that start auth in-process (importable from the tests: conftest
puts this directory on ``sys.path``)."""

import asyncio

from argon2 import PasswordHasher

from parley_auth.config import Settings
from parley_auth.domain.passwords import Passwords
from parley_events.topics import API_KEYS, MEETINGS, PRESENCE
from parley_testing import commit_group_at_end


def cheap_passwords() -> Passwords:
    """argon2id with cheap parameters: keeps the suite fast (the defaults are unit-tested)."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))


def own_consumer_groups(name: str) -> dict[str, str]:
    """Settings that give a test app consumer groups of its own, one per subscriber: not the
    test stack's auth replicas' groups (it would take their partitions), and not one group for
    every subscriber (each would rebalance the others)."""
    return {
        "presence_consumer_group": f"{name}-presence",
        "api_key_use_consumer_group": f"{name}-api-key-use",
        "guest_meetings_consumer_group": f"{name}-guest-meetings",
        "session_activity_consumer_group": f"{name}-sessions",
    }


async def start_groups_at_end(settings: Settings) -> None:
    """Commit the app's consumer groups at their topics' current ends, so that it reads only
    what is published from now on, not every record of the run so far."""
    await asyncio.gather(
        *(
            commit_group_at_end(settings.kafka_bootstrap_servers, group, topic)
            for group, topic in (
                (settings.presence_consumer_group, PRESENCE),
                (settings.api_key_use_consumer_group, API_KEYS),
                (settings.guest_meetings_consumer_group, MEETINGS),
            )
        )
    )

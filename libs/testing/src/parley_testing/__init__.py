"""Test support: the running test stack's addresses, and a token issuer and a clock for unit tests."""

from parley_testing.clock import FakeClock
from parley_testing.kafka import RecordingSend, TopicTail, commit_group_at_end, tail_topic
from parley_testing.metrics import sample_value, scraped_value
from parley_testing.stack import Stack, load_stack
from parley_testing.store import drop_database
from parley_testing.tokens import BAD_AUTHORIZATIONS, TokenIssuer, bad_authorization
from parley_testing.waiting import eventually

__all__ = [
    "RecordingSend",
    "BAD_AUTHORIZATIONS",
    "FakeClock",
    "Stack",
    "TokenIssuer",
    "TopicTail",
    "bad_authorization",
    "commit_group_at_end",
    "drop_database",
    "eventually",
    "load_stack",
    "sample_value",
    "scraped_value",
    "tail_topic",
]

"""Test support: the running test stack's addresses, and a token issuer for unit tests."""

from parley_testing.kafka import TopicTail, tail_topic
from parley_testing.stack import Stack, load_stack
from parley_testing.tokens import TokenIssuer

__all__ = ["Stack", "TokenIssuer", "TopicTail", "load_stack", "tail_topic"]

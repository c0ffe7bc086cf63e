"""Kafka topics of Parley: one per aggregate type, keyed by the aggregate id.

This list is the single source of topic names, partitions and retention: the local stack
creates exactly these, and the Kubernetes KafkaTopic resources must match them.
"""

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """A topic: ``name``, ``partitions``, ``retention_ms`` (milliseconds)."""

    name: str
    partitions: int
    retention_ms: int
    replication_factor: int = 1


USERS = TopicSpec("parley.users", partitions=3, retention_ms=7 * DAY_MS)
MEETINGS = TopicSpec("parley.meetings", partitions=3, retention_ms=7 * DAY_MS)
PARTICIPANTS = TopicSpec("parley.participants", partitions=3, retention_ms=7 * DAY_MS)
CHAT = TopicSpec("parley.chat", partitions=3, retention_ms=7 * DAY_MS)
#: Cross-replica socket.io fan-out of signaling; short-lived by nature.
SIGNALING_FANOUT = TopicSpec("parley.signaling.fanout", partitions=1, retention_ms=60 * 60 * 1000)

TOPICS: tuple[TopicSpec, ...] = (USERS, MEETINGS, PARTICIPANTS, CHAT, SIGNALING_FANOUT)

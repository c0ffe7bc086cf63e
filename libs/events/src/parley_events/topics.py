"""Kafka topics of Parley: one per aggregate type, keyed by the aggregate id.

This list is the single source of topic names, partitions and retention: the local stack
creates exactly these, and the Kubernetes KafkaTopic resources must match them. How many
copies of each partition Kafka keeps is the deployment's choice, not the topic's:
:func:`declarations` combines the specs with
:class:`parley_settings.KafkaTopicSettings` (replication factor and ``min.insync.replicas``;
1 and 1 locally, 3 and 2 in production).
"""

from dataclasses import dataclass

from parley_settings import KafkaTopicSettings

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """A topic: ``name``, ``partitions``, ``retention_ms`` (milliseconds; -1: forever)."""

    name: str
    partitions: int
    retention_ms: int


USERS = TopicSpec("parley.users", partitions=3, retention_ms=7 * DAY_MS)
MEETINGS = TopicSpec("parley.meetings", partitions=3, retention_ms=7 * DAY_MS)
PARTICIPANTS = TopicSpec("parley.participants", partitions=3, retention_ms=7 * DAY_MS)
CHAT = TopicSpec("parley.chat", partitions=3, retention_ms=7 * DAY_MS)
#: auth's contact relationships (invitations, acceptances, removals, blocks), keyed by the
#: pair's contact id.
CONTACTS = TopicSpec("parley.contacts", partitions=3, retention_ms=7 * DAY_MS)
#: meetings' direct calls (ringing, accepted, declined, missed, cancelled, ended), keyed by
#: call id.
CALLS = TopicSpec("parley.calls", partitions=3, retention_ms=7 * DAY_MS)
#: chat's direct messages (``dm.message.posted``, ``dm.conversation.read``), keyed by
#: conversation id: one conversation's events stay ordered. The messages themselves are kept in
#: chat's database; the topic only carries them to signaling for live delivery.
DM = TopicSpec("parley.dm", partitions=3, retention_ms=7 * DAY_MS)
#: Presence: signaling's per-socket records (keyed by user id) and replica losses (keyed by
#: replica id), and auth's per-user ``presence.changed`` (keyed by user id). Short-lived:
#: only the current state matters, and auth keeps it in MongoDB.
PRESENCE = TopicSpec("parley.presence", partitions=3, retention_ms=DAY_MS)
#: auth's API keys (created, revoked; keyed by key id) and meetings' ``api_key.used`` marks.
#: Kept forever (``retention.ms`` -1): a service that starts afresh rebuilds its projection of
#: every key that exists from the whole topic; the records are few and small.
API_KEYS = TopicSpec("parley.api_keys", partitions=3, retention_ms=-1)
#: Cross-replica socket.io fan-out of signaling; short-lived by nature. Partition 0 is read by
#: every replica, partitions 1-8 are replicas' inboxes (parley_signaling.fanout.inbox_partition).
SIGNALING_FANOUT = TopicSpec("parley.signaling.fanout", partitions=9, retention_ms=60 * 60 * 1000)

#: auth's session.revoked events, keyed by user id. Every service that verifies access tokens
#: reads it whole at start-up (the revoked-session projection), so it only needs to outlive
#: the longest access token (``PARLEY_ACCESS_TOKEN_TTL_SECONDS`` is at most a day).
SESSIONS = TopicSpec("parley.sessions", partitions=3, retention_ms=2 * DAY_MS)
#: signaling's session.active heartbeats (the single-session lease's renewals), keyed by user
#: id; only auth reads them, and only the last few minutes matter.
SESSION_ACTIVITY = TopicSpec("parley.sessions.activity", partitions=3, retention_ms=60 * 60 * 1000)

TOPICS: tuple[TopicSpec, ...] = (
    USERS,
    MEETINGS,
    PARTICIPANTS,
    CHAT,
    CONTACTS,
    CALLS,
    DM,
    PRESENCE,
    API_KEYS,
    SIGNALING_FANOUT,
    SESSIONS,
    SESSION_ACTIVITY,
)


@dataclass(frozen=True)
class TopicDeclaration:
    """What creating one topic takes: its spec's ``name`` and ``partitions``, the deployment's
    ``replication_factor``, and the topic ``configs`` (``retention.ms``, ``min.insync.replicas``)."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


def declarations(
    settings: KafkaTopicSettings, topics: tuple[TopicSpec, ...] = TOPICS
) -> list[TopicDeclaration]:
    """The declarations of ``topics`` (all of Parley's by default) under ``settings``."""
    return [
        TopicDeclaration(
            name=topic.name,
            partitions=topic.partitions,
            replication_factor=settings.kafka_topic_replication_factor,
            configs={
                "retention.ms": str(topic.retention_ms),
                "min.insync.replicas": str(settings.kafka_topic_min_insync_replicas),
            },
        )
        for topic in topics
    ]

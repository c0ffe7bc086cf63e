"""Service-specific Prometheus metrics of chat (listed in docs/metrics.md)."""

from prometheus_client import CollectorRegistry, Counter


class ChatMetrics:
    """Counters registered in the app's own ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.posted = Counter(
            "parley_chat_messages_posted_total",
            "Chat messages stored (a retried post of the same message is not counted).",
            registry=registry,
        )
        self.post_refusals = Counter(
            "parley_chat_post_refusals_total",
            "Posts refused after input validation, by reason (not_a_participant, "
            "meeting_not_found, message_id_conflict, unavailable, too_many_messages).",
            ("reason",),
            registry=registry,
        )
        self.notes_saved = Counter(
            "parley_chat_notes_saved_total",
            "Private meeting notes saved (PUT answered 200).",
            registry=registry,
        )
        self.dm_posted = Counter(
            "parley_chat_direct_messages_posted_total",
            "Direct messages stored (a retried post of the same message is not counted).",
            registry=registry,
        )
        self.dm_refusals = Counter(
            "parley_chat_direct_message_refusals_total",
            "Direct messages refused after input validation, by reason (not_a_contact, "
            "cannot_message_self, message_id_conflict, too_many_messages).",
            ("reason",),
            registry=registry,
        )
        for reason in ("not_a_participant", "meeting_not_found", "message_id_conflict", "unavailable", "too_many_messages"):
            self.post_refusals.labels(reason)
        for reason in ("not_a_contact", "cannot_message_self", "message_id_conflict", "too_many_messages"):
            self.dm_refusals.labels(reason)

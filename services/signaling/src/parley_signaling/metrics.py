"""Signaling's own Prometheus metrics (listed in docs/metrics.md), in the app's registry.

Label values come from fixed sets (event names of the protocol, error codes, event types),
never from user input, so cardinality stays bounded.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from parley_events import ConsumerLag, kafka_log_records_held

#: Inbound event names counted under their own label; any other name counts as ``unknown``.
KNOWN_EVENTS = frozenset(
    {"join", "leave", "offer", "answer", "ice-candidate", "media-state", "raise-hand", "lower-hand", "reaction", "mute", "ask-unmute"}
)


class SignalingMetrics:
    """The metrics of one signaling app."""

    def __init__(self, registry: CollectorRegistry) -> None:
        #: parley_kafka_consumer_lag_records: the FastStream subscribers and the fan-out consumer
        self.consumer_lag = ConsumerLag(registry)
        self.connected_sockets = Gauge(
            "parley_signaling_connected_sockets",
            "Sockets connected to this replica now.",
            registry=registry,
        )
        self.disconnecting_sockets = Gauge(
            "parley_signaling_disconnecting_sockets",
            "Sockets of this replica whose disconnect is being handled now (they are no longer "
            "connected; their leave, peer-left and events are not all sent yet): a mass close's backlog.",
            registry=registry,
        )
        self.connections = Counter(
            "parley_signaling_connections_total",
            "Connection attempts, by result (accepted, unauthorized, origin_not_allowed, draining, "
            "too_many_sockets, closed_while_connecting).",
            ("result",),
            registry=registry,
        )
        self.unconnected_sessions_closed = Counter(
            "parley_signaling_unconnected_sessions_closed_total",
            "Engine.IO sessions closed because they had no socket.io connection in time "
            "(PARLEY_SIGNALING_CONNECT_TIMEOUT_SECONDS after they opened or their client's DISCONNECT).",
            registry=registry,
        )
        self.slow_consumers = Counter(
            "parley_signaling_slow_consumers_total",
            "Sockets dropped because more than PARLEY_SIGNALING_MAX_QUEUED_BYTES waited to be sent to them.",
            registry=registry,
        )
        self.events = Counter(
            "parley_signaling_events_total",
            "Client events handled, by event name and result (ok or an error code).",
            ("event", "result"),
            registry=registry,
        )
        self.event_duration = Histogram(
            "parley_signaling_event_duration_seconds",
            "Time to handle a client event until its acknowledgement, in seconds.",
            ("event",),
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.rejected_inputs = Counter(
            "parley_signaling_rejected_inputs_total",
            "Client input refused before any handler, by reason (malformed, too_large, "
            "not_connected, reserved_event, unknown_event).",
            ("reason",),
            registry=registry,
        )
        self.directory_entries = Gauge(
            "parley_signaling_directory_entries",
            "Sockets in meeting rooms known to this replica, by scope (local or remote).",
            ("scope",),
            registry=registry,
        )
        self.rooms = Gauge(
            "parley_signaling_rooms",
            "Meeting rooms with at least one socket, any replica's, in this replica's room directory.",
            registry=registry,
        )
        self.consumed_events = Counter(
            "parley_signaling_consumed_events_total",
            "Kafka events consumed, by type (meeting.ended, chat.message.posted, presence.changed, contact, call, dm, other) "
            "and result (delivered, duplicate, malformed, ignored, failed).",
            ("type", "result"),
            registry=registry,
        )
        self.participant_events = Counter(
            "parley_signaling_participant_events_total",
            "participant.* and presence.* events published to Kafka, by type (joined, left, presence) and result "
            "(published, failed after retries, dropped when the queue was full).",
            ("type", "result"),
            registry=registry,
        )
        self.fanout_messages = Counter(
            "parley_signaling_fanout_messages_total",
            "Messages on the cross-replica fan-out topic, by direction (sent, received) and "
            "kind (emit, directory, room, other).",
            ("direction", "kind"),
            registry=registry,
        )
        self.fanout_delay = Histogram(
            "parley_signaling_fanout_delay_seconds",
            "Time from a fan-out message's send on any replica (its Kafka record's timestamp, "
            "milliseconds) until this replica's listener takes it: producer batching, Kafka and "
            "the fetch.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.fanout_bus_up = Gauge(
            "parley_signaling_fanout_bus_up",
            "1 while this replica reads its own heartbeats back from the fan-out topic (it hears "
            "the bus), else 0; other replicas are judged by their silence only while it is 1.",
            registry=registry,
        )
        self.fanout_bus_changes = Counter(
            "parley_signaling_fanout_bus_changes_total",
            "Changes of the fan-out bus state, by state (lost, back).",
            ("state",),
            registry=registry,
        )
        self.link_relays = Counter(
            "parley_signaling_link_relays_total",
            "Relays over the replica link, by result: sent; received; held (received before the "
            "records sent ahead of them were read from Kafka); resent (through Kafka, after the "
            "link broke before they were acknowledged); duplicate (a second copy, skipped); "
            "malformed (skipped).",
            ("result",),
            registry=registry,
        )
        self.fanout_undelivered = Counter(
            "parley_signaling_fanout_undelivered_total",
            "Fan-out messages Kafka did not acknowledge (sent while it was unreachable).",
            registry=registry,
        )
        self.replicas_dropped = Counter(
            "parley_signaling_replicas_dropped_total",
            "Other replicas dropped from the room directory, by reason (silent: not heard for the "
            "replica timeout while the bus was up; restarted: said hello; gone: stopped cleanly).",
            ("reason",),
            registry=registry,
        )
        self.restored_entries = Counter(
            "parley_signaling_restored_entries_total",
            "Sockets this replica had reported lost (participant.left replica_lost) that their "
            "replica's snapshot brought back (participant.joined published again).",
            registry=registry,
        )
        self.kafka_log_records_held = kafka_log_records_held(registry)
        self.resumptions = Counter(
            "parley_signaling_resumptions_total",
            "join requests with resume, by result (resumed: the socket took the participant over; "
            "not_resumed: unknown, another user's, or expired, so a fresh join).",
            ("result",),
            registry=registry,
        )
        self.held_participants = Gauge(
            "parley_signaling_held_participants",
            "Resumable participants of this replica whose socket dropped, held for the resume window.",
            registry=registry,
        )
        self.draining = Gauge(
            "parley_signaling_draining",
            "1 while this replica drains (its sockets are asked to move to another replica), else 0.",
            registry=registry,
        )

        self._handled: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        for result in (
            "accepted", "unauthorized", "origin_not_allowed", "draining", "too_many_sockets", "closed_while_connecting"
        ):
            self.connections.labels(result)
        for event in sorted(KNOWN_EVENTS):
            self.events.labels(event, "ok")
        for kind in ("joined", "left", "presence"):
            for result in ("published", "failed", "dropped"):
                self.participant_events.labels(kind, result)
        for kind in ("meeting.ended", "meeting", "chat.message.posted", "presence.changed", "contact", "call", "dm"):
            for result in ("delivered", "duplicate", "malformed", "failed"):
                self.consumed_events.labels(kind, result)
        self.consumed_events.labels("other", "ignored")
        for direction in ("sent", "received"):
            for kind in ("emit", "directory", "room", "other"):
                self.fanout_messages.labels(direction, kind)
        for result in ("sent", "received", "held", "resent", "duplicate", "malformed"):
            self.link_relays.labels(result)
        for state in ("lost", "back"):
            self.fanout_bus_changes.labels(state)
        for reason in ("silent", "restarted", "gone"):
            self.replicas_dropped.labels(reason)
        for result in ("resumed", "not_resumed", "moved"):
            self.resumptions.labels(result)

    def event_label(self, event: str) -> str:
        return event if event in KNOWN_EVENTS else "unknown"

    def handled(self, event: str, result: str, seconds: float) -> None:
        """Count a client event handled and observe how long it took (``event`` from
        :meth:`event_label`, ``result`` ``ok`` or an error code, ``seconds`` until its
        acknowledgement). The labelled series are looked up once per pair, not per event."""
        series = self._handled.get((event, result))
        if series is None:
            series = self._handled[(event, result)] = (
                self.events.labels(event, result), self.event_duration.labels(event)
            )
        series[0].inc()
        series[1].observe(seconds)

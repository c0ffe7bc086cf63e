"""Service-specific Prometheus metrics of meetings (listed in docs/metrics.md)."""

from prometheus_client import CollectorRegistry, Counter


class MeetingsMetrics:
    """Counters registered in the app's own ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.created = Counter(
            "parley_meetings_created_total", "Meetings created.", registry=registry
        )
        self.joins = Counter(
            "parley_meetings_joins_total",
            "Users who became participants of a meeting (repeat joins not counted).",
            registry=registry,
        )
        self.ended = Counter(
            "parley_meetings_ended_total",
            "Meetings ended by their host (ending an ended meeting not counted).",
            registry=registry,
        )
        self.expired = Counter(
            "parley_meetings_expired_total",
            "Meetings that expired because their room stayed empty for their empty timeout "
            "(counted by the replica whose write won).",
            registry=registry,
        )
        self.roster_events = Counter(
            "parley_meetings_roster_events_total",
            "participant.* events consumed, by type (joined, left, other) and outcome "
            "(applied, ignored, duplicate, malformed).",
            ("type", "outcome"),
            registry=registry,
        )
        self.summary_reads = Counter(
            "parley_meetings_summary_reads_total",
            "Reads of a meeting's summary (GET /api/meetings/{id}) by outcome in this replica's "
            "cache (hit, miss: read from the store).",
            ("result",),
            registry=registry,
        )
        for result in ("hit", "miss"):
            self.summary_reads.labels(result)
        for kind in ("joined", "left"):
            for outcome in ("applied", "ignored", "duplicate"):
                self.roster_events.labels(kind, outcome)
        for outcome in ("ignored", "duplicate", "malformed"):
            self.roster_events.labels("other", outcome)

"""Service-specific Prometheus metrics of meetings (listed in docs/metrics.md)."""

from prometheus_client import CollectorRegistry, Counter, Histogram


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


class WebhookMetrics:
    """The webhook delivery worker's metrics (docs/metrics.md, "Webhooks")."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "parley_meetings_webhook_attempts_total",
            "Webhook delivery attempts by outcome: succeeded (a 2xx answer), rejected (another "
            "status), unreachable (no answer: connection refused, timeout), refused (the "
            "destination is not allowed: SSRF rules).",
            ("outcome",),
            registry=registry,
        )
        self.deliveries = Counter(
            "parley_meetings_webhook_deliveries_total",
            "Webhook deliveries that reached a final state, by result: succeeded, or failed "
            "(every attempt of the retry schedule failed, or the endpoint was gone).",
            ("result",),
            registry=registry,
        )
        self.duration = Histogram(
            "parley_meetings_webhook_attempt_duration_seconds",
            "Time from sending a webhook request to its answer's status (or the error).",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        for outcome in ("succeeded", "rejected", "unreachable", "refused"):
            self.attempts.labels(outcome)
        for result in ("succeeded", "failed"):
            self.deliveries.labels(result)

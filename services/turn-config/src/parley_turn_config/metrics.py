"""Service-specific metrics of turn-config (listed in docs/metrics.md)."""

from prometheus_client import CollectorRegistry, Counter


class TurnMetrics:
    """``parley_turn_credentials_issued_total``: TURN credentials handed out."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.credentials_issued = Counter(
            "parley_turn_credentials_issued_total",
            "TURN REST API credentials issued to signed-in users.",
            registry=registry,
        )

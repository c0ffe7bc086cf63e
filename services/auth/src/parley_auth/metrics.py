"""Service-specific metrics of auth (listed in docs/metrics.md)."""

from prometheus_client import CollectorRegistry, Counter


class AuthMetrics:
    """Counters of registrations, logins and refresh-token rotations, by ``result``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registrations = Counter(
            "parley_auth_registrations_total",
            "Registration attempts that passed validation, by result (created, email_taken).",
            ("result",),
            registry=registry,
        )
        self.logins = Counter(
            "parley_auth_logins_total",
            "Login attempts that passed validation, by result (success, invalid_credentials, active_session).",
            ("result",),
            registry=registry,
        )
        self.refreshes = Counter(
            "parley_auth_token_refreshes_total",
            "Refresh-token uses, by result (rotated, unknown, expired, revoked, reused).",
            ("result",),
            registry=registry,
        )
        self.logouts = Counter(
            "parley_auth_logouts_total", "Logouts (refresh-token families revoked on request).", registry=registry
        )
        self.guests = Counter(
            "parley_auth_guest_tokens_total",
            "Guest token requests that passed validation and the throttle, by result (issued, "
            "meeting_not_found, guests_not_allowed, meeting_ended).",
            ("result",),
            registry=registry,
        )
        for result in ("issued", "meeting_not_found", "guests_not_allowed", "meeting_ended"):
            self.guests.labels(result)
        self.throttled = Counter(
            "parley_auth_throttled_total",
            "Attempts answered 429 by the throttle, by action (login, register, refresh, guest) and the "
            "limit that refused (address, account_address, account).",
            ("action", "scope"),
            registry=registry,
        )
        for action, scope in (
            ("login", "address"),
            ("login", "account_address"),
            ("login", "account"),
            ("register", "address"),
            ("refresh", "address"),
            ("guest", "address"),
        ):
            self.throttled.labels(action, scope)
        for result in ("created", "email_taken"):
            self.registrations.labels(result)
        for result in ("success", "invalid_credentials"):
            self.logins.labels(result)
        for result in ("rotated", "unknown", "expired", "revoked", "reused"):
            self.refreshes.labels(result)

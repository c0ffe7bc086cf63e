"""Revoked sign-in sessions, learned from auth's ``session.revoked`` events (a local projection).

An access token names its session in the ``sid`` claim (:attr:`Principal.session_id`). When
auth revokes a session ("Use here" on another device, or sign-out) it publishes
``parley.auth.session.revoked.v1`` on ``parley.sessions`` (docs/events.md) through its outbox.
Every service that verifies access tokens keeps this projection of that topic and refuses a
token of a revoked session at once, without asking auth per request:

- :class:`RevokedSessions`: session id -> when it was revoked (Unix seconds); an entry is
  forgotten ``keep_s`` after its revocation (by then every token of the session expired:
  ``keep_s`` must be at least the longest access-token lifetime; the topic keeps 2 days).
- :class:`RevocationFeed`: a subscriber with no consumer group from the earliest offset, so
  every replica reads the whole topic and a restarted one rebuilds the projection. Listeners
  (signaling closes the session's sockets) are called for each revocation, in topic order.
- :func:`refuse_revoked`: raises :class:`InvalidToken` (reason ``revoked``) for a principal
  of a revoked session; :func:`parley_security.verified_principal` calls it when the app has
  ``app.state.revoked_sessions``.

Until the feed has read the topic after a start, a token revoked before that start is still
accepted (for at most the time the warm-up takes, usually well under a second).
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from faststream.kafka.fastapi import KafkaRouter

from parley_events import FEED_BATCHES, ConsumedMessage, EventData, SessionRevoked, apply_each_event
from parley_events.topics import SESSIONS
from parley_security.jwt import InvalidToken, Principal

log = logging.getLogger(__name__)

#: AsyncAPI channel title of the feed's subscriber.
REVOCATION_CHANNEL = "sessions-revoked"

#: Seconds a revocation is remembered by default (the longest access-token lifetime allowed).
DEFAULT_KEEP_S = 24 * 3600.0

#: The events the feed applies (for a service's AsyncAPI ``CONSUMES``).
REVOCATION_EVENTS = (SessionRevoked,)

Listener = Callable[[SessionRevoked], Awaitable[None]]


class RevokedSessions:
    """The revoked session ids of the last ``keep_s`` seconds (``clock``: Unix seconds)."""

    def __init__(self, keep_s: float = DEFAULT_KEEP_S, clock: Callable[[], float] = time.time) -> None:
        self._keep_s = keep_s
        self._clock = clock
        self._revoked: OrderedDict[str, float] = OrderedDict()

    def revoke(self, session_id: str, revoked_at: float | None = None) -> None:
        """Record ``session_id`` as revoked (idempotent) and forget revocations older than ``keep_s``."""
        self._revoked.setdefault(session_id, revoked_at if revoked_at is not None else self._clock())
        horizon = self._clock() - self._keep_s
        while self._revoked:
            oldest, at = next(iter(self._revoked.items()))
            if at >= horizon:
                break
            del self._revoked[oldest]

    def __contains__(self, session_id: object) -> bool:
        return isinstance(session_id, str) and session_id in self._revoked

    def __len__(self) -> int:
        return len(self._revoked)


def refuse_revoked(principal: Principal, revoked: RevokedSessions) -> Principal:
    """``principal``, unless its session was revoked: then :class:`InvalidToken` (``revoked``)."""
    if principal.session_id is not None and principal.session_id in revoked:
        raise InvalidToken.of("revoked")
    return principal


class RevocationFeed:
    """Feeds :class:`RevokedSessions` from ``parley.sessions`` through ``router`` (no consumer
    group, from the earliest offset) and calls each of :attr:`listeners` per revocation."""

    def __init__(self, router: KafkaRouter, revoked: RevokedSessions) -> None:
        self.revoked = revoked
        self.listeners: list[Listener] = []
        subscriber = router.subscriber(
            SESSIONS.name,
            group_id=None,
            auto_offset_reset="earliest",
            **FEED_BATCHES,
            title=REVOCATION_CHANNEL,
            description="session.revoked -> the revoked-session projection: access tokens of the session "
            "are refused (every replica reads the whole topic, no consumer group).",
        )
        subscriber(self._on_records)

    async def _on_records(self, message: ConsumedMessage) -> None:
        await apply_each_event(message, self._apply)

    async def _apply(self, data: EventData) -> None:
        if not isinstance(data, SessionRevoked):
            return
        self.revoked.revoke(data.session_id, data.revoked_at.timestamp())
        for listener in self.listeners:
            try:
                await listener(data)
            except Exception:  # noqa: BLE001 - one listener's failure must not stop the feed
                log.exception("session.revoked listener failed for session %s", data.session_id)

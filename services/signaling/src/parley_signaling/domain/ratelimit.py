"""Rate and size limits of clients: a token bucket per socket, and what one user's sockets
share on one replica (docs/signaling.md, "Limits")."""

import time
from collections.abc import Callable
from dataclasses import dataclass


class TokenBucket:
    """Allows ``rate`` events per second on average and bursts of up to ``burst`` events.

    The bucket starts full. Each :meth:`allow` takes one token if there is one.
    ``clock`` returns seconds (monotonic); injectable for tests.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def allow(self, shared: "TokenBucket | None" = None) -> bool:
        """Take a token: True when the event may proceed, False when it is over the limit.

        With ``shared`` (a budget this bucket's socket shares with others), a token is taken
        from both buckets or from neither: an event refused by one costs the other nothing."""
        self._refill()
        if shared is not None:
            shared._refill()
            if shared._tokens < 1.0:
                return False
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        if shared is not None:
            shared._tokens -= 1.0
        return True

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)


@dataclass
class _UserShare:
    sockets: int
    bucket: TokenBucket


class UserLimits:
    """What one user's sockets share on one replica: at most ``max_sockets`` of them, and one
    event budget (``rate`` events per second, bursts of ``burst``) across all of them, besides
    each socket's own bucket. Without it one account could multiply both by opening sockets.

    A user's entry lives while it has a socket: :meth:`admit` at connect, :meth:`release` at
    disconnect, one of each per accepted socket.
    """

    def __init__(self, *, max_sockets: int, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if max_sockets < 1:
            raise ValueError("max_sockets must be >= 1")
        self.max_sockets = max_sockets
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._users: dict[str, _UserShare] = {}

    def admit(self, user_id: str) -> TokenBucket | None:
        """Count one more socket of ``user_id`` and return the budget its sockets share, or
        None (nothing counted) when the user has ``max_sockets`` sockets here already."""
        share = self._users.get(user_id)
        if share is None:
            share = self._users[user_id] = _UserShare(0, TokenBucket(self._rate, self._burst, self._clock))
        elif share.sockets >= self.max_sockets:
            return None
        share.sockets += 1
        return share.bucket

    def release(self, user_id: str) -> None:
        """One socket of ``user_id`` is gone; the user's entry goes with its last socket."""
        share = self._users.get(user_id)
        if share is None:
            return
        share.sockets -= 1
        if share.sockets <= 0:
            del self._users[user_id]

    def sockets_of(self, user_id: str) -> int:
        """How many sockets ``user_id`` has on this replica."""
        share = self._users.get(user_id)
        return share.sockets if share is not None else 0

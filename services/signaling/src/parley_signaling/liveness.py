"""Which other replicas are alive, judged only while this replica hears the fan-out bus.

Replicas learn that another is alive from its messages on the fan-out topic (heartbeats
included). Silence alone is ambiguous: the other replica may have died, or the bus (Kafka, or
this replica's own connection to it, or this replica's event loop) may have stopped. A replica
tells the two apart by its *own* heartbeats: each carries the sender's monotonic send time,
and reading one back within ``bus_timeout_s`` of sending it proves that the topic carries
messages end to end for this replica right now.

:class:`ReplicaLiveness` holds that reasoning and does no I/O (its clock is injectable):

* the bus is **up** from the first fresh read-back of an own heartbeat, and **lost** when no
  fresh one came back for ``bus_timeout_s`` seconds;
* another replica is **silent** when it has not been heard for ``replica_timeout_s`` seconds
  *counted only while the bus is up*: the count starts again when the bus comes back, so that
  every replica gets a full ``replica_timeout_s`` after an outage to be heard again. While the
  bus is lost nobody is silent.

docs/signaling.md ("Several replicas") describes the protocol around it.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BusChange:
    """A change of the bus state: ``up`` is the new state, ``after_s`` how long the old one lasted
    (seconds; the time since start-up for the first ``up``)."""

    up: bool
    after_s: float


class ReplicaLiveness:
    """Last-heard times of other replicas and the state of this replica's bus.

    ``replica_timeout_s`` must be larger than ``bus_timeout_s`` (otherwise a bus outage could
    be judged as the death of the others before it is noticed); raises ``ValueError``.
    """

    def __init__(
        self,
        *,
        replica_timeout_s: float,
        bus_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < bus_timeout_s < replica_timeout_s:
            raise ValueError(
                f"bus timeout ({bus_timeout_s}s) must be positive and below the replica timeout ({replica_timeout_s}s)"
            )
        self.replica_timeout_s = replica_timeout_s
        self.bus_timeout_s = bus_timeout_s
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._up = False
        self._since = clock()  # start of the current bus state
        self._last_loopback: float | None = None

    def now(self) -> float:
        """This object's clock (``time.monotonic`` unless injected), for heartbeats' ``sent_at``."""
        return self._clock()

    # --- the bus ------------------------------------------------------------------------

    @property
    def bus_up(self) -> bool:
        """Whether this replica currently reads its own heartbeats back (as of the last
        :meth:`loopback` or :meth:`check_bus`)."""
        return self._up

    def loopback(self, sent_at: float) -> BusChange | None:
        """An own heartbeat sent at ``sent_at`` (this clock) was read back now.

        A read-back older than ``bus_timeout_s`` proves nothing about now and is ignored.
        Returns the change when the bus was lost (or never up) and is up again.
        """
        now = self._clock()
        if now - sent_at > self.bus_timeout_s:
            return None
        self._last_loopback = now
        if self._up:
            return None
        change = BusChange(up=True, after_s=now - self._since)
        self._up, self._since = True, now
        return change

    def check_bus(self) -> BusChange | None:
        """Declare the bus lost when no fresh own heartbeat came back for ``bus_timeout_s``;
        returns that change, else None. Call it at least once per heartbeat interval."""
        now = self._clock()
        if not self._up or (self._last_loopback is not None and now - self._last_loopback <= self.bus_timeout_s):
            return None
        change = BusChange(up=False, after_s=now - self._since)
        self._up, self._since = False, now
        return change

    # --- the other replicas ---------------------------------------------------------------

    def heard(self, replica_id: str, *, ago_s: float = 0.0) -> None:
        """``replica_id`` spoke on the topic ``ago_s`` seconds ago (0: just now)."""
        self._last_seen[replica_id] = self._clock() - max(0.0, ago_s)

    def knows(self, replica_id: str) -> bool:
        """Whether ``replica_id`` is heard and not yet forgotten."""
        return replica_id in self._last_seen

    def forget(self, replica_id: str) -> None:
        """Stop tracking ``replica_id`` (it was dropped or said ``gone``)."""
        self._last_seen.pop(replica_id, None)

    def silent(self) -> list[tuple[str, float]]:
        """``(replica_id, seconds)`` of every known replica silent for more than the replica
        timeout while the bus was up; empty while the bus is lost."""
        if not self._up:
            return []
        now = self._clock()
        return [
            (replica, now - seen)
            for replica, seen in self._last_seen.items()
            if now - max(seen, self._since) > self.replica_timeout_s
        ]

    def alive(self) -> set[str]:
        """Known replicas not silent (every known one while the bus is lost)."""
        silent = {replica for replica, _ in self.silent()}
        return set(self._last_seen) - silent

"""Sign-in sessions on signaling: ending a revoked session's sockets, and the heartbeat that
keeps a live session's single-session lease (docs/signaling.md, "Sessions").

- **Revoked.** auth publishes ``session.revoked`` on ``parley.sessions`` when a session ends
  (another place chose "Use here", or sign-out). Every replica reads that topic
  (:class:`parley_security.RevocationFeed`: the same projection refuses the session's tokens
  at ``connect`` and ``join``) and :meth:`SessionSockets.revoked` ends its local sockets of the
  session: ``session-ended`` ``{"reason"}``, out of the room at once (``left``, not held for a
  resume), then disconnected.
- **Active.** :class:`SessionHeartbeat` publishes ``session.active`` (``parley.sessions.activity``,
  key = user id) for each session with a live socket on this replica: when its first socket
  connects, then every ``PARLEY_SESSION_HEARTBEAT_SECONDS``, the replica's sessions spread over
  that interval in ticks of :data:`HEARTBEAT_TICK_S`. auth renews the session's lease on it;
  signaling never calls auth. A heartbeat that fails is logged and the next one retries: the
  lease (``PARLEY_SESSION_LEASE_SECONDS``) outlasts a few missed beats.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from faststream.kafka.fastapi import KafkaRouter

from parley_events import SessionActive, SessionRevoked, encode, envelope_of, kafka_sender
from parley_events.topics import SESSION_ACTIVITY
from parley_signaling.domain.protocol import SessionEndedEvent, dump
from parley_signaling.domain.rooms import RoomService
from parley_signaling.participant_events import SOURCE

log = logging.getLogger(__name__)

#: Seconds between the sends of one heartbeat: the sessions due within a tick are published
#: together, which aiokafka sends as one produce request, instead of one request per session
#: (bench/README.md, "Relay: the heartbeat's produce requests").
HEARTBEAT_TICK_S = 0.25


def declare_session_active(router: KafkaRouter) -> None:
    """Declare the ``session.active`` publisher in the router's AsyncAPI document."""
    router.publisher(
        SESSION_ACTIVITY.name,
        title="session.active",
        description=f"CloudEvents type {SessionActive.event_type}, key = user id; one per live session "
        "of this replica at its first socket's connect and then every PARLEY_SESSION_HEARTBEAT_SECONDS "
        "(auth renews the session's lease)",
        schema=envelope_of(SessionActive),
    )


class SessionSockets:
    """Ends this replica's sockets of a revoked session (a :class:`RevocationFeed` listener)."""

    def __init__(self, rooms: RoomService, sio) -> None:  # noqa: ANN001 - the socket.io server
        self._rooms = rooms
        self._sio = sio

    async def revoked(self, event: SessionRevoked) -> None:
        for socket in [s for s in self._rooms.sockets.values() if s.principal.session_id == event.session_id]:
            await self._sio.emit(
                "session-ended", dump(SessionEndedEvent(reason=event.reason)), to=socket.sid, ignore_queue=True
            )
            await self._rooms.session_ended(socket.sid)
            try:
                await self._sio.disconnect(socket.sid, ignore_queue=True)
            except Exception:  # noqa: BLE001 - it is out of its room either way
                log.warning("disconnecting %s of revoked session failed", socket.sid, exc_info=True)
            log.info("ended socket %s of revoked session %s (%s)", socket.sid, event.session_id, event.reason)


class SessionHeartbeat:
    """Publishes ``session.active`` for the live sessions of this replica's sockets.

    Each beat takes the live sessions once and spreads them evenly over ``interval_s`` in
    ``interval_s / tick_s`` ticks (rounded; at least one): tick k of t publishes the k-th
    t-th of the sessions, in session-id order, ``interval_s * k / t`` after the beat began,
    all at once, then waits for Kafka's acknowledgements. A session whose last socket closes
    during a beat may still be renewed once by it, which the lease (several intervals) covers
    anyway."""

    def __init__(
        self,
        router: KafkaRouter,
        live_sessions: Callable[[], set[tuple[str, str]]],
        *,
        replica_id: str,
        interval_s: float,
        tick_s: float = HEARTBEAT_TICK_S,
    ) -> None:
        self._router = router
        self._live_sessions = live_sessions
        self._replica_id = replica_id
        self._interval_s = interval_s
        self._ticks = max(1, round(interval_s / tick_s))
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        #: sessions announced since the last beat, or live at it
        self._announced: set[tuple[str, str]] = set()

    def connected(self, user_id: str, session_id: str | None) -> None:
        """A socket connected: a session this replica has not announced is announced at once
        (not after up to an interval). Another socket of an announced session adds nothing: the
        beats renew its lease (one record per connect cost auth a write each, 10,000 for a
        user's 10,000 sockets)."""
        if session_id is None or self._task is None or (user_id, session_id) in self._announced:
            return
        self._announced.add((user_id, session_id))
        task = asyncio.create_task(self._publish([(user_id, session_id)]))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            live = sorted(self._live_sessions(), key=lambda session: session[1])
            self._announced = set(live)  # a connect during this beat adds here, not to ``live``
            # Spread over the interval (each session keeps its place from one beat to the
            # next), not all at once: the records, and auth's lease writes for them, came as a
            # burst that stalled the replica's event loop and the machine (bench/README.md,
            # "Relay: the heartbeat's burst"); and in ticks, not one record at a time, each of
            # which was a produce request of its own. A tick with no session is not waited for
            # (an idle replica wakes once a beat, not every tick).
            n, ticks = len(live), self._ticks
            for k in range(1, ticks + 1):
                due = live[(k - 1) * n // ticks : k * n // ticks]
                if due:
                    await asyncio.sleep(max(0.0, started + self._interval_s * k / ticks - loop.time()))
                    await self._publish(due)
            await asyncio.sleep(max(0.0, started + self._interval_s - loop.time()))

    async def _publish(self, sessions: Sequence[tuple[str, str]]) -> None:
        """Publish ``session.active`` for each of ``sessions`` (user id, session id) at once,
        then wait for every acknowledgement; failures are logged, one line for the lot."""
        send = kafka_sender(self._router.broker)
        now = datetime.now(UTC)
        acks = []
        failed: list[BaseException] = []
        for user_id, session_id in sessions:
            event = SessionActive(user_id=user_id, session_id=session_id, replica_id=self._replica_id, sent_at=now)
            try:
                acks.append(await send(encode(event, source=SOURCE)))
            except Exception as exc:  # noqa: BLE001 - the next beat retries; the lease outlasts a few
                failed.append(exc)
        for outcome in await asyncio.gather(*acks, return_exceptions=True):
            if isinstance(outcome, Exception):
                failed.append(outcome)
        if failed:
            log.warning("session.active of %d of %d sessions not published: %r", len(failed), len(sessions), failed[0])

"""auth's projection of ``parley.presence``: each user's live sockets and aggregate presence.

Signaling publishes one ``presence.socket`` record per change of a socket (keyed by user id,
so a user's records are read in order) and one ``presence.replica_lost`` when a replica
crashed or went silent. This projection keeps each user's sockets, derives the user's state
(``in_call`` if a socket is in a room, else ``online`` if one is connected, else
``offline``) and ``last_seen`` (the time of the latest record, i.e. the disconnect for an
offline user), and, when the state changed, stages ``presence.changed`` with the user's
watchers (accepted contacts) in the same write. Applying a record again, or a replayed run of
records in their order, gives the same result (at-least-once delivery is harmless).

Records come a fetch at a time (:meth:`PresenceProjection.apply`): each user's records of a
fetch are applied in their order in one write, so a user's state changes within one fetch
come out as one ``presence.changed`` of the last state (a burst of a user's sockets, say 1,000
at once, costs one write instead of 1,000 rewrites of a growing document).

A record from a replica reported lost, timed before the loss, is stale and ignored (the
loss and that replica's last records may be read in either order: different keys).

Each write is a compare-and-set on the document's ``version``. The projection writes from the
document as it wrote it last, if it remembers it, without reading it first; another writer in
between (another auth replica after a rebalance, or handling a replica's loss) moved the
version on, so that write misses and the next attempt reads the store. A user's records thus
cost one store operation per fetch instead of two.
"""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from cachetools import LRUCache

from parley_auth.contacts_repository import MongoContactStore, MongoPresenceStore, VersionConflict
from parley_auth.domain.contacts import EVENT_SOURCE, watchers_of
from parley_events import PresenceChanged, PresenceReplicaLost, PresenceSocket, outbox_entry

log = logging.getLogger(__name__)

ATTEMPTS = 20
#: users whose presence document the projection remembers as it wrote it last
USERS_REMEMBERED = 10_000


def aggregate(sockets: list[dict[str, Any]]) -> str:
    """The user's state from their sockets' states."""
    states = {s["state"] for s in sockets}
    return "in_call" if "in_call" in states else "online" if states else "offline"


class PresenceProjection:
    """Applies presence records to :class:`MongoPresenceStore` (one user document at a time)."""

    def __init__(
        self,
        presence: MongoPresenceStore,
        contacts: MongoContactStore,
        *,
        on_event_staged: Callable[[], None] = lambda: None,
    ) -> None:
        self._presence = presence
        self._contacts = contacts
        self._on_event_staged = on_event_staged
        #: each user's document as this process wrote it last (the fields read below)
        self._written: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=USERS_REMEMBERED)

    async def apply(self, records: Sequence[PresenceSocket | PresenceReplicaLost]) -> None:
        """Apply one fetch's records: every replica loss first (a socket record is judged stale
        by its time, so the order between the two kinds does not matter: they have different
        keys), then each user's socket records in their order, one write per user."""
        for record in records:
            if isinstance(record, PresenceReplicaLost):
                await self.apply_replica_lost(record)
        by_user: dict[str, list[PresenceSocket]] = {}
        for record in records:
            if isinstance(record, PresenceSocket):
                by_user.setdefault(record.user_id, []).append(record)
        lost: dict[str, Any] = {}
        stale: Counter[str] = Counter()  # per lost replica: one log line per fetch, not per record
        for user_id, socket_records in by_user.items():
            fresh = []
            for record in socket_records:
                if record.replica_id not in lost:
                    lost[record.replica_id] = await self._presence.replica_lost_at(record.replica_id)
                lost_at = lost[record.replica_id]
                if lost_at is not None and record.at <= lost_at:
                    stale[record.replica_id] += 1
                    continue
                fresh.append(record)
            if fresh:
                await self._update(user_id, lambda sockets, fresh=fresh: _with_sockets(sockets, fresh), max(r.at for r in fresh))
        for replica_id, count in stale.items():
            log.info("%d stale presence records of lost replica %s skipped", count, replica_id)

    async def apply_replica_lost(self, record: PresenceReplicaLost) -> None:
        """Drop every socket of the lost replica reported before ``lost_at``."""
        await self._presence.mark_replica_lost(record.replica_id, record.lost_at)

        def change(sockets: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [s for s in sockets if not (s["replica_id"] == record.replica_id and s["at"] <= record.lost_at)]

        for doc in await self._presence.not_offline():
            if any(s["replica_id"] == record.replica_id for s in doc.get("sockets", [])):
                await self._update(doc["_id"], change, record.lost_at)

    async def _update(self, user_id: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], at: datetime) -> None:
        """Write ``change`` of the user's sockets; ``at`` is the time of the latest record."""
        remembered = self._written.pop(user_id, None)
        for _ in range(ATTEMPTS):
            doc = remembered or await self._presence.get(user_id)
            remembered = None
            sockets = change(list(doc.get("sockets", [])) if doc else [])
            state = aggregate(sockets)
            previous_seen = doc.get("last_seen") if doc else None
            last_seen = at if previous_seen is None or at > previous_seen else previous_seen
            fields = {"sockets": sockets, "state": state, "last_seen": last_seen}
            entries = []
            if state != (doc.get("state") if doc else "offline"):
                watchers = watchers_of(await self._contacts.of_user(user_id), user_id)
                event = PresenceChanged(user_id=user_id, state=state, last_seen=last_seen, watchers=watchers, changed_at=at)
                entries.append(outbox_entry(event, source=EVENT_SOURCE))
            try:
                await self._presence.write(user_id, doc["version"] if doc else None, fields, entries)
            except VersionConflict:
                continue
            self._written[user_id] = {**fields, "version": doc["version"] + 1 if doc else 1}
            if entries:
                self._on_event_staged()
            return
        raise RuntimeError(f"presence of {user_id} changed concurrently {ATTEMPTS} times")


def _with_sockets(sockets: list[dict[str, Any]], records: list[PresenceSocket]) -> list[dict[str, Any]]:
    """``sockets`` after ``records`` in their order: each replaces its socket's entry, and an
    ``offline`` one drops it."""
    by_sid = {s["sid"]: s for s in sockets}  # in their order; a replaced entry moves to the end
    for record in records:
        by_sid.pop(record.sid, None)
        if record.state != "offline":
            by_sid[record.sid] = {
                "sid": record.sid,
                "replica_id": record.replica_id,
                "state": record.state,
                "meeting_id": record.meeting_id,
                "at": record.at,
            }
    return list(by_sid.values())

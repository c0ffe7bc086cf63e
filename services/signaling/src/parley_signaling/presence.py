"""Presence: what signaling publishes about its sockets, and what it delivers to users.

Publishes (``parley.presence``, through the ordered, retried queue of
:class:`~parley_signaling.messaging.ParticipantEvents`):

- ``presence.socket`` for every change of a local socket, keyed by user id: ``online`` at
  connect, ``in_call`` once a ``join`` is confirmed, ``online`` again after leaving the room,
  ``offline`` at disconnect (also when the replica stops cleanly: it disconnects its sockets).
- ``presence.replica_lost`` for a replica whose sockets cannot report themselves: by the
  fan-out's reporter for a replica that went silent or restarted
  (:attr:`KafkaFanoutManager.on_replica_dropped`), and by every replica for itself when it
  starts (a restarted replica's earlier sockets are gone, even without another replica).

auth aggregates these per user and publishes ``presence.changed`` with the user's watchers;
every replica consumes it and the contact events (no consumer group, from the end) and
delivers ``presence`` and ``contacts-changed`` to the local sockets of the users concerned
through :class:`~parley_signaling.users.UserDelivery` (docs/signaling.md, "Presence").
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from parley_events import ContactEvent, PresenceChanged, PresenceReplicaLost, PresenceSocket, UserUnblocked
from parley_events.schemas import PresenceState
from parley_security import is_guest_id
from parley_signaling.domain.protocol import ContactsChangedEvent, PresenceEvent, dump
from parley_signaling.users import UserDelivery

if TYPE_CHECKING:
    from parley_signaling.participant_events import ParticipantEvents


class SocketPresence:
    """Queues this replica's presence records on ``events`` (ordered, retried)."""

    def __init__(self, events: "ParticipantEvents", replica_id: str) -> None:
        self._events = events
        self._replica_id = replica_id

    def changed(self, sid: str, user_id: str, state: PresenceState, meeting_id: str | None = None) -> None:
        """Socket ``sid`` of ``user_id`` is now ``state`` (``in_call``: in ``meeting_id``'s room).
        A guest's sockets are not reported: a guest has no contacts and no presence."""
        if is_guest_id(user_id):
            return
        self._events.enqueue(
            PresenceSocket(
                user_id=user_id,
                sid=sid,
                replica_id=self._replica_id,
                state=state,
                meeting_id=meeting_id,
                at=datetime.now(UTC),
            )
        )

    def replica_lost(self, replica_id: str, reason: str) -> None:
        """Every socket ``replica_id`` reported until now is offline."""
        self._events.enqueue(PresenceReplicaLost(replica_id=replica_id, reason=reason, lost_at=datetime.now(UTC)))


#: The ``change`` of ``contacts-changed`` for each contact event type.
CHANGES = {
    "parley.auth.contact.invited.v1": "invited",
    "parley.auth.contact.accepted.v1": "accepted",
    "parley.auth.contact.declined.v1": "declined",
    "parley.auth.contact.removed.v1": "removed",
    "parley.auth.user.blocked.v1": "blocked",
    "parley.auth.user.unblocked.v1": "unblocked",
}


class PresenceDelivery:
    """Turns consumed events into socket events for the users concerned, on this replica."""

    def __init__(self, users: UserDelivery) -> None:
        self._users = users

    async def presence_changed(self, event: PresenceChanged) -> None:
        """``presence`` to the user's watchers (contacts, blocks excluded, as auth computed them)."""
        last_seen = event.last_seen.isoformat() if event.last_seen else None
        payload = dump(PresenceEvent(user_id=event.user_id, state=event.state, last_seen=last_seen))
        await self._users.deliver(event.watchers, "presence", payload)

    async def contact_changed(self, event: ContactEvent) -> None:
        """``contacts-changed`` to both users (an unblock only to the one who lifted it)."""
        payload = dump(
            ContactsChangedEvent(
                change=CHANGES[event.event_type],
                contact_id=event.contact_id,
                user_id=event.user_id,
                other_user_id=event.other_user_id,
            )
        )
        users = [event.user_id] if isinstance(event, UserUnblocked) else [event.user_id, event.other_user_id]
        await self._users.deliver(users, "contacts-changed", payload)

"""Direct calls: meetings' ``call.*`` events, delivered as ``call`` to both users' sockets.

Every replica consumes ``parley.calls`` (no consumer group, from the end; see
:mod:`parley_signaling.messaging`) and emits ``call`` to its own sockets of the caller and the
callee through :class:`~parley_signaling.users.UserDelivery`, so each socket of either user,
on any replica, gets it once: the ring reaches every live socket of the callee
(docs/signaling.md, "Calls"). Calls carry no client-sent event: answering is meetings' HTTP
API (``/api/calls``).
"""

from parley_events import CallEvent as CallEventData
from parley_events import CallRinging
from parley_signaling.domain.protocol import CallEvent, dump
from parley_signaling.users import UserDelivery


class CallDelivery:
    """Turns ``call.*`` events into ``call`` socket events for both users, on this replica."""

    def __init__(self, users: UserDelivery) -> None:
        self._users = users

    async def call_changed(self, event: CallEventData) -> None:
        deadline = event.ring_deadline.isoformat() if isinstance(event, CallRinging) else None
        payload = dump(
            CallEvent(
                call_id=event.call_id,
                state=event.state,
                caller_id=event.caller_id,
                caller_name=event.caller_name,
                callee_id=event.callee_id,
                room_id=event.room_id,
                at=event.at.isoformat(),
                ring_deadline=deadline,
            )
        )
        await self._users.deliver([event.callee_id, event.caller_id], "call", payload)

"""The lobby as sockets see it (docs/signaling.md, "Lobby"): meetings holds who waits and
decides nothing here; signaling tells the sockets concerned, from meetings' events.

- A waiting person's socket sends ``lobby-wait`` (validated by
  :class:`~parley_signaling.domain.protocol.LobbyWaitRequest`): this replica remembers that the
  socket waits for that meeting (:attr:`LocalSocket.waiting_for`). Nothing else is checked:
  the socket only ever learns its own user's decision.
- ``lobby.waiting`` / ``admitted`` / ``denied`` / ``left`` (every replica reads them, no
  consumer group): ``lobby`` to this replica's host and co-host sockets in the meeting's room
  (their lobby list; the host's client beeps on ``waiting``), and ``lobby-decision`` to this
  replica's sockets of the decided user that wait for that meeting.
- ``meeting.updated``: ``meeting-updated`` (the admission mode) to this replica's sockets of
  the room, so that the host's and co-hosts' controls agree.

A waiting socket that registers after its decision was published misses it: the client reads
where it stands from meetings (``GET /join``) right after ``lobby-wait`` is acknowledged.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from pydantic import BaseModel

from parley_events import LobbyAdmitted, LobbyDenied, LobbyEvent, LobbyLeft, LobbyWaiting, MeetingUpdated
from parley_signaling.domain.protocol import (
    ErrorCode,
    LobbyDecisionEvent,
    LobbyEvent as LobbyOut,
    LobbyWaitRequest,
    MeetingUpdatedEvent,
    SignalingError,
    dump,
)
from parley_signaling.domain.rooms import RoomService
from parley_signaling.gestures import MODERATORS

Action = Callable[[str, Any], Awaitable[BaseModel | None]]


class LobbyDelivery:
    """``lobby-wait`` of this replica's sockets, and the lobby's events to them."""

    def __init__(self, *, sio: socketio.AsyncServer, rooms: RoomService) -> None:
        self._sio = sio
        self._rooms = rooms

    def routes(self) -> dict[str, tuple[type[BaseModel], Action]]:
        """The client events this module serves, for :func:`parley_signaling.api.socket_events.register`."""
        return {"lobby-wait": (LobbyWaitRequest, self.wait)}

    async def wait(self, sid: str, request: LobbyWaitRequest) -> None:
        """Remember that socket ``sid`` waits for ``request.meeting_id``'s decision. Error:
        ``forbidden`` (a guest, for another meeting than its token's)."""
        socket = self._rooms.socket(sid)
        principal = socket.principal
        if principal.is_guest and principal.guest_meeting_id != request.meeting_id:
            raise SignalingError(ErrorCode.FORBIDDEN, "a guest may only wait for the meeting its guest token was issued for")
        socket.waiting_for = request.meeting_id

    async def lobby_changed(self, event: LobbyEvent) -> None:
        """``lobby`` to the moderators' sockets of the room; ``lobby-decision`` to the waiting ones."""
        action, by, at = _action(event)
        payload = dump(
            LobbyOut(
                meeting_id=event.meeting_id,
                action=action,
                user_id=event.user_id,
                display_name=event.display_name,
                guest=isinstance(event, LobbyWaiting) and event.guest,
                by=by,
                at=at,
            )
        )
        sockets = list(self._rooms.sockets.values())
        moderators = [s.sid for s in sockets if s.meeting_id == event.meeting_id and s.role in MODERATORS]
        if moderators:
            await self._sio.emit("lobby", payload, to=moderators, ignore_queue=True)
        if not isinstance(event, LobbyAdmitted | LobbyDenied):
            return
        waiting = [s for s in sockets if s.waiting_for == event.meeting_id and s.principal.user_id == event.user_id]
        decision = dump(
            LobbyDecisionEvent(
                meeting_id=event.meeting_id, user_id=event.user_id, decision=action, at=event.decided_at
            )
        )
        for socket in waiting:
            socket.waiting_for = None
            await self._sio.emit("lobby-decision", decision, to=socket.sid, ignore_queue=True)

    async def meeting_updated(self, event: MeetingUpdated) -> None:
        """``meeting-updated`` to this replica's sockets of the room (a record from before
        admission modes says nothing of it and is not passed on)."""
        if event.admission is None:
            return
        payload = MeetingUpdatedEvent(
            meeting_id=event.meeting_id, admission=event.admission, allow_guests=event.allow_guests
        )
        await self._sio.emit("meeting-updated", dump(payload), room=event.meeting_id, ignore_queue=True)


def _action(event: LobbyEvent) -> tuple[Any, str | None, Any]:
    """The ``lobby`` action of an event, who decided it, and when."""
    if isinstance(event, LobbyWaiting):
        return "waiting", None, event.requested_at
    if isinstance(event, LobbyAdmitted):
        return "admitted", event.decided_by, event.decided_at
    if isinstance(event, LobbyDenied):
        return "denied", event.decided_by, event.decided_at
    assert isinstance(event, LobbyLeft)
    return "left", None, event.left_at

"""The direct call as meetings sees it (the contact pair: :mod:`parley_events.contact_pairs`)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from parley_events import CallState


class Call(BaseModel):
    """One direct call: ``caller_id`` (display name ``caller_name``) calls ``callee_id``; it
    rings until ``ring_deadline`` (UTC); once accepted, both join the private meeting room
    ``room_id``. ``answered_at`` is set on accept, ``ended_at`` when it left the live states
    (declined, missed, cancelled, ended) and ``ended_by`` names who ended it (a user id;
    ``None`` for a missed call). ``empty_deadline``, while set on an accepted call, is when the
    ring sweep ends it if its room is empty then: the parties' time to get into the room
    (:meth:`parley_meetings.domain.calls.Calls.room_emptied`)."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    caller_id: str
    caller_name: str
    callee_id: str
    callee_name: str | None = None
    room_id: str
    state: CallState
    created_at: datetime
    ring_deadline: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    empty_deadline: datetime | None = None

    def party_of(self, user_id: str) -> str | None:
        """``caller``, ``callee`` or ``None`` (not a party of this call)."""
        if user_id == self.caller_id:
            return "caller"
        if user_id == self.callee_id:
            return "callee"
        return None

"""The direct call and the contact pair as meetings sees them."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from parley_events import CallState


class Call(BaseModel):
    """One direct call: ``caller_id`` (display name ``caller_name``) calls ``callee_id``; it
    rings until ``ring_deadline`` (UTC); once accepted, both join the private meeting room
    ``room_id``. ``answered_at`` is set on accept, ``ended_at`` when it left the live states
    (declined, missed, cancelled, ended) and ``ended_by`` names who ended it (a user id;
    ``None`` for a missed call)."""

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

    def party_of(self, user_id: str) -> str | None:
        """``caller``, ``callee`` or ``None`` (not a party of this call)."""
        if user_id == self.caller_id:
            return "caller"
        if user_id == self.callee_id:
            return "callee"
        return None


class ContactPair(BaseModel):
    """meetings' projection of one pair of users from auth's ``parley.contacts`` events:
    ``accepted`` while they are contacts, ``blocked_by`` the users of the pair who block the
    other."""

    model_config = ConfigDict(frozen=True)

    contact_id: str
    accepted: bool = False
    blocked_by: tuple[str, ...] = ()

    def may_call(self, caller_id: str, callee_id: str) -> bool:
        """True when ``caller_id`` may call ``callee_id``: accepted contacts, nobody blocking."""
        return self.accepted and callee_id not in self.blocked_by and caller_id not in self.blocked_by


def contact_id_of(a: str, b: str) -> str:
    """auth's id of the pair: the two user ids, sorted, joined by ``:``."""
    return ":".join(sorted((a, b)))

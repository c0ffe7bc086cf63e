"""Request and response bodies of ``/api/calls`` (docs/http-api.md, "Calls")."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from parley_events import CallState
from parley_meetings.domain.call_models import Call

#: A user id as auth issues them: 1–100 of ``[A-Za-z0-9_-]``.
UserIdField = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
#: A call id: 1–64 of ``[A-Za-z0-9_-]``.
CallId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class PlaceCallRequest(BaseModel):
    """``{callee_id}``: the contact to call (a user id)."""

    model_config = ConfigDict(extra="forbid")

    callee_id: UserIdField


class CallOut(BaseModel):
    """A call as its two users see it. ``direction`` is ``outgoing`` for the caller and
    ``incoming`` for the callee; ``room_id`` is the meeting both join once it is ``accepted``
    (``/m/{room_id}``); times are UTC; ``callee_name`` is known once the callee answered."""

    call_id: str
    direction: Literal["outgoing", "incoming"]
    state: CallState
    caller_id: str
    caller_name: str
    callee_id: str
    callee_name: str | None
    room_id: str
    created_at: datetime
    ring_deadline: datetime = Field(description="when an unanswered call becomes missed (UTC)")
    answered_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None

    @classmethod
    def of(cls, call: Call, user_id: str) -> "CallOut":
        return cls(direction="outgoing" if call.caller_id == user_id else "incoming",
                   **call.model_dump(exclude={"callee_name", "empty_deadline"}), callee_name=call.callee_name)


class CallList(BaseModel):
    """``{live: [call], history: [call]}``: the caller's ringing or accepted calls (a pending
    call survives a reload), and the others, newest first."""

    live: list[CallOut]
    history: list[CallOut]

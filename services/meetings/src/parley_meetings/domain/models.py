"""The meeting aggregate as the domain sees it."""

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["host", "participant"]
Status = Literal["active", "ended"]


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds (the precision BSON stores)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Participant(BaseModel):
    """A user who holds the invite and joined the meeting (a member, not necessarily in the call)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    display_name: str
    role: Role
    joined_at: datetime


class RosterEntry(BaseModel):
    """One socket in the meeting's call right now, on signaling replica ``replica_id``."""

    model_config = ConfigDict(frozen=True)

    sid: str
    user_id: str
    display_name: str
    replica_id: str
    joined_at: datetime


class MeetingSummary(BaseModel):
    """What anyone holding a meeting's id may read of it: no members, no roster."""

    model_config = ConfigDict(frozen=True)

    meeting_id: str
    title: str
    host_id: str
    scheduled_start: datetime | None = None
    status: Status = "active"
    created_at: datetime
    ended_at: datetime | None = None


class Meeting(MeetingSummary):
    """A meeting: its summary, its members (``participants``) and who is in the call (``roster``)."""

    participants: tuple[Participant, ...] = ()
    roster: tuple[RosterEntry, ...] = ()

    def summary(self) -> MeetingSummary:
        """The meeting without its members and roster."""
        return MeetingSummary(**self.model_dump(exclude={"participants", "roster"}))

    def role_of(self, user_id: str) -> Role | None:
        """The user's role, or ``None`` when the user has not joined."""
        if user_id == self.host_id:
            return "host"
        for participant in self.participants:
            if participant.user_id == user_id:
                return participant.role
        return None

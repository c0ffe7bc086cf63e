"""Request and response bodies of the meetings API (docs/http-api.md)."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, field_validator

from parley_meetings.domain.models import Meeting, Role, RosterEntry, Status

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CreateMeetingRequest(BaseModel):
    """``{title (1–200 characters), scheduled_start? (ISO 8601 with a time zone)}``."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    scheduled_start: AwareDatetime | None = None

    @field_validator("scheduled_start")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value else None


class MeetingOut(BaseModel):
    """A meeting as the API shows it; ``invite_url`` is ``{public base URL}/m/{meeting_id}``."""

    meeting_id: str
    title: str
    host_id: str
    scheduled_start: datetime | None
    status: Status
    created_at: datetime
    ended_at: datetime | None
    invite_url: str

    @classmethod
    def of(cls, meeting: Meeting, public_base_url: str) -> "MeetingOut":
        return cls(
            meeting_id=meeting.meeting_id,
            title=meeting.title,
            host_id=meeting.host_id,
            scheduled_start=meeting.scheduled_start,
            status=meeting.status,
            created_at=meeting.created_at,
            ended_at=meeting.ended_at,
            invite_url=f"{public_base_url.rstrip('/')}/m/{meeting.meeting_id}",
        )


class MeetingList(BaseModel):
    """``{meetings: [meeting]}``, newest first."""

    meetings: list[MeetingOut]


class JoinResult(BaseModel):
    """``{meeting, role}`` after joining."""

    meeting: MeetingOut
    role: Role


class MembershipOut(BaseModel):
    """What chat and signaling ask: may ``user_id`` take part in ``meeting_id``?"""

    meeting_id: str
    user_id: str
    role: Role
    status: Status


class RosterParticipant(BaseModel):
    """One socket in the call: ``{user_id, display_name, sid, replica_id, joined_at}``."""

    user_id: str
    display_name: str
    sid: str
    replica_id: str
    joined_at: datetime

    @classmethod
    def of(cls, entry: RosterEntry) -> "RosterParticipant":
        return cls(**entry.model_dump())


class RosterOut(BaseModel):
    """``{meeting_id, participants: [...]}``: who is in the call now, in joining order."""

    meeting_id: str
    participants: list[RosterParticipant]

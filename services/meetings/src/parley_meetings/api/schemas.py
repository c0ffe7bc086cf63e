"""Request and response bodies of the meetings API (docs/http-api.md)."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from parley_security import NOT_BLANK_PATTERN, trimmed

from parley_meetings.domain.models import MeetingSummary, Role, RosterEntry, Status

#: 1–200 characters, at least one of them not white space (parley_security.WHITE_SPACE, the
#: documented pattern); stored without surrounding white space.
Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="1–200 characters, not only white space; stored trimmed",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    ),
    AfterValidator(trimmed),
]

#: Years a meeting may be scheduled in (as written, before conversion to UTC).
FIRST_YEAR, LAST_YEAR = 2000, 2999


def _text_only(value: object) -> object:
    """A date-time arrives as text: a number (``0``, a Unix time) is not one."""
    if not isinstance(value, str | datetime):
        raise ValueError("scheduled_start must be an RFC 3339 date-time string")
    return value


#: An RFC 3339 date-time string with a time zone (no number, no date alone), in the years
#: 2000–2999: the pattern states the year range in the OpenAPI document.
ScheduledStart = Annotated[
    AwareDatetime,
    BeforeValidator(_text_only),
    Field(
        description="RFC 3339 date-time with a time zone, years 2000–2999; returned in UTC",
        json_schema_extra={"pattern": r"^2[0-9]{3}-"},
        examples=["2030-05-04T09:30:00+02:00"],
    ),
]


class CreateMeetingRequest(BaseModel):
    """``{title (1–200 characters, not blank), scheduled_start? (RFC 3339 with a time zone,
    years 2000–2999)}``."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    scheduled_start: ScheduledStart | None = None

    @field_validator("scheduled_start")
    @classmethod
    def _in_range_to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise ValueError(f"scheduled_start must be in the years {FIRST_YEAR}–{LAST_YEAR}")
        return value.astimezone(UTC)


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
    def of(cls, meeting: MeetingSummary, public_base_url: str) -> "MeetingOut":
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

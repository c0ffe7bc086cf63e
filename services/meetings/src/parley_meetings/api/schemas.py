"""Request and response bodies of the meetings API (docs/http-api.md)."""

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from parley_events import Admission
from parley_security import NOT_BLANK_PATTERN, trimmed

from parley_meetings.domain.models import (
    DEFAULT_DURATION_MINUTES,
    EndReason,
    JoinStatus,
    LobbyEntry,
    MeetingSummary,
    Role,
    RosterEntry,
    Schedule,
    Status,
)

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

#: Years a meeting may be scheduled in, both as written and once converted to UTC.
FIRST_YEAR, LAST_YEAR = 2000, 2999

#: RFC 3339 ``date-time`` (section 5.6) with a year 2000–2999: ``T`` between date and time,
#: seconds always, a fraction optional, then ``Z`` or ``±hh:mm`` (letters in either case).
#: The OpenAPI document states it as the ``pattern``; the field's ranges (month 1–12, hour
#: 0–23, ...) are then checked by the date-time parser.
RFC3339_PATTERN = (
    r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339 = re.compile(RFC3339_PATTERN, re.ASCII)


def _rfc3339_text(value: object) -> object:
    """A date-time arrives as RFC 3339 text: a number or a digit string (a Unix time), a date
    alone, a time without seconds or without an offset, ``+0200`` are not."""
    if isinstance(value, datetime):  # built in code, not read from JSON
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            f"scheduled_start must be an RFC 3339 date-time string with a time zone, in the years "
            f"{FIRST_YEAR}–{LAST_YEAR}, such as 2030-05-04T09:30:00+02:00"
        )
    return value


#: An RFC 3339 date-time string with a time zone (no number, no date alone), in the years
#: 2000–2999: the pattern states the grammar and the written year in the OpenAPI document.
ScheduledStart = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_text),
    Field(
        description=(
            "RFC 3339 date-time with seconds and a time zone (`Z` or `±hh:mm`), years 2000–2999 both as written "
            "and in UTC; returned in UTC"
        ),
        json_schema_extra={"pattern": RFC3339_PATTERN},
        examples=["2030-05-04T09:30:00+02:00"],
    ),
]


def _in_range_to_utc(value: datetime) -> datetime:
    """``value`` in UTC, its year 2000–2999 as written and in UTC (``2999-12-31T23:59:59-14:00``
    is in the year 3000 in UTC, so refused)."""
    utc = value.astimezone(UTC)
    if not (FIRST_YEAR <= value.year <= LAST_YEAR and FIRST_YEAR <= utc.year <= LAST_YEAR):
        raise ValueError(f"scheduled_start must be in the years {FIRST_YEAR}–{LAST_YEAR}, also in UTC")
    return utc


@cache
def iana_zone_names() -> frozenset[str]:
    """The zone names of the IANA tz database (``Europe/Paris``, ``UTC``, ``US/Eastern``), from the
    ``tzdata`` package's list: not the files the host happens to have (``localtime``,
    ``posixrules``, a path)."""
    return frozenset(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())


def _known_zone(value: str) -> str:
    """An IANA time zone name (``Europe/Paris``, ``UTC``; exact case) whose data the server has;
    not a local file (``localtime``) nor a path."""
    if value not in iana_zone_names():
        raise ValueError("time_zone must be an IANA time zone name such as Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from exc
    return value


StartField = Annotated[ScheduledStart, AfterValidator(_in_range_to_utc)]
#: Minutes a scheduled meeting lasts: 5 minutes to 24 hours.
DurationMinutes = Annotated[
    int, Field(strict=True, ge=5, le=24 * 60, description="minutes, 5–1440 (a JSON integer)", examples=[45])
]
#: An IANA time zone name (tz database), validated against the server's zone data.
TimeZoneName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="IANA time zone name (tz database, exact case); not a file such as `localtime`",
        examples=["Europe/Paris"],
    ),
    AfterValidator(_known_zone),
]


#: Bounds of a meeting's empty timeout, in seconds: 5 seconds to 24 hours.
MIN_EMPTY_TIMEOUT_S, MAX_EMPTY_TIMEOUT_S = 5, 24 * 60 * 60
#: Seconds a meeting's room may stay empty (after someone was in it) before it expires.
EmptyTimeoutSeconds = Annotated[
    int,
    Field(
        strict=True,
        ge=MIN_EMPTY_TIMEOUT_S,
        le=MAX_EMPTY_TIMEOUT_S,
        description="seconds, 5–86400: how long the room may stay empty before the meeting expires",
        examples=[600],
    ),
]


#: Whether guests (no account, a display name only) may join; JSON ``true``/``false`` only.
AllowGuests = Annotated[
    bool,
    Field(
        strict=True,
        description="whether someone without an account may join with a guest token (`POST /api/auth/guests`)",
    ),
]


#: Who joins without waiting (docs/http-api.md, "Lobby and moderation").
AdmissionMode = Annotated[
    Admission,
    Field(
        description=(
            "`open`: anyone with the link and an account joins (guests too where `allow_guests`); `lobby`: whoever is "
            "not a participant yet waits until the host or a co-host admits them (guests included); `locked`: nobody "
            "new joins (participants come back)"
        ),
        examples=["lobby"],
    ),
]


class CreateMeetingRequest(BaseModel):
    """``{title (1–200 characters, not blank), scheduled_start? (RFC 3339 with seconds and a time
    zone, years 2000–2999 as written and in UTC, not in the past), duration_minutes? (5–1440,
    an integer; default 60), time_zone? (IANA name, default UTC), empty_timeout_seconds? (5–86400, an
    integer; default the service's, 300), allow_guests? (default false: only signed-in users
    join), admission? (``open``, ``lobby`` or ``locked``; default ``open``)}``;
    ``duration_minutes`` and ``time_zone`` need ``scheduled_start``."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    scheduled_start: StartField | None = None
    duration_minutes: DurationMinutes | None = None
    time_zone: TimeZoneName | None = None
    empty_timeout_seconds: EmptyTimeoutSeconds | None = None
    allow_guests: AllowGuests = False
    admission: AdmissionMode = "open"

    @model_validator(mode="after")
    def _schedule_parts_need_a_start(self) -> "CreateMeetingRequest":
        if self.scheduled_start is None and (self.duration_minutes is not None or self.time_zone is not None):
            raise ValueError("duration_minutes and time_zone need scheduled_start")
        return self

    def schedule(self) -> Schedule | None:
        if self.scheduled_start is None:
            return None
        return Schedule(
            start=self.scheduled_start,
            duration_minutes=self.duration_minutes or DEFAULT_DURATION_MINUTES,
            time_zone=self.time_zone or "UTC",
        )


class RescheduleRequest(BaseModel):
    """``{scheduled_start (as on create), duration_minutes?, time_zone?}``; an omitted duration
    or time zone keeps the meeting's."""

    model_config = ConfigDict(extra="forbid")

    scheduled_start: StartField
    duration_minutes: DurationMinutes | None = None
    time_zone: TimeZoneName | None = None


class UpdateMeetingRequest(BaseModel):
    """``PATCH`` body: ``{empty_timeout_seconds? (5–86400, an integer; null: back to the
    service's default), allow_guests? (true or false), admission? (``open``, ``lobby``,
    ``locked``)}``; an absent field is left as it is. A co-host may change ``admission`` alone."""

    model_config = ConfigDict(extra="forbid")

    empty_timeout_seconds: EmptyTimeoutSeconds | None = None
    allow_guests: AllowGuests = False
    admission: AdmissionMode = "open"


class MeetingOut(BaseModel):
    """A meeting as the API shows it; ``invite_url`` is ``{public base URL}/m/{meeting_id}``.

    A scheduled meeting has ``scheduled_start`` (UTC), ``duration_minutes``, ``time_zone`` and
    ``opens_at`` (when participants may join; its host may join at any time); an unscheduled
    one has ``null`` in all four. ``end_reason`` is ``ended``, ``cancelled`` or ``expired``
    once it ended. ``empty_timeout_seconds``: how long its room may stay empty before it
    expires (the meeting's own, else the service's default).
    """

    meeting_id: str
    title: str
    host_id: str
    scheduled_start: datetime | None
    duration_minutes: int | None
    time_zone: str | None
    opens_at: datetime | None
    status: Status
    end_reason: EndReason | None
    created_at: datetime
    ended_at: datetime | None
    empty_timeout_seconds: int
    invite_url: str
    #: The direct call whose private room this is (``null``: an ordinary meeting); see "Calls".
    call_id: str | None = None
    #: Whether guests may join (docs/http-api.md, "Guests").
    allow_guests: bool = False
    #: Who joins without waiting: ``open``, ``lobby`` or ``locked`` ("Lobby and moderation").
    admission: Admission = "open"
    #: The participants the host made co-hosts.
    cohost_ids: list[str] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        meeting: MeetingSummary,
        public_base_url: str,
        join_lead: timedelta = timedelta(0),
        empty_timeout_s: int = 300,
    ) -> "MeetingOut":
        """``meeting`` as shown; ``join_lead`` is how long before the start it opens,
        ``empty_timeout_s`` the service's default empty timeout."""
        schedule = meeting.schedule
        return cls(
            meeting_id=meeting.meeting_id,
            title=meeting.title,
            host_id=meeting.host_id,
            scheduled_start=meeting.scheduled_start,
            duration_minutes=schedule.duration_minutes if schedule else None,
            time_zone=schedule.time_zone if schedule else None,
            opens_at=meeting.opens_at(join_lead),
            status=meeting.status,
            end_reason=(meeting.end_reason or "ended") if meeting.status == "ended" else None,
            created_at=meeting.created_at,
            ended_at=meeting.ended_at,
            empty_timeout_seconds=meeting.empty_timeout_seconds or empty_timeout_s,
            invite_url=invite_url(meeting.meeting_id, public_base_url),
            call_id=meeting.call_id,
            allow_guests=meeting.allow_guests,
            admission=meeting.admission,
            cohost_ids=list(meeting.cohost_ids),
        )


def invite_url(meeting_id: str, public_base_url: str) -> str:
    """The meeting's invite link: ``{public base URL}/m/{meeting_id}``."""
    return f"{public_base_url.rstrip('/')}/m/{meeting_id}"


class PublicMeetingOut(BaseModel):
    """What anyone holding the link may read without signing in: enough for the meeting's
    page to offer "Join as a guest" (``allow_guests``) or sign-in, and to say when a
    scheduled meeting takes place and opens (what its invitation says). No host or members."""

    meeting_id: str
    title: str
    status: Status
    allow_guests: bool
    #: ``lobby``: a guest waits to be admitted; ``locked``: nobody new joins.
    admission: Admission = "open"
    #: A scheduled meeting's start (UTC), length in minutes, IANA time zone, and when guests
    #: and participants may join (``opens_at``, UTC); all ``null`` for a meeting not scheduled.
    scheduled_start: datetime | None = None
    duration_minutes: int | None = None
    time_zone: str | None = None
    opens_at: datetime | None = None

    @classmethod
    def of(cls, meeting: MeetingSummary, join_lead: timedelta = timedelta(0)) -> "PublicMeetingOut":
        """``meeting`` as anyone sees it; ``join_lead``: how long before its start it opens."""
        return cls(
            meeting_id=meeting.meeting_id,
            title=meeting.title,
            status=meeting.status,
            allow_guests=meeting.allow_guests,
            admission=meeting.admission,
            scheduled_start=meeting.scheduled_start,
            duration_minutes=meeting.duration_minutes,
            time_zone=meeting.time_zone,
            opens_at=meeting.opens_at(join_lead),
        )


class CalendarFeedOut(BaseModel):
    """``{url}``: the private address of the caller's calendar feed (shown once; anyone holding
    it reads the caller's upcoming meetings until it is revoked or replaced)."""

    url: str


class CalendarFeedState(BaseModel):
    """``{active, created_at}``: whether the caller has a calendar feed, and since when (UTC;
    null without one). The address itself is shown only when created."""

    active: bool
    created_at: datetime | None


class MeetingList(BaseModel):
    """``{meetings: [meeting], next_cursor}``, newest first; ``next_cursor`` is the ``cursor``
    of the next page (null on the last page, and when no ``limit`` was asked)."""

    meetings: list[MeetingOut]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` (with the same `limit`) for the next page; null: no more"
    )


class JoinResult(BaseModel):
    """``{meeting, role, status}`` of a join (``POST /join``) or of where the caller stands
    (``GET /join``): ``status`` ``joined`` (a participant, with ``role``), or ``waiting`` in the
    lobby (``POST /join`` answers it with HTTP 202; ``role`` is the one an admission gives)."""

    meeting: MeetingOut
    role: Role
    status: JoinStatus = "joined"


class WaitingPerson(BaseModel):
    """Someone in the lobby: ``{user_id, display_name, guest, requested_at}``."""

    user_id: str
    display_name: str
    guest: bool
    requested_at: datetime

    @classmethod
    def of(cls, entry: LobbyEntry) -> "WaitingPerson":
        return cls(**entry.model_dump())


class LobbyOut(BaseModel):
    """``{meeting_id, admission, waiting: [...]}``: who waits, in arrival order."""

    meeting_id: str
    admission: Admission
    waiting: list[WaitingPerson]


class AdmittedOut(BaseModel):
    """``{admitted}``: how many people "admit all" let in."""

    admitted: int


class RoleRequest(BaseModel):
    """``{role}``: ``cohost`` (admits, denies, mutes, removes participants) or ``participant``."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["cohost", "participant"]


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

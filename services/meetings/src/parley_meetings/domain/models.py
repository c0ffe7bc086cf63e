"""The meeting aggregate as the domain sees it."""

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from parley_events import Admission

#: ``cohost``: a participant the host promoted (admits and denies from the lobby, mutes and
#: removes participants; docs/http-api.md, "Lobby and moderation").
Role = Literal["host", "cohost", "participant"]
Status = Literal["active", "ended"]
#: What a join did: ``joined`` (a participant), or ``waiting`` in the meeting's lobby.
JoinStatus = Literal["joined", "waiting"]
#: Minutes a scheduled meeting lasts when its creator does not say.
DEFAULT_DURATION_MINUTES = 60
#: Why an ended meeting ended: the host ended it, cancelled it before it took place, or its
#: room stayed empty for its empty timeout (``expired``).
EndReason = Literal["ended", "cancelled", "expired"]


def utc_now() -> datetime:
    """Now in UTC, truncated to milliseconds (the precision BSON stores)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Schedule(BaseModel):
    """When a scheduled meeting takes place: ``start`` (UTC), ``duration_minutes`` and the
    IANA ``time_zone`` it is shown in (calendar files carry the start in that zone)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    duration_minutes: int
    time_zone: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)


class Participant(BaseModel):
    """A user who holds the invite and joined the meeting (a member, not necessarily in the call)."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    display_name: str
    role: Role
    joined_at: datetime


class LobbyEntry(BaseModel):
    """Someone waiting in the meeting's lobby for the host or a co-host to admit them."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    display_name: str
    guest: bool = False
    requested_at: datetime


class Barred(BaseModel):
    """Someone whose joins of the meeting are refused: ``removed`` by the host or a co-host
    (after being a participant), or ``denied`` from the lobby; ``by`` decided it ``at``."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    display_name: str
    reason: Literal["removed", "denied"]
    by: str
    at: datetime


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
    #: A scheduled meeting's start (UTC), length in minutes and IANA time zone; all ``None``
    #: for a meeting that is not scheduled.
    scheduled_start: datetime | None = None
    duration_minutes: int | None = None
    time_zone: str | None = None
    #: The calendar ``SEQUENCE`` (RFC 5545 §3.8.7.4): 0, raised by each reschedule and by a
    #: cancellation.
    sequence: int = 0
    status: Status = "active"
    end_reason: EndReason | None = None
    created_at: datetime
    ended_at: datetime | None = None
    #: Seconds the meeting's room may stay empty before the meeting expires; ``None``: the
    #: service's default (``PARLEY_MEETING_EMPTY_TIMEOUT_S``).
    empty_timeout_seconds: int | None = None
    #: The direct call whose private room this meeting is (``None``: an ordinary meeting).
    call_id: str | None = None
    #: Whether someone without an account may join with a guest token (set by its host).
    allow_guests: bool = False
    #: Who joins without waiting: ``open``, ``lobby`` or ``locked`` (a meeting stored before
    #: admission modes is ``open``).
    admission: Admission = "open"
    #: The participants the host made co-hosts, in promotion order.
    cohost_ids: tuple[str, ...] = ()

    @property
    def schedule(self) -> Schedule | None:
        """The schedule of a scheduled meeting (a meeting stored before durations and time
        zones counts as 60 minutes in UTC)."""
        if self.scheduled_start is None:
            return None
        return Schedule(
            start=self.scheduled_start,
            duration_minutes=self.duration_minutes or DEFAULT_DURATION_MINUTES,
            time_zone=self.time_zone or "UTC",
        )

    def opens_at(self, lead: timedelta) -> datetime | None:
        """When participants may join: ``lead`` before the scheduled start (None: any time)."""
        return self.scheduled_start - lead if self.scheduled_start is not None else None


class Meeting(MeetingSummary):
    """A meeting: its summary, its members (``participants``) and who is in the call (``roster``)."""

    participants: tuple[Participant, ...] = ()
    roster: tuple[RosterEntry, ...] = ()
    #: Who waits in the lobby, in arrival order.
    lobby: tuple[LobbyEntry, ...] = ()
    #: Who may not join any more (removed, or denied from the lobby).
    barred: tuple[Barred, ...] = ()
    #: A counter raised by each write of ``participants``, ``lobby``, ``barred`` or
    #: ``cohost_ids``: their compare-and-set token (None: never written since it existed).
    members_rev: int | None = None
    #: Since when the room is empty (the last participant left), and when the meeting expires
    #: unless someone joins first; both ``None`` while someone is in the room, and before
    #: anyone ever was (:mod:`parley_meetings.domain.expiry`).
    empty_since: datetime | None = None
    expires_at: datetime | None = None

    def summary(self) -> MeetingSummary:
        """The meeting without its members and roster."""
        return MeetingSummary(**self.model_dump(include=set(MeetingSummary.model_fields)))

    def role_of(self, user_id: str) -> Role | None:
        """The user's role, or ``None`` when the user has not joined."""
        if user_id == self.host_id:
            return "host"
        for participant in self.participants:
            if participant.user_id == user_id:
                return "cohost" if user_id in self.cohost_ids else participant.role
        return None

    def participant(self, user_id: str) -> Participant | None:
        return next((p for p in self.participants if p.user_id == user_id), None)

    def waiting(self, user_id: str) -> LobbyEntry | None:
        """The user's entry in the lobby, if they wait there."""
        return next((entry for entry in self.lobby if entry.user_id == user_id), None)

    def barred_entry(self, user_id: str) -> Barred | None:
        return next((entry for entry in self.barred if entry.user_id == user_id), None)

"""Guest tokens: someone without an account joins one meeting by a display name.

auth issues a guest token (:meth:`AccessTokens.issue_guest`) only for a meeting whose host
allowed guests. It learns which meetings do from meetings' events, never by asking meetings
per request (services do not call each other on a request's path): :class:`GuestMeetings`
is a local projection of ``meeting.created`` / ``meeting.updated`` (``allow_guests``) and of
the events that close a meeting (``meeting.ended``, ``cancelled``, ``expired``), kept in auth's
database by a consumer of ``parley.meetings`` (:func:`parley_auth.messaging.add_guest_meetings_consumer`).

Each event sets state (``allow_guests`` as it now is, or ``ended``) rather than changing it, so
applying one twice, or redelivered after a crash, gives the same projection; one meeting's
events arrive in order (its id is the Kafka key). ``ended`` is a field of its own, which no
later ``allow_guests`` clears.

What a guest token allows is decided by every service's shared guard
(:mod:`parley_security.dependencies`): its meeting's join, chat and room, and TURN credentials.
"""

from dataclasses import dataclass
from typing import Protocol

from parley_auth.domain.tokens import AccessToken, AccessTokens
from parley_events import MEETING_CLOSED, EventData, MeetingCreated, MeetingUpdated


@dataclass(frozen=True)
class GuestMeeting:
    """What auth knows of a meeting: whether it allows guests, whether it ended."""

    meeting_id: str
    allow_guests: bool
    ended: bool


class GuestMeetingStore(Protocol):
    async def set_allow_guests(self, meeting_id: str, allow_guests: bool) -> None: ...

    async def set_ended(self, meeting_id: str) -> None: ...

    async def get(self, meeting_id: str) -> GuestMeeting | None: ...


class GuestsRefused(Exception):
    """No guest token for this meeting. ``code``: ``meeting_not_found`` (no such meeting known
    to auth, 404), ``guests_not_allowed`` (403) or ``meeting_ended`` (410)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class GuestPass:
    """An issued guest token and the guest's id."""

    token: AccessToken
    guest_id: str


class GuestMeetings:
    """The projection and the issuance of guest tokens."""

    def __init__(self, store: GuestMeetingStore, tokens: AccessTokens, *, ttl_seconds: int) -> None:
        self._store = store
        self._tokens = tokens
        self.ttl_seconds = ttl_seconds

    async def apply(self, data: EventData) -> bool:
        """Apply one event of ``parley.meetings``; False for one the projection ignores."""
        if isinstance(data, MeetingCreated | MeetingUpdated):
            await self._store.set_allow_guests(data.meeting_id, data.allow_guests)
            return True
        if isinstance(data, MEETING_CLOSED):
            await self._store.set_ended(data.meeting_id)
            return True
        return False

    async def issue(self, meeting_id: str, display_name: str) -> GuestPass:
        """A guest token for ``meeting_id``; raises :class:`GuestsRefused`."""
        meeting = await self._store.get(meeting_id)
        if meeting is None:
            raise GuestsRefused("meeting_not_found", "no meeting has this id")
        if meeting.ended:
            raise GuestsRefused("meeting_ended", "the meeting has ended")
        if not meeting.allow_guests:
            raise GuestsRefused("guests_not_allowed", "the host does not allow guests in this meeting; sign in to join")
        token, guest_id = self._tokens.issue_guest(meeting_id, display_name, ttl_seconds=self.ttl_seconds)
        return GuestPass(token=token, guest_id=guest_id)

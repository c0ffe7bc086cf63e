"""Who may use a meeting's chat and notes: its participants, as meetings answers.

Meetings is asked for the caller's own membership with the caller's own access token
(``GET /api/meetings/{meeting_id}/membership``, :class:`parley_security.MeetingsClient`).
The answer is not cached. An ended meeting still counts: chat and notes stay open after it.
"""

from typing import Protocol

from parley_chat.domain.errors import MeetingNotFound, MeetingsUnavailable, NotAParticipant
from parley_security import Membership, MembershipDenied, MembershipUnavailable, Principal


class MembershipChecker(Protocol):
    """What chat needs from :class:`parley_security.MeetingsClient`."""

    async def membership(self, meeting_id: str, token: str) -> Membership: ...


async def require_participant(meetings: MembershipChecker, meeting_id: str, principal: Principal) -> Membership:
    """The caller's membership of ``meeting_id``.

    Raises :class:`MeetingNotFound` (404), :class:`NotAParticipant` (403) or
    :class:`MeetingsUnavailable` (503: meetings could not be asked).
    """
    try:
        return await meetings.membership(meeting_id, principal.token)
    except MembershipDenied as exc:
        if exc.reason == "not_found":
            raise MeetingNotFound(f"no meeting {meeting_id!r}") from exc
        raise NotAParticipant("not a participant of this meeting") from exc
    except MembershipUnavailable as exc:
        raise MeetingsUnavailable("meetings cannot be asked right now; retry") from exc

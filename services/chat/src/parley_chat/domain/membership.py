"""Who may use a meeting's chat and notes: its participants.

The answer comes from the membership projection of meetings' events, or from meetings over
HTTP (with the caller's own access token) for a membership the projection does not know yet
(:class:`parley_security.membership_projection.ProjectedMembership`; docs/http-api.md,
"Membership"). An ended meeting still counts: chat and notes stay open after it.
"""

from typing import Protocol

from parley_chat.domain.errors import MeetingNotFound, MeetingsUnavailable, NotAParticipant
from parley_security import Membership, MembershipDenied, MembershipUnavailable, Principal


class MembershipChecker(Protocol):
    """What chat needs from :class:`~parley_security.membership_projection.ProjectedMembership`."""

    async def membership_of(self, meeting_id: str, principal: Principal) -> Membership: ...


async def require_participant(meetings: MembershipChecker, meeting_id: str, principal: Principal) -> Membership:
    """The caller's membership of ``meeting_id``.

    Raises :class:`MeetingNotFound` (404), :class:`NotAParticipant` (403) or
    :class:`MeetingsUnavailable` (503: meetings could not be asked about a membership the
    projection does not know).
    """
    try:
        return await meetings.membership_of(meeting_id, principal)
    except MembershipDenied as exc:
        if exc.reason == "not_found":
            raise MeetingNotFound(f"no meeting {meeting_id!r}") from exc
        raise NotAParticipant("not a participant of this meeting") from exc
    except MembershipUnavailable as exc:
        raise MeetingsUnavailable("meetings cannot be asked right now; retry") from exc

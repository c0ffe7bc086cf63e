"""Who may use a meeting's chat and notes: its participants, as meetings answers.

Meetings is asked for the caller's own membership with the caller's own access token
(``GET /api/meetings/{meeting_id}/membership``, :class:`parley_security.MeetingsClient`).
A granted answer is remembered for a few seconds (:class:`RecentMemberships`,
``PARLEY_MEMBERSHIP_CACHE_S``); a denial is not. An ended meeting still counts: chat and notes stay open after it.
"""

import asyncio
import time
from collections import OrderedDict
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


class RecentMemberships:
    """A :class:`MembershipChecker` that remembers granted memberships for ``ttl_s`` seconds.

    Keyed by ``(meeting_id, token)``: the same caller with the same access token, so a cached
    answer is never given to anyone else, and never outlives the token's owner asking again
    after ``ttl_s``. Only grants are kept: a denial or an unavailable meetings is asked again
    next time. The price: someone removed from a meeting may keep posting and reading for up to
    ``ttl_s`` seconds. It saves a request to meetings (through Traefik) per post, which a burst
    of chat posts otherwise pays every time. ``max_entries`` bounds the memory (oldest dropped).
    ``ttl_s`` 0 turns it off. Concurrent requests for a key not cached share one question.
    """

    def __init__(self, meetings: MembershipChecker, ttl_s: float, max_entries: int = 10_000, clock=time.monotonic) -> None:
        self._meetings = meetings
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._granted: OrderedDict[tuple[str, str], tuple[float, Membership]] = OrderedDict()
        self._asking: dict[tuple[str, str], asyncio.Future[Membership]] = {}

    async def membership(self, meeting_id: str, token: str) -> Membership:
        key = (meeting_id, token)
        now = self._clock()
        found = self._granted.get(key)
        if found is not None and found[0] > now:
            return found[1]
        if self._ttl_s <= 0:
            return await self._meetings.membership(meeting_id, token)
        asking = self._asking.get(key)
        if asking is None:  # one question per key at a time: a burst waits for the same answer
            asking = self._asking[key] = asyncio.ensure_future(self._meetings.membership(meeting_id, token))
            asking.add_done_callback(lambda _: self._asking.pop(key, None))
        membership = await asyncio.shield(asking)
        self._granted[key] = (now + self._ttl_s, membership)
        self._granted.move_to_end(key)
        while len(self._granted) > self._max_entries:
            self._granted.popitem(last=False)
        return membership

"""Ask meetings whether a signed-in user may take part in a meeting.

Chat and signaling call ``GET {meetings_url}/api/meetings/{meeting_id}/membership`` with the
user's own bearer token. Meetings answers 200 ``{"meeting_id", "user_id", "role", "status"}``
(role ``host``, ``cohost`` or ``participant``; status ``active`` or ``ended``), 403 when the
user has not joined the meeting (``detail.code`` ``removed_from_meeting`` when the host or a
co-host removed them), 404 when there is no such meeting.
"""

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from parley_security.ids import MeetingId

_MEETING_ID = TypeAdapter(MeetingId)


class MembershipDenied(Exception):
    """The user is not a participant of the meeting (``reason``: ``not_found``, ``forbidden``,
    or ``removed``: the host or a co-host removed them from it)."""

    def __init__(self, reason: Literal["not_found", "forbidden", "removed"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


class MembershipUnavailable(Exception):
    """Meetings could not be asked (network error, timeout or a 5xx answer)."""


@dataclass(frozen=True)
class Membership:
    meeting_id: str
    user_id: str
    role: Literal["host", "cohost", "participant"]
    status: Literal["active", "ended"]


class MeetingsClient:
    """HTTP client of the meetings service's membership endpoint."""

    def __init__(self, base_url: str, http: httpx.AsyncClient | None = None) -> None:
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=5.0)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def membership(self, meeting_id: str, token: str) -> Membership:
        """The user's membership; raises :class:`MembershipDenied` or :class:`MembershipUnavailable`."""
        try:
            _MEETING_ID.validate_python(meeting_id)
        except ValidationError as exc:  # no meeting has such an id: nothing to ask
            raise MembershipDenied("not_found", "not a meeting id") from exc
        # The id is one path segment, percent-encoded whatever it holds (RFC 3986 §3.3): a
        # "?", "#", "/" or control character can never change which URL is asked.
        path = f"/api/meetings/{quote(meeting_id, safe='')}/membership"
        try:
            response = await self._http.get(
                path,
                headers={"Authorization": f"Bearer {token}"},
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise MembershipUnavailable(f"meetings unreachable: {exc}") from exc
        if response.status_code == 404:
            raise MembershipDenied("not_found", "meeting not found")
        if response.status_code in (401, 403):
            if _error_code(response) == "removed_from_meeting":
                raise MembershipDenied("removed", "removed from this meeting by its host")
            raise MembershipDenied("forbidden", "not a participant of this meeting")
        if response.status_code != 200:
            raise MembershipUnavailable(f"meetings answered {response.status_code}")
        body = response.json()
        return Membership(
            meeting_id=body["meeting_id"],
            user_id=body["user_id"],
            role=body["role"],
            status=body["status"],
        )


def _error_code(response: httpx.Response) -> str | None:
    """The ``detail.code`` of an error answer, if it has one."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    return detail.get("code") if isinstance(detail, dict) else None

"""``POST /api/auth/guests``: a guest token for one meeting (docs/http-api.md, "Guests").

No credentials: whoever holds a meeting's link may ask, when its host allowed guests. What the
token then allows is decided by every service's shared guard (:mod:`parley_security.dependencies`).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from parley_auth.api.routes import ClientAddress, MetricsDep, ThrottleDep, _error, _no_store, _too_many
from parley_auth.domain.guests import GuestMeetings, GuestsRefused
from parley_auth.throttle import Throttled
from parley_observability import BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import DisplayName, MeetingId

router = APIRouter(prefix="/api/auth", tags=["guests"], responses=error_responses({503: STORE_503}))

#: The HTTP status of each refusal.
REFUSED_STATUS = {
    "meeting_not_found": status.HTTP_404_NOT_FOUND,
    "guests_not_allowed": status.HTTP_403_FORBIDDEN,
    "meeting_ended": status.HTTP_410_GONE,
}


def _guests(request: Request) -> GuestMeetings:
    return request.app.state.guests


GuestsDep = Annotated[GuestMeetings, Depends(_guests)]


class GuestRequest(BaseModel):
    """``{meeting_id, display_name}``: the meeting of the link, and the name others will see."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"meeting_id": "abcd-efgh-ijkl", "display_name": "Grace"}]}
    )

    meeting_id: MeetingId
    display_name: DisplayName


class GuestOut(BaseModel):
    user_id: str = Field(description="`guest-` and random characters; new with each token")
    display_name: str
    meeting_id: str


class GuestToken(BaseModel):
    """A guest's access token: ``access_token`` (a JWT with ``sub`` ``guest-…``, ``role``
    ``guest`` and ``meeting_id``), ``expires_in`` seconds, ``token_type`` ``Bearer``, and
    ``guest`` (``user_id``, ``display_name``, ``meeting_id``). No refresh token."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="seconds until the token expires (`PARLEY_GUEST_TOKEN_TTL_SECONDS`)")
    guest: GuestOut


@router.post(
    "/guests",
    status_code=status.HTTP_201_CREATED,
    response_description="a guest token for the meeting (`Cache-Control: no-store`)",
    responses=error_responses(
        {
            400: BODY_400,
            403: "`guests_not_allowed`: the meeting's host does not allow guests",
            404: "`meeting_not_found`: auth knows no meeting with this id (it learns new meetings from "
            "meetings' events within moments of their creation)",
            410: "`meeting_ended`: the meeting has ended",
            429: "`too_many_attempts`: too many guest tokens from this client address; try again after "
            "`Retry-After` seconds",
        }
    ),
)
async def create_guest(
    body: GuestRequest,
    guests: GuestsDep,
    metrics: MetricsDep,
    throttle: ThrottleDep,
    address: ClientAddress,
    response: Response,
) -> GuestToken:
    """A guest token for a meeting whose host allowed guests; no credentials needed. It is
    valid for that meeting only (its join, its room, its chat) and for TURN credentials,
    for ``PARLEY_GUEST_TOKEN_TTL_SECONDS``; every other route answers it 403
    ``guest_not_allowed``. No refresh token and no session: a guest whose token expired asks
    for a new one. Throttled per client address (429 with ``Retry-After``)."""
    try:
        await throttle.guest_attempt(address)
    except Throttled as exc:
        raise _too_many(exc) from exc
    try:
        issued = await guests.issue(body.meeting_id, body.display_name)
    except GuestsRefused as exc:
        metrics.guests.labels(exc.code).inc()
        raise _error(REFUSED_STATUS[exc.code], exc.code, str(exc)) from exc
    metrics.guests.labels("issued").inc()
    _no_store(response)
    return GuestToken(
        access_token=issued.token.token,
        expires_in=issued.token.expires_in,
        guest=GuestOut(user_id=issued.guest_id, display_name=body.display_name, meeting_id=body.meeting_id),
    )

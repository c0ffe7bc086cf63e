"""Who calls: a user with an access token, or an application with an API key, and the scope a
route needs (docs/http-api.md, "API keys").

Credentials, in this order: ``X-API-Key: parley_sk_…``; ``Authorization: Bearer parley_sk_…``
(an API key); ``Authorization: Bearer <access token>`` (a user, every scope). A key acts as its
owner (the route sees the owner's user id and name) and only within its scopes.

Errors: 401 ``invalid_api_key`` (malformed, unknown or revoked key) or ``unauthorized`` (no or
a bad access token), with ``WWW-Authenticate: Bearer``; 403 ``insufficient_scope`` with
``WWW-Authenticate: Bearer error="insufficient_scope", scope="<scope>"`` (RFC 6750 §3.1).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from parley_meetings.domain.api_keys import ApiKeyAuthenticator, InvalidApiKey
from parley_security import Principal, current_principal, meeting_principal
from parley_security.api_keys import PREFIX, Scope

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerTokenOrApiKey",
    description="a user's access token (every scope), or an API key `parley_sk_…` (its scopes)",
)
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="an API key `parley_sk_…` created at `POST /api/auth/keys`; acts for its owner within its scopes",
)

INVALID_KEY_401 = "`invalid_api_key`: the API key is malformed, unknown or revoked; `unauthorized`: the bearer token is missing, malformed, expired or not signed by auth"
SCOPE_403 = (
    "`insufficient_scope`: the API key lacks the scope this operation needs; `guest_not_allowed`: a guest "
    "token (guests may only join their own meeting)"
)


def _key_refused(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"code": "invalid_api_key", "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )


def requires(scope: Scope, *, guests: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the calling user (a key's owner), when the call may use ``scope``; with
    ``guests``, also a guest of the route's ``{meeting_id}`` (parley_security's
    :func:`~parley_security.meeting_principal`; every other route refuses guests, 403
    ``guest_not_allowed``)."""

    async def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key)],
    ) -> Principal:
        if api_key is None and credentials is not None and credentials.credentials.startswith(PREFIX):
            api_key = credentials.credentials
        if api_key is None:
            if guests:
                return await meeting_principal(request, credentials)
            return await current_principal(request, credentials)
        authenticator: ApiKeyAuthenticator = request.app.state.api_key_authenticator
        try:
            grant = await authenticator.authenticate(api_key)
        except InvalidApiKey as exc:
            raise _key_refused(str(exc)) from exc
        if scope not in grant.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail={"code": "insufficient_scope", "message": f"this API key lacks the scope {scope}"},
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        request.state.api_key_id = grant.key_id
        return Principal(user_id=grant.owner_id, display_name=grant.owner_name, token="")

    return caller


#: The caller of a route that reads meetings (a key needs ``meetings:read``).
Reader = Annotated[Principal, Depends(requires("meetings:read"))]
#: The caller of a route that changes meetings (a key needs ``meetings:write``).
Writer = Annotated[Principal, Depends(requires("meetings:write"))]
#: :data:`Reader` or :data:`Writer`, or a guest of the route's meeting (join and membership only).
GuestOrReader = Annotated[Principal, Depends(requires("meetings:read", guests=True))]
GuestOrWriter = Annotated[Principal, Depends(requires("meetings:write", guests=True))]

"""Who calls: a user with an access token, or an application with an API key, and the scope a
route needs (docs/http-api.md, "API keys").

Credentials, in this order: ``X-API-Key: parley_sk_…``; ``Authorization: Bearer parley_sk_…``
(an API key); ``Authorization: Bearer <access token>`` (a user, every scope). A key acts as its
owner (the route sees the owner's user id and name) and only within its scopes.

Errors: 401 ``invalid_api_key`` (malformed, unknown or revoked key) or ``unauthorized`` (no or
a bad access token), with ``WWW-Authenticate: Bearer``; 403 ``insufficient_scope`` with
``WWW-Authenticate: Bearer error="insufficient_scope", scope="<scope>"`` (RFC 6750 §3.1).
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from parley_meetings.domain.api_keys import ApiKeyAuthenticator, InvalidApiKey
from parley_security import Principal, admit_user, admit_user_or_meeting_guest, bearer_credentials, verified_principal
from parley_security.api_keys import PREFIX, Scope

#: The OpenAPI name of the scheme every route of a caller declares (``Authorization: Bearer``).
BEARER_SCHEME = "BearerTokenOrApiKey"
#: The OpenAPI name and definition of the ``X-API-Key`` header, declared beside it by
#: :func:`document_api_key_header`.
API_KEY_SCHEME = "ApiKey"
API_KEY_HEADER = {
    "type": "apiKey",
    "in": "header",
    "name": "X-API-Key",
    "description": "an API key `parley_sk_…` created at `POST /api/auth/keys`; acts for its owner within its scopes",
}

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


class Caller(SecurityBase):
    """A dependency: the calling user (a key's owner), when the call may use ``scope``; with
    ``guests``, also a guest of the route's ``{meeting_id}`` (parley_security's
    :func:`~parley_security.admit_user_or_meeting_guest`; every other route refuses guests,
    403 ``guest_not_allowed``).

    One node of FastAPI's dependency graph that reads both headers itself (each node costs
    FastAPI a resolution on every request: parley_security.dependencies). FastAPI declares one
    scheme per node, :data:`BEARER_SCHEME`; :func:`document_api_key_header` adds the other."""

    def __init__(self, scope: Scope, *, guests: bool = False) -> None:
        self.model = HTTPBearerModel(
            description="a user's access token (every scope), or an API key `parley_sk_…` (its scopes)"
        )
        self.scheme_name = BEARER_SCHEME
        self.scope = scope
        self.admit = admit_user_or_meeting_guest if guests else admit_user
        #: some guest is refused (every one, or one of another meeting): declare_guest_refusals
        self.refuses_guests = True

    async def __call__(self, request: Request) -> Principal:
        token = bearer_credentials(request)
        api_key = request.headers.get("x-api-key") or None
        if api_key is None and token is not None and token.startswith(PREFIX):
            api_key = token
        if api_key is None:
            return self.admit(await verified_principal(request, token), request)
        authenticator: ApiKeyAuthenticator = request.app.state.api_key_authenticator
        try:
            grant = await authenticator.authenticate(api_key)
        except InvalidApiKey as exc:
            raise _key_refused(str(exc)) from exc
        if self.scope not in grant.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail={"code": "insufficient_scope", "message": f"this API key lacks the scope {self.scope}"},
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{self.scope}"'},
            )
        request.state.api_key_id = grant.key_id
        return Principal(user_id=grant.owner_id, display_name=grant.owner_name, token="")


def document_api_key_header(app: FastAPI) -> None:
    """Declare ``X-API-Key`` in ``app``'s OpenAPI document: as the component
    :data:`API_KEY_SCHEME`, and as an alternative requirement of every operation that declares
    :data:`BEARER_SCHEME` (OpenAPI 3.1, Security Requirement Object: the operation's
    ``security`` list is OR'd, any one of them suffices)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            document["components"]["securitySchemes"][API_KEY_SCHEME] = API_KEY_HEADER
            for item in document["paths"].values():
                for operation in item.values():
                    if {BEARER_SCHEME: []} in operation.get("security", []):
                        operation["security"].append({API_KEY_SCHEME: []})
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


#: The caller of a route that reads meetings (a key needs ``meetings:read``).
Reader = Annotated[Principal, Depends(Caller("meetings:read"))]
#: The caller of a route that changes meetings (a key needs ``meetings:write``).
Writer = Annotated[Principal, Depends(Caller("meetings:write"))]
#: :data:`Reader` or :data:`Writer`, or a guest of the route's meeting (join and membership only).
GuestOrReader = Annotated[Principal, Depends(Caller("meetings:read", guests=True))]
GuestOrWriter = Annotated[Principal, Depends(Caller("meetings:write", guests=True))]

"""``/api/auth/keys`` routes: the signed-in user's API keys (docs/http-api.md, "API keys").

Only a user's access token reaches these routes (an API key cannot create, list or revoke
keys). Errors: ``{"detail": {"code", "message"}}``.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from parley_auth.domain.api_keys import MAX_ACTIVE_KEYS, ApiKey, ApiKeyError, ApiKeys
from parley_observability import BEARER_401, BODY_400, error_responses
from parley_observability.store import STORE_503
from parley_security import NOT_BLANK_PATTERN, CurrentPrincipal, trimmed
from parley_security.api_keys import Scope

router = APIRouter(prefix="/api/auth/keys", tags=["api keys"], responses=error_responses({401: BEARER_401, 503: STORE_503}))

KeyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="the key's id (`key_…`)")]


def _api_keys(request: Request) -> ApiKeys:
    return request.app.state.api_keys


ApiKeysDep = Annotated[ApiKeys, Depends(_api_keys)]

_EXAMPLE_KEY = {
    "key_id": "key_3kTq9vXbLm2YpQ7w",
    "name": "CRM integration",
    "scopes": ["meetings:read", "meetings:write"],
    "shown": "parley_sk_7QxA",
    "created_at": "2026-12-02T09:00:00Z",
    "last_used_at": None,
    "revoked_at": None,
}


class CreateKeyRequest(BaseModel):
    """``{name, scopes}``: a name to recognise the key by, and what it may do."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "CRM integration", "scopes": ["meetings:read", "meetings:write"]}]},
    )

    name: Annotated[
        str,
        Field(min_length=1, max_length=100, description="1–100 characters, not only white space; stored trimmed", json_schema_extra={"pattern": NOT_BLANK_PATTERN}),
        AfterValidator(trimmed),
    ]
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=3,
        description="at least one of `meetings:read`, `meetings:write`, `webhooks:manage` (repeats are dropped)",
    )


class ApiKeyOut(BaseModel):
    """A key as its owner sees it; ``shown`` is the secret's first characters, to tell keys
    apart (never usable); ``last_used_at`` is updated at most once a minute; ``revoked_at``
    null while the key works."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_KEY]})

    key_id: str
    name: str
    scopes: list[str]
    shown: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> "ApiKeyOut":
        return cls(
            key_id=key.key_id,
            name=key.name,
            scopes=list(key.scopes),
            shown=key.shown,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class CreatedKeyOut(ApiKeyOut):
    """The new key and its ``secret``: shown this once, auth keeps only its hash. Send it as
    ``X-API-Key: <secret>`` or ``Authorization: Bearer <secret>``."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE_KEY, "secret": "parley_sk_7QxA…(59 characters in all)"}]}
    )

    secret: str = Field(description="`parley_sk_` + 49 base62 characters (the last 6 a CRC32 checksum)")


class ApiKeyList(BaseModel):
    """``{keys: [key]}``: the caller's keys, newest first, revoked ones included."""

    keys: list[ApiKeyOut]


def _http(exc: ApiKeyError) -> HTTPException:
    return HTTPException(exc.status, detail={"code": exc.code, "message": exc.message})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_description="the key with its secret, shown once (`Cache-Control: no-store`)",
    responses=error_responses({400: BODY_400, 409: f"`too_many_keys`: the caller has {MAX_ACTIVE_KEYS} keys that are not revoked"}),
)
async def create_key(body: CreateKeyRequest, principal: CurrentPrincipal, keys: ApiKeysDep, response: Response) -> CreatedKeyOut:
    """Create an API key that acts for the caller within ``scopes``. The answer holds its
    secret, the only time it is shown; services accept the key once they received its
    `api_key.created` event (usually within a second)."""
    try:
        key, secret = await keys.create(principal.user_id, principal.display_name, body.name, body.scopes)
    except ApiKeyError as exc:
        raise _http(exc) from exc
    response.headers["Cache-Control"] = "no-store"
    return CreatedKeyOut(**ApiKeyOut.of(key).model_dump(), secret=secret)


@router.get("", response_description="the caller's keys, newest first")
async def list_keys(principal: CurrentPrincipal, keys: ApiKeysDep) -> ApiKeyList:
    """The caller's API keys (never their secrets), revoked ones included."""
    return ApiKeyList(keys=[ApiKeyOut.of(key) for key in await keys.list_for(principal.user_id)])


@router.delete(
    "/{key_id}",
    response_description="the key, revoked",
    responses=error_responses({404: "`api_key_not_found`: the caller has no key with this id"}),
)
async def revoke_key(key_id: KeyId, principal: CurrentPrincipal, keys: ApiKeysDep) -> ApiKeyOut:
    """Revoke a key: services refuse it (401) as soon as its `api_key.revoked` event reaches
    them. Revoking again changes nothing."""
    try:
        return ApiKeyOut.of(await keys.revoke(principal.user_id, key_id))
    except ApiKeyError as exc:
        raise _http(exc) from exc

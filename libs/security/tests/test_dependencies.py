"""The bearer dependencies: the documented 401s, and no thread-pool hop on the way."""

import httpx
import pytest
from fastapi import FastAPI

from parley_observability import install_api_error_handler
from parley_security import CurrentPrincipal
from parley_testing import BAD_AUTHORIZATIONS, TokenIssuer, bad_authorization


def _app(issuer: TokenIssuer) -> FastAPI:
    app = FastAPI()
    app.state.verifier = issuer.verifier()
    install_api_error_handler(app)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"user_id": principal.user_id, "display_name": principal.display_name}

    return app


@pytest.fixture
def no_thread_pool(monkeypatch):
    """FastAPI runs a plain ``def`` dependency through ``run_in_threadpool``: make that fail."""
    import fastapi.dependencies.utils as utils

    async def refuse(*args, **kwargs):
        raise AssertionError("a dependency went through the thread pool")

    monkeypatch.setattr(utils, "run_in_threadpool", refuse)


async def test_a_valid_token_names_its_user_without_a_thread_pool_hop(no_thread_pool) -> None:
    issuer = TokenIssuer()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_app(issuer)), base_url="http://t") as client:
        answer = await client.get("/me", headers={"Authorization": f"Bearer {issuer.issue('u-1', 'Ada')}"})
    assert answer.status_code == 200
    assert answer.json() == {"user_id": "u-1", "display_name": "Ada"}


@pytest.mark.parametrize("case", BAD_AUTHORIZATIONS)
async def test_bad_tokens_get_the_documented_401(no_thread_pool, case: str) -> None:
    issuer = TokenIssuer()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_app(issuer)), base_url="http://t") as client:
        answer = await client.get("/me", headers=bad_authorization(issuer, case, "u-1"))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.json()["detail"]["code"] == "unauthorized"
    assert answer.json()["detail"]["message"]


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("e7cifQ.e30.c2ln", "the bearer token is malformed"),  # a header that is not UTF-8
        ("not-a-jwt", "the bearer token is malformed"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "the bearer token is not signed with the accepted algorithm (EdDSA)"),
    ],
)
async def test_a_401_says_a_fixed_sentence_not_the_librarys_words(no_thread_pool, token: str, message: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_app(TokenIssuer())), base_url="http://t") as client:
        answer = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json()["detail"] == {"code": "unauthorized", "message": message}


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc.def", "abc.def"), ("bearer abc.def", "abc.def"), ("BEARER abc", "abc"), ("Basic abc", None),
     ("Bearer", None), ("Bearer ", None), ("", None), (None, None)],
)
def test_the_bearer_token_is_read_as_rfc_6750_says(header: str | None, token: str | None) -> None:
    from starlette.requests import Request

    from parley_security import bearer_credentials

    headers = [] if header is None else [(b"authorization", header.encode())]
    assert bearer_credentials(Request({"type": "http", "headers": headers})) == token


def test_the_principal_is_one_dependency_declared_as_the_http_bearer_scheme() -> None:
    document = _app(TokenIssuer()).openapi()
    assert document["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "scheme": "bearer"}}
    assert document["paths"]["/me"]["get"]["security"] == [{"HTTPBearer": []}]
    route = next(r for r in _app(TokenIssuer()).routes if getattr(r, "path", "") == "/me")
    assert len(route.dependant.dependencies) == 1 and route.dependant.dependencies[0].dependencies == []


def test_the_routes_that_refuse_guests_declare_their_403_in_the_openapi_document() -> None:
    from fastapi import APIRouter

    from parley_observability import error_responses
    from parley_security import GUEST_403, MeetingPrincipal, PrincipalOrGuest, declare_guest_refusals

    router = APIRouter()

    @router.get("/users-only")
    async def users_only(principal: CurrentPrincipal) -> None: ...

    @router.get("/meetings/{meeting_id}/chat")
    async def meeting_chat(meeting_id: str, principal: MeetingPrincipal) -> None: ...

    @router.get("/anyone")
    async def anyone(principal: PrincipalOrGuest) -> None: ...

    @router.get("/declared", responses=error_responses({403: "`not_host`: only the host"}))
    async def declared(principal: CurrentPrincipal) -> None: ...

    declare_guest_refusals(router)
    declare_guest_refusals(router)  # idempotent
    app = FastAPI()
    app.include_router(router)
    paths = app.openapi()["paths"]
    forbidden = {path: ops["get"]["responses"].get("403", {}).get("description") for path, ops in paths.items()}
    assert forbidden == {
        "/users-only": GUEST_403,
        "/meetings/{meeting_id}/chat": GUEST_403,
        "/anyone": None,
        "/declared": f"`not_host`: only the host; {GUEST_403}",
    }
    assert paths["/users-only"]["get"]["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }

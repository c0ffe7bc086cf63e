"""The revoked-session projection: tokens of a revoked session are refused (401), others not."""

import httpx
from fastapi import FastAPI

from parley_observability import install_api_error_handler
from parley_security import CurrentPrincipal, RevokedSessions
from parley_testing import TokenIssuer


def _app(issuer: TokenIssuer, revoked: RevokedSessions) -> FastAPI:
    app = FastAPI()
    app.state.verifier = issuer.verifier()
    app.state.revoked_sessions = revoked
    install_api_error_handler(app)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str | None]:
        return {"user_id": principal.user_id, "session_id": principal.session_id}

    return app


async def test_a_token_of_a_revoked_session_is_refused_and_others_are_not() -> None:
    issuer, revoked = TokenIssuer(), RevokedSessions()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(_app(issuer, revoked)), base_url="http://t") as client:

        async def me(token: str) -> httpx.Response:
            return await client.get("/me", headers={"Authorization": f"Bearer {token}"})

        laptop, phone = issuer.issue("u-1", sid="laptop"), issuer.issue("u-1", sid="phone")
        assert (await me(laptop)).json() == {"user_id": "u-1", "session_id": "laptop"}
        revoked.revoke("laptop")
        refused = await me(laptop)
        assert refused.status_code == 401
        assert refused.json()["detail"]["code"] == "unauthorized"
        assert "session" in refused.json()["detail"]["message"]
        assert (await me(phone)).status_code == 200
        assert (await me(issuer.issue("u-1"))).status_code == 200  # a token from before sessions


def test_revocations_are_forgotten_after_the_longest_token_lifetime() -> None:
    now = [1_000_000.0]
    revoked = RevokedSessions(keep_s=3600, clock=lambda: now[0])
    revoked.revoke("old")
    now[0] += 1800
    revoked.revoke("newer")
    assert "old" in revoked and "newer" in revoked
    now[0] += 1801
    revoked.revoke("newest")  # pruning happens on insert
    assert "old" not in revoked and "newer" in revoked and len(revoked) == 2

"""``GET /api/turn/credentials``: TURN REST API credentials for the signed-in user."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from parley_observability import BEARER_401, error_responses
from parley_security import PrincipalOrGuest
from parley_turn_config.api.schemas import IceConfiguration, IceServer
from parley_turn_config.config import Settings
from parley_turn_config.domain.credentials import issue_credential
from parley_turn_config.metrics import TurnMetrics

router = APIRouter(prefix="/api/turn", tags=["turn"])


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _metrics(request: Request) -> TurnMetrics:
    return request.app.state.turn_metrics


AppSettings = Annotated[Settings, Depends(_settings)]
Metrics = Annotated[TurnMetrics, Depends(_metrics)]


@router.get(
    "/credentials",
    response_model=IceConfiguration,
    response_model_exclude_none=True,
    response_description="ICE servers for RTCPeerConnection, with a TURN credential valid `ttl` seconds",
    responses=error_responses({401: BEARER_401}),
)
async def credentials(
    principal: PrincipalOrGuest, settings: AppSettings, metrics: Metrics, response: Response
) -> IceConfiguration:
    """ICE servers for the caller: STUN URLs, and TURN URLs with a credential valid ``ttl`` seconds.

    The answer is ``Cache-Control: no-store``: it holds a secret derived per user. A guest
    token gets credentials too (a guest needs media as much as anyone; its id is the
    username's user part, ``guest-…``).
    """
    credential = issue_credential(
        settings.turn_secret.get_secret_value(),
        principal.user_id,
        ttl_seconds=settings.turn_ttl_seconds,
        now=datetime.now(UTC),
    )
    servers = [IceServer(urls=settings.stun_urls)] if settings.stun_urls else []
    servers.append(
        IceServer(urls=settings.turn_urls, username=credential.username, credential=credential.credential)
    )
    metrics.credentials_issued.inc()
    response.headers["Cache-Control"] = "no-store"
    return IceConfiguration(ice_servers=servers, ttl=credential.ttl_seconds, expires_at=credential.expires_at)

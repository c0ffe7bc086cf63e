"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer)."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

#: A named dependency check: an async callable that raises when the dependency is unusable.
ReadinessCheck = Callable[[], Awaitable[object]]

#: Seconds one readiness check may take before it counts as failed.
CHECK_TIMEOUT_SECONDS = 2.0


class Alive(BaseModel):
    """``{"status": "ok"}``: the process serves requests."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """``{"status", "checks": {name: "ok" | "error: …"}}``."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


def health_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    """Build the health routes.

    ``GET /healthz`` → 200 ``{"status": "ok"}`` while the process serves requests.
    ``GET /readyz`` → 200 ``{"status": "ok", "checks": {name: "ok"}}`` when every check
    passes, else 503 with ``"status": "unavailable"`` and the failing checks' errors.
    """
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Alive)
    async def healthz() -> dict[str, str]:
        """Liveness: 200 while the process serves requests."""
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "a dependency does not answer (named in `checks`)"}},
    )
    async def readyz() -> JSONResponse:
        """Readiness: 200 when every dependency answers, else 503 naming the failing ones."""
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
                results[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                results[name] = f"error: {type(exc).__name__}: {exc}"
        ok = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": results},
            status_code=200 if ok else 503,
        )

    return router

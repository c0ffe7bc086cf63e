"""The bare FastAPI peer of ``bench/rest.py``: ``GET /api/meetings/{meeting_id}`` with no
authentication, no database and no middleware, answering a constant meeting of the same shape
as Parley's ``MeetingOut`` (validated through the same kind of Pydantic response model).

Run by the benchmark under uvicorn with meetings' own options
(``deploy/local/components.py: uvicorn_options``):
``uvicorn --factory peers.bare_fastapi:create_app --app-dir bench``.
"""

from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel

CREATED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class MeetingOut(BaseModel):
    """The shape of Parley's ``GET /api/meetings/{id}`` answer."""

    meeting_id: str
    title: str
    host_id: str
    scheduled_start: datetime | None
    status: str
    created_at: datetime
    ended_at: datetime | None
    invite_url: str


def create_app() -> FastAPI:
    """The peer app: one route, FastAPI's defaults."""
    app = FastAPI(title="bare FastAPI peer")

    @app.get("/api/meetings/{meeting_id}")
    async def get_meeting(meeting_id: str) -> MeetingOut:
        return MeetingOut(
            meeting_id=meeting_id,
            title="Benchmark meeting",
            host_id="u-bench",
            scheduled_start=None,
            status="active",
            created_at=CREATED_AT,
            ended_at=None,
            invite_url=f"http://127.0.0.1/m/{meeting_id}",
        )

    return app

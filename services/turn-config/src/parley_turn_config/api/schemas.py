"""Response bodies of ``/api/turn`` (docs/http-api.md, section turn-config)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class IceServer(BaseModel):
    """One ``RTCIceServer`` (W3C WebRTC §4.2.4): STUN entries carry no username or credential."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceConfiguration(BaseModel):
    """``{iceServers, ttl (seconds), expires_at (ISO 8601, UTC)}``, ready for ``RTCPeerConnection``."""

    model_config = ConfigDict(populate_by_name=True)

    ice_servers: list[IceServer] = Field(alias="iceServers")
    ttl: int
    expires_at: datetime

"""Settings of the signaling service: ``PARLEY_*`` environment variables, read in ``create_app``."""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from parley_settings import JwtSettings, KafkaSettings, MeetingsClientSettings, ServiceSettings
from parley_signaling.recycle import RecyclePolicy
from parley_signaling.transport import SID_PREFIX_PATTERN


class Settings(ServiceSettings, KafkaSettings, JwtSettings, MeetingsClientSettings):
    """Everything signaling reads.

    ``allowed_origins`` (``PARLEY_ALLOWED_ORIGINS``, a JSON list such as
    ``["https://parley.example"]``): browser origins allowed to connect. A request without an
    ``Origin`` header (a non-browser client) is not subject to it.
    The ``signaling_*`` fields are the per-socket limits and the replica directory's timing
    (see docs/signaling.md).
    """

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    allowed_origins: list[str] = Field(default_factory=list)
    #: Token bucket of every socket: sustained inbound events per second, and burst size.
    signaling_rate_per_second: float = Field(50.0, gt=0)
    signaling_rate_burst: int = Field(100, ge=1)
    #: Sockets one user (or guest) may hold on one replica at once (tabs, devices, a socket
    #: not yet timed out after a reconnect); one more is refused with ``too_many_sockets``.
    signaling_max_sockets_per_user: int = Field(32, ge=1)
    #: Token bucket shared by all of one user's sockets on one replica, besides each socket's.
    signaling_user_rate_per_second: float = Field(100.0, gt=0)
    signaling_user_rate_burst: int = Field(200, ge=1)
    #: Token bucket of every socket's hands and reactions (``raise-hand``, ``lower-hand``,
    #: ``reaction``), besides the general one: sustained per second, and burst size.
    signaling_gesture_rate_per_second: float = Field(1.0, gt=0)
    signaling_gesture_burst: int = Field(5, ge=1)
    #: Largest SDP accepted in ``offer``/``answer``, in bytes (UTF-8).
    signaling_max_sdp_bytes: int = Field(64 * 1024, ge=1024)
    #: Seconds a ``join`` waits for its announcement to come back through Kafka.
    signaling_join_timeout_seconds: float = Field(5.0, gt=0)
    #: Engine.IO: seconds between the server's PINGs to a socket, and seconds it waits for the
    #: PONG before closing the socket (socket.io's defaults: 25 and 20).
    signaling_ping_interval_seconds: float = Field(25.0, gt=0)
    signaling_ping_timeout_seconds: float = Field(20.0, gt=0)
    #: Seconds an Engine.IO session may stay without a socket.io connection (from its opening,
    #: or from its client's DISCONNECT) before it is closed; socket.io's ``connectTimeout``,
    #: whose default is 45 s: a client connects at once, and a hostile one holds less.
    signaling_connect_timeout_seconds: float = Field(10.0, gt=0)
    #: Bytes of packets that may wait to be sent to one socket (its client is not reading
    #: them, or not fast enough) before the socket is dropped as a slow consumer; at least
    #: 256 KiB, over the largest packet.
    signaling_max_queued_bytes: int = Field(1024 * 1024, ge=256 * 1024)
    #: Seconds between replica heartbeats on the fan-out topic.
    signaling_heartbeat_seconds: float = Field(1.0, gt=0)
    #: Seconds another replica may stay silent, while this replica hears its own heartbeats,
    #: before it is presumed dead (its sockets leave their rooms and the roster); at least 3
    #: heartbeat intervals. The bus counts as lost after half of it without an own heartbeat.
    signaling_replica_timeout_seconds: float = Field(5.0, gt=0)
    #: Start of every session id this replica makes (e.g. ``s1_``), by which a proxy routes a
    #: session's requests to this replica (docs/signaling.md, "Transport"); unique per replica.
    signaling_sid_prefix: str = Field("", pattern=SID_PREFIX_PATTERN)
    #: Seconds a resumable participant whose socket dropped is held for a new socket to resume
    #: it (``join`` ``resume``), also after its replica stopped cleanly (docs/signaling.md,
    #: "Resumable participants").
    signaling_resume_seconds: float = Field(10.0, ge=0)
    #: Seconds a draining replica (SIGTERM, or ``/drain`` from Kubernetes' preStop) waits for
    #: its resumable participants to move to another replica before it stops.
    signaling_drain_seconds: float = Field(20.0, ge=0)
    #: A new process after a burst of sockets (docs/signaling.md, "Memory after a burst";
    #: :mod:`parley_signaling.recycle`): once a burst of at least ``burst_sockets`` has fallen to
    #: at most ``max_sockets``, and RSS stays more than ``excess_mib`` MiB above what it was
    #: before it for ``wait_seconds``, the replica drains and stops (SIGTERM) for its supervisor
    #: to start it again; only after ``min_uptime_seconds`` and while another replica is alive.
    #: ``excess_mib`` 0: never.
    signaling_recycle_excess_mib: float = Field(64.0, ge=0)
    signaling_recycle_burst_sockets: int = Field(1000, ge=1)
    signaling_recycle_max_sockets: int = Field(0, ge=0)
    signaling_recycle_wait_seconds: float = Field(30.0, ge=0)
    signaling_recycle_min_uptime_seconds: float = Field(600.0, ge=0)
    #: Address this replica listens on for relays from the other replicas, and tells them
    #: (docs/signaling.md, "Replica link"); empty: no link, relays cross Kafka. The port: 0 for
    #: any free one.
    signaling_link_host: str = ""
    signaling_link_port: int = Field(0, ge=0, le=65535)
    #: Seconds between ``session.active`` heartbeats of each live session (auth renews the
    #: session's single-session lease on them: keep it well under PARLEY_SESSION_LEASE_SECONDS).
    session_heartbeat_seconds: float = Field(20.0, gt=0)

    @model_validator(mode="after")
    def _replica_timeout_covers_heartbeats(self) -> Self:
        if self.signaling_replica_timeout_seconds < 3 * self.signaling_heartbeat_seconds:
            raise ValueError(
                "PARLEY_SIGNALING_REPLICA_TIMEOUT_SECONDS must be at least 3 heartbeat intervals "
                f"({self.signaling_replica_timeout_seconds} < 3 x {self.signaling_heartbeat_seconds})"
            )
        return self

    @property
    def recycle_policy(self) -> RecyclePolicy:
        """The ``signaling_recycle_*`` settings as the recycler takes them."""
        return RecyclePolicy(
            excess_bytes=int(self.signaling_recycle_excess_mib * 2**20),
            burst_sockets=self.signaling_recycle_burst_sockets,
            max_sockets=self.signaling_recycle_max_sockets,
            wait_s=self.signaling_recycle_wait_seconds,
            min_uptime_s=self.signaling_recycle_min_uptime_seconds,
        )

    @property
    def max_message_bytes(self) -> int:
        """Engine.IO's largest accepted message (``max_http_buffer_size``), in bytes.

        Twice the SDP limit (JSON escaping of CR LF) plus room for the envelope.
        """
        return 2 * self.signaling_max_sdp_bytes + 16 * 1024

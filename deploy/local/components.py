"""The components of a local stack: what each runs, what it waits for, how it is health-checked.

Supervisord (configured by supervisor_conf.py) runs each component's command behind
``wait_for.py``, which blocks until the component's dependencies pass their *gate* checks.
``stack.py up`` then polls every component's *ready* check.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import credentials
from layout import DEPLOY_LOCAL, HOST, REPO, WEB_CLIENT, WEB_DIST, Stack, ferretdb_bin, venv_bin

#: the database FerretDB keeps its data in, in the stack's own PostgreSQL
FERRETDB_PG_DATABASE = "ferretdb"


@dataclass(frozen=True)
class Check:
    """A health check: ``tcp`` (host:port accepts), ``http`` (URL answers 2xx), ``topics``
    (every Parley topic exists on the Kafka at ``target``)."""

    kind: str
    target: str

    def as_args(self) -> list[str]:
        return [f"--{self.kind}", self.target]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass(frozen=True)
class Component:
    name: str
    group: str  # "infra" or "services"
    priority: int
    command: list[str]
    ready: Check
    gate: Check  # what dependants wait for
    depends_on: tuple[str, ...] = ()
    oneshot: bool = False  # runs to completion (exit 0) instead of staying up
    env_file: Path | None = None  # services: dotenv file, see service_env()
    stop_signal: str = "TERM"  # what supervisord sends to stop it
    stop_wait_s: int = 10  # how long supervisord waits after it before SIGKILL


#: uvicorn stops reading a WebSocket message larger than this, in bytes: signaling's largest
#: Engine.IO message with its default limits (``Settings.max_message_bytes``, docs/signaling.md
#: "Limits"). The app checks the same limit itself; this spares reading the rest.
SIGNALING_MAX_MESSAGE_BYTES = 2 * 64 * 1024 + 16 * 1024

#: uvicorn's options for every Python service. httptools and uvloop are what uvicorn picks on
#: its own when installed (``uvicorn[standard]``); named here so a missing one fails loudly
#: instead of falling back to the slower h11 and asyncio.
UVICORN_OPTIONS: tuple[str, ...] = (
    "--http", "httptools",
    "--loop", "uvloop",
    # The client address is taken from X-Forwarded-For only when the request comes
    # from Traefik (on loopback here), never from anyone else.
    "--proxy-headers", "--forwarded-allow-ips", HOST,
    "--timeout-graceful-shutdown", "5",
    "--no-server-header",  # no "Server: uvicorn" (Traefik strips Server too)
    # Idle keep-alive connections stay open longer than Traefik keeps its idle connections to a
    # server (90 s, its default idleConnTimeout), so Traefik, not uvicorn, closes them: no race
    # in which uvicorn closes a connection just as Traefik sends a request on it, and Traefik's
    # pool survives a pause. With uvicorn's 5 s the pool emptied between bursts, and a burst
    # at 1,000 req/s opened hundreds of connections at once, which waited in meetings' accept
    # queue (bench/README.md, "REST: the stampede, the full collections and the accept queue").
    "--timeout-keep-alive", "120",
)

#: uvicorn's WebSocket options for signaling (docs/signaling.md, "Transport"): messages are
#: small JSON, so no permessage-deflate (uvicorn offers it by default: 40-odd KiB of zlib state
#: per socket and a compression per frame; socket.io's Node server has it off too); no
#: WebSocket keepalive pings of uvicorn's own, since Engine.IO pings every socket already
#: (``pingInterval`` 25 s); the sans-I/O websockets implementation (timers, no task per socket).
SIGNALING_UVICORN_OPTIONS = (
    "--ws", "parley_signaling.websocket_protocol:WebSocketProtocol",
    "--ws-max-size", str(SIGNALING_MAX_MESSAGE_BYTES),
    "--ws-per-message-deflate", "false",
    "--ws-ping-interval", "0",
)


def uvicorn_options(name: str) -> list[str]:
    """uvicorn's options for component ``name`` (bench/rest.py runs its bare FastAPI peer with
    those of ``meetings-1``, so the two are measured alike). uvicorn's own access log is off
    but for signaling: every other service's ``parley_observability.HttpMetricsMiddleware``
    logs requests itself (logger ``parley.access``, ``PARLEY_ACCESS_LOG``: by default those
    answered 5xx; Traefik logs every one); signaling's socket.io requests never reach the
    FastAPI app that middleware wraps, so uvicorn logs them (and its middleware does not)."""
    if name.startswith("signaling-"):
        return [*UVICORN_OPTIONS, *SIGNALING_UVICORN_OPTIONS]
    return [*UVICORN_OPTIONS, "--no-access-log"]


#: services run as two replicas (``<service>-1``, ``<service>-2``) behind Traefik
REPLICATED = ("auth", "meetings", "chat", "signaling")
SERVICES = ("auth-1", "auth-2", "meetings-1", "meetings-2", "chat-1", "chat-2", "turn-config",
            "signaling-1", "signaling-2", "web")
INFRA = ("kafka", "kafka-topics", "postgres", "ferretdb", "coturn", "traefik", "prometheus")
GROUPS = {"infra": INFRA, "services": SERVICES, "all": INFRA + SERVICES}


def tcp(stack: Stack, what: str) -> Check:
    return Check("tcp", f"{HOST}:{stack.port(what)}")


def http(url: str) -> Check:
    return Check("http", url)


def service_of(name: str) -> str:
    """The service a component runs: ``auth-2`` -> ``auth``; ``turn-config`` -> itself."""
    base, _, replica = name.rpartition("-")
    return base if base in REPLICATED and replica.isdigit() else name


def replicas_of(service: str) -> list[str]:
    """The components running ``service``: ``chat`` -> ``["chat-1", "chat-2"]``."""
    return [name for name in SERVICES if service_of(name) == service]


def module_of(name: str) -> str:
    """``signaling-2`` -> ``parley_signaling``; ``turn-config`` -> ``parley_turn_config``."""
    return "parley_" + service_of(name).replace("-", "_")


def sid_prefix(name: str) -> str:
    """``signaling-2`` -> ``s2_``: how the session ids of that replica start
    (``PARLEY_SIGNALING_SID_PREFIX``), by which Traefik routes a session's requests to it."""
    return f"s{name.removeprefix('signaling-')}_"


def web_client_expected() -> bool:
    """True once the browser client exists (``web/package.json``): then ``./taskw install``
    builds it and the web service must be *ready* (``/readyz``: ``web/dist/index.html``).
    Before that the stack only waits for the web service to be alive (``/healthz``)."""
    return (WEB_CLIENT / "package.json").is_file()


#: The local stack's single-session lease (auth) and its heartbeat (signaling), seconds.
LOCAL_SESSION_LEASE_SECONDS = 12
LOCAL_SESSION_HEARTBEAT_SECONDS = 3
#: Seconds a direct call rings on the test stack (``PARLEY_CALL_RING_TIMEOUT_S`` of meetings).
TEST_RING_TIMEOUT_S = 15
#: The local stack's ``PARLEY_CHAT_POST_LIMIT_PER_USER``: no limit a test or benchmark meets.
LOCAL_CHAT_POST_LIMIT = "100000/second"


def service_env(stack: Stack, name: str) -> dict[str, str]:
    if name == "web":  # static files only: no Kafka, MongoDB or tokens
        return {"PARLEY_ENVIRONMENT": "local", "PARLEY_INSTANCE_ID": name,
                "PARLEY_WEB_DIST": str(WEB_DIST)}
    env = {
        "PARLEY_ENVIRONMENT": "local",
        "PARLEY_INSTANCE_ID": name,
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{stack.port('kafka')}",
        "PARLEY_MONGO_URI": f"mongodb://{HOST}:{stack.port('ferretdb')}/",
        # through Traefik, like any client: either replica of auth / meetings answers
        "PARLEY_JWKS_URL": f"{stack.url('traefik')}/api/auth/.well-known/jwks.json",
        "PARLEY_MEETINGS_URL": stack.url("traefik"),
        "PARLEY_PUBLIC_BASE_URL": stack.url("traefik"),
    }
    service = service_of(name)
    if service in ("auth", "meetings", "chat"):
        env["PARLEY_MONGO_DATABASE"] = service
    if service == "chat":
        # `./taskw bench:chat` posts 200 messages a second as one participant, and chat's
        # tests post in bursts: a person's limit (30 per 10 s) would refuse them. The limit
        # itself is tested on chat's own app (services/chat/tests).
        env["PARLEY_CHAT_POST_LIMIT_PER_USER"] = LOCAL_CHAT_POST_LIMIT
    if service == "meetings" and stack.name == "test":
        # the browser test of a missed call waits this long; 30 s (the default) elsewhere
        env["PARLEY_CALL_RING_TIMEOUT_S"] = str(TEST_RING_TIMEOUT_S)
    if service == "auth":
        env["PARLEY_JWT_PRIVATE_KEY_FILE"] = str(credentials.jwt_key_file(stack))
        # Every local client (the test suite, the probe, the browser tests) comes from
        # 127.0.0.1: the per-address limits would throttle them all together. The limits per
        # account (and per account and address) keep their production values.
        for limit in ("LOGIN", "REGISTER", "REFRESH"):
            env[f"PARLEY_{limit}_LIMIT_PER_ADDRESS"] = "100000/hour"
        # A closed or crashed tab frees its user's single-session lease within 12 s (60 s in
        # production), renewed every 3 s by signaling (below): tests wait for less.
        env["PARLEY_SESSION_LEASE_SECONDS"] = str(LOCAL_SESSION_LEASE_SECONDS)
    if name.startswith("signaling-"):
        web = stack.port("traefik")
        env["PARLEY_ALLOWED_ORIGINS"] = json.dumps(
            [f"http://127.0.0.1:{web}", f"http://localhost:{web}"], separators=(",", ":")
        )
        env["PARLEY_SIGNALING_SID_PREFIX"] = sid_prefix(name)
        env["PARLEY_SIGNALING_LINK_HOST"] = HOST  # relays between the replicas: any free port
        env["PARLEY_SESSION_HEARTBEAT_SECONDS"] = str(LOCAL_SESSION_HEARTBEAT_SECONDS)
    if name == "turn-config":
        turn = f"{HOST}:{stack.port('coturn')}"
        env["PARLEY_TURN_SECRET"] = credentials.turn_secret(stack)
        env["PARLEY_TURN_URLS"] = json.dumps(
            [f"turn:{turn}?transport=udp", f"turn:{turn}?transport=tcp"], separators=(",", ":")
        )
        env["PARLEY_STUN_URLS"] = json.dumps([f"stun:{turn}"])
        env["PARLEY_TURN_TTL_SECONDS"] = "3600"
    return env


def service(stack: Stack, name: str) -> Component:
    port = stack.port(name)
    env_file = stack.conf / "env" / f"{name}.env"
    ready = f"http://{HOST}:{port}/readyz"
    if name == "web":
        depends_on: tuple[str, ...] = ()  # serves files; needs nothing else
        if not web_client_expected():
            ready = f"http://{HOST}:{port}/healthz"
    elif service_of(name) == "auth":
        depends_on = ("kafka-topics", "ferretdb")
    else:
        depends_on = ("kafka-topics", "ferretdb", *replicas_of("auth"))
    return Component(
        name=name,
        group="services",
        priority=30 if service_of(name) == "auth" else 40,
        command=[
            str(venv_bin() / "uvicorn"),
            "--factory", f"{module_of(name)}.main:create_app",
            "--host", HOST, "--port", str(port),
            "--env-file", str(env_file),
            *uvicorn_options(name),
        ],
        ready=http(ready),
        gate=http(f"http://{HOST}:{port}/healthz"),
        depends_on=depends_on,
        env_file=env_file,
        # signaling drains on SIGTERM first (PARLEY_SIGNALING_DRAIN_SECONDS, 20), then shuts
        # down (uvicorn's graceful 5 s, then the app's stop): docs/signaling.md, "Drain"
        stop_wait_s=40 if name.startswith("signaling-") else 10,
    )


def all_components(stack: Stack) -> dict[str, Component]:
    py = sys.executable
    conf = stack.conf
    kafka_bootstrap = f"{HOST}:{stack.port('kafka')}"
    topics = Check("topics", kafka_bootstrap)
    comps = [
        Component(
            name="kafka",
            group="infra",
            priority=10,
            command=[py, str(DEPLOY_LOCAL / "kafka" / "run_kafka.py"),
                     str(conf / "kafka" / "server.properties"),
                     str(DEPLOY_LOCAL / "kafka" / "log4j2.xml"),
                     str(credentials.kafka_cluster_id_file(stack))],
            ready=tcp(stack, "kafka"),
            gate=tcp(stack, "kafka"),
            stop_wait_s=30,
        ),
        Component(
            name="kafka-topics",
            group="infra",
            priority=20,
            command=[py, str(DEPLOY_LOCAL / "kafka" / "create_topics.py"), kafka_bootstrap],
            ready=topics,
            gate=topics,
            depends_on=("kafka",),
            oneshot=True,
        ),
        Component(
            name="postgres",
            group="infra",
            priority=5,
            command=[py, str(DEPLOY_LOCAL / "postgres" / "run_postgres.py"),
                     str(stack.data / "postgres"), str(stack.port("postgres")),
                     FERRETDB_PG_DATABASE],
            ready=tcp(stack, "postgres"),
            gate=tcp(stack, "postgres"),
            stop_signal="INT",  # PostgreSQL's "fast" shutdown: TERM would wait for clients
        ),
        Component(
            name="ferretdb",
            group="infra",
            priority=10,
            # the transactional PostgreSQL handler (see deploy/local/README.md, "The store")
            command=[str(ferretdb_bin()), "--handler=postgresql", "--postgresql-old",
                     f"--postgresql-url=postgres://ferretdb@{HOST}:{stack.port('postgres')}/"
                     f"{FERRETDB_PG_DATABASE}",
                     f"--listen-addr={HOST}:{stack.port('ferretdb')}",
                     f"--debug-addr={HOST}:{stack.port('ferretdb_debug')}",
                     f"--state-dir={stack.data / 'ferretdb-state'}",
                     "--telemetry=disable", "--log-level=warn"],
            ready=tcp(stack, "ferretdb"),
            gate=tcp(stack, "ferretdb"),
            depends_on=("postgres",),
        ),
        Component(
            name="coturn",
            group="infra",
            priority=10,
            command=["/usr/bin/turnserver", "-c", str(conf / "coturn" / "turnserver.test.conf")],
            ready=tcp(stack, "coturn"),
            gate=tcp(stack, "coturn"),
        ),
        *(service(stack, name) for name in SERVICES),
        Component(
            name="traefik",
            group="infra",
            priority=90,
            command=[str(venv_bin() / "traefik"),
                     f"--configFile={conf / 'traefik' / 'traefik.yml'}"],
            ready=http(f"{stack.url('traefik_ping')}/ping"),
            gate=http(f"{stack.url('traefik_ping')}/ping"),
            depends_on=SERVICES,
        ),
        Component(
            name="prometheus",
            group="infra",
            priority=90,
            command=["/usr/bin/prometheus",
                     f"--config.file={conf / 'prometheus' / 'prometheus.yml'}",
                     f"--storage.tsdb.path={stack.data / 'prometheus'}",
                     "--storage.tsdb.retention.time=2d",
                     f"--web.listen-address={HOST}:{stack.port('prometheus')}",
                     "--log.level=warn"],
            ready=http(f"{stack.url('prometheus')}/-/ready"),
            gate=http(f"{stack.url('prometheus')}/-/ready"),
        ),
    ]
    return {c.name: c for c in comps}


def select(stack: Stack, only: str | None) -> dict[str, Component]:
    """Components named by ``only``: comma-separated names and/or groups (infra, services,
    all). ``None`` means all of them, which is what ``./taskw up`` and ``./taskw test`` run."""
    comps = all_components(stack)
    if not only:
        return comps
    wanted: list[str] = []
    for item in (s.strip() for s in only.split(",")):
        if item in GROUPS:
            wanted.extend(GROUPS[item])
        elif item in comps:
            wanted.append(item)
        else:
            raise SystemExit(
                f"--only: unknown component or group {item!r}; "
                f"known: {', '.join([*GROUPS, *comps])}"
            )
    return {name: c for name, c in comps.items() if name in wanted}


def gates(comp: Component, selected: dict[str, Component]) -> list[Check]:
    """The checks ``comp`` waits for before it starts: its selected dependencies' gates."""
    return [selected[d].gate for d in comp.depends_on if d in selected]


__all__ = ["Check", "Component", "GROUPS", "REPLICATED", "REPO", "all_components", "gates",
           "replicas_of", "select", "service_of", "web_client_expected"]

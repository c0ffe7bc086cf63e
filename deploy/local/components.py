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


SERVICES = ("auth", "meetings", "chat", "turn-config", "signaling-1", "signaling-2", "web")
INFRA = ("kafka", "kafka-topics", "ferretdb", "coturn", "traefik", "prometheus")
GROUPS = {"infra": INFRA, "services": SERVICES, "all": INFRA + SERVICES}


def tcp(stack: Stack, what: str) -> Check:
    return Check("tcp", f"{HOST}:{stack.port(what)}")


def http(url: str) -> Check:
    return Check("http", url)


def module_of(name: str) -> str:
    """``signaling-2`` -> ``parley_signaling``; ``turn-config`` -> ``parley_turn_config``."""
    base = "signaling" if name.startswith("signaling-") else name
    return "parley_" + base.replace("-", "_")


def sid_prefix(name: str) -> str:
    """``signaling-2`` -> ``s2_``: how the session ids of that replica start
    (``PARLEY_SIGNALING_SID_PREFIX``), by which Traefik routes a session's requests to it."""
    return f"s{name.removeprefix('signaling-')}_"


def web_client_expected() -> bool:
    """True once the browser client exists (``web/package.json``): then ``./taskw install``
    builds it and the web service must be *ready* (``/readyz``: ``web/dist/index.html``).
    Before that the stack only waits for the web service to be alive (``/healthz``)."""
    return (WEB_CLIENT / "package.json").is_file()


def service_env(stack: Stack, name: str) -> dict[str, str]:
    if name == "web":  # static files only: no Kafka, MongoDB or tokens
        return {"PARLEY_ENVIRONMENT": "local", "PARLEY_INSTANCE_ID": name,
                "PARLEY_WEB_DIST": str(WEB_DIST)}
    env = {
        "PARLEY_ENVIRONMENT": "local",
        "PARLEY_INSTANCE_ID": name,
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": f"{HOST}:{stack.port('kafka')}",
        "PARLEY_MONGO_URI": f"mongodb://{HOST}:{stack.port('ferretdb')}/",
        "PARLEY_JWKS_URL": f"{stack.url('auth')}/api/auth/.well-known/jwks.json",
        "PARLEY_MEETINGS_URL": stack.url("meetings"),
        "PARLEY_PUBLIC_BASE_URL": stack.url("traefik"),
    }
    if name in ("auth", "meetings", "chat"):
        env["PARLEY_MONGO_DATABASE"] = name
    if name == "auth":
        env["PARLEY_JWT_PRIVATE_KEY_FILE"] = str(credentials.jwt_key_file(stack))
    if name.startswith("signaling-"):
        web = stack.port("traefik")
        env["PARLEY_ALLOWED_ORIGINS"] = json.dumps(
            [f"http://127.0.0.1:{web}", f"http://localhost:{web}"], separators=(",", ":")
        )
        env["PARLEY_SIGNALING_SID_PREFIX"] = sid_prefix(name)
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
    else:
        depends_on = ("kafka-topics", "ferretdb") + (() if name == "auth" else ("auth",))
    return Component(
        name=name,
        group="services",
        priority=30 if name == "auth" else 40,
        command=[
            str(venv_bin() / "uvicorn"),
            "--factory", f"{module_of(name)}.main:create_app",
            "--host", HOST, "--port", str(port),
            "--env-file", str(env_file),
            "--timeout-graceful-shutdown", "5",
        ],
        ready=http(ready),
        gate=http(f"http://{HOST}:{port}/healthz"),
        depends_on=depends_on,
        env_file=env_file,
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
            name="ferretdb",
            group="infra",
            priority=10,
            command=[str(ferretdb_bin()), "--handler=sqlite",
                     f"--sqlite-url=file:{stack.data / 'ferretdb'}/",
                     f"--listen-addr={HOST}:{stack.port('ferretdb')}",
                     f"--debug-addr={HOST}:{stack.port('ferretdb_debug')}",
                     f"--state-dir={stack.data / 'ferretdb-state'}",
                     "--telemetry=disable", "--log-level=WARN"],
            ready=tcp(stack, "ferretdb"),
            gate=tcp(stack, "ferretdb"),
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


__all__ = ["Check", "Component", "GROUPS", "REPO", "all_components", "gates", "select",
           "web_client_expected"]

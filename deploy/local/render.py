"""Render a stack's configuration files from the templates in the repository.

Everything lands in ``.stack/<name>/conf/`` (plus ``stack.json``); templates use
``string.Template`` placeholders (``${auth_port}``) and are rendered strictly (a missing value
is an error).
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

import credentials
import prometheus_rules
from components import SERVICES, Component, service_env, sid_prefix
from layout import DEPLOY_LOCAL, HOST, KAFKA_VERSION, TRAEFIK_TEMPLATES, Stack


def values(stack: Stack) -> dict[str, str]:
    relay_min, relay_max = stack.relay_range
    v = {
        "stack_name": stack.name,
        "kafka_version": KAFKA_VERSION,
        "broker_port": stack.port("kafka"),
        "controller_port": stack.port("kafka_controller"),
        "entry_port": stack.port("traefik"),
        "ping_port": stack.port("traefik_ping"),
        "port": stack.port("coturn"),
        "relay_min": relay_min,
        "relay_max": relay_max,
        "run_dir": stack.run,
    }
    for name in SERVICES:  # auth_port … signaling_2_port, web_port (the web service)
        v[name.replace("-", "_") + "_port"] = stack.port(name)
        if name.startswith("signaling-"):  # signaling_1_sid_prefix: s1_
            v[name.replace("-", "_") + "_sid_prefix"] = sid_prefix(name)
    return {k: str(val) for k, val in v.items()}


def render_file(template: Path, out: Path, extra: dict[str, str]) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(Template(template.read_text()).substitute(extra))
    return out


def traefik_static(stack: Stack) -> Path:
    return stack.conf / "traefik" / "traefik.yml"


def traefik_dynamic(stack: Stack) -> Path:
    return stack.conf / "traefik" / "dynamic.yml"


def prometheus_config(stack: Stack) -> Path:
    return stack.conf / "prometheus" / "prometheus.yml"


def render_all(stack: Stack) -> None:
    v = values(stack)
    render_file(
        DEPLOY_LOCAL / "kafka" / "server.properties.tmpl",
        stack.conf / "kafka" / "server.properties",
        {**v, "data_dir": str(stack.data / "kafka")},
    )
    (stack.data / "coturn").mkdir(parents=True, exist_ok=True)
    coturn = render_file(
        DEPLOY_LOCAL / "coturn" / "turnserver.test.conf",
        stack.conf / "coturn" / "turnserver.test.conf",
        {**v, "secret": credentials.turn_secret(stack), "data_dir": str(stack.data / "coturn")},
    )
    coturn.chmod(0o600)
    render_file(DEPLOY_LOCAL / "prometheus" / "prometheus.yml.tmpl", prometheus_config(stack), v)
    prometheus_rules.write_rule_file(prometheus_config(stack).parent / prometheus_rules.RULE_FILE_NAME)
    render_file(TRAEFIK_TEMPLATES / "dynamic.yml.tmpl", traefik_dynamic(stack), v)
    render_file(
        TRAEFIK_TEMPLATES / "traefik.yml.tmpl",
        traefik_static(stack),
        {**v, "dynamic_file": str(traefik_dynamic(stack)),
         "access_log": str(stack.logs / "traefik-access.log")},
    )


def write_env_file(stack: Stack, comp: Component) -> None:
    """A dotenv file (read by ``uvicorn --env-file``) with a service's environment."""
    assert comp.env_file is not None
    comp.env_file.parent.mkdir(parents=True, exist_ok=True)
    env = service_env(stack, comp.name)
    lines = [f"{k}='{val}'" for k, val in sorted(env.items())]
    comp.env_file.write_text("\n".join(lines) + "\n")
    comp.env_file.chmod(0o600)


def stack_description(stack: Stack, selected: dict[str, Component]) -> dict:
    """What tests and tools need to reach the stack (written to ``stack.json``)."""
    turn = f"{HOST}:{stack.port('coturn')}"
    return {
        # flat keys read by parley_testing.stack.Stack
        "base_url": stack.url("traefik"),
        "kafka_bootstrap_servers": f"{HOST}:{stack.port('kafka')}",
        "mongo_uri": f"mongodb://{HOST}:{stack.port('ferretdb')}/",
        "prometheus_url": stack.url("prometheus"),
        # the full description
        "name": stack.name,
        "port_base": stack.base,
        "dir": str(stack.dir),
        "components": sorted(selected),
        "traefik": {
            "base_url": stack.url("traefik"),
            "ping_url": f"{stack.url('traefik_ping')}/ping",
        },
        "services": {
            name: {"url": stack.url(name), "port": stack.port(name)}
            for name in SERVICES
        },
        "kafka": {
            "bootstrap_servers": f"{HOST}:{stack.port('kafka')}",
            "controller": f"{HOST}:{stack.port('kafka_controller')}",
        },
        "mongo": {"uri": f"mongodb://{HOST}:{stack.port('ferretdb')}/"},
        "coturn": {
            "host": HOST,
            "port": stack.port("coturn"),
            "realm": "parley.local",
            "relay_ports": list(stack.relay_range),
            "turn_urls": [f"turn:{turn}?transport=udp", f"turn:{turn}?transport=tcp"],
            "stun_urls": [f"stun:{turn}"],
        },
        "prometheus": {"url": stack.url("prometheus")},
        "secrets": {
            "turn_secret": credentials.turn_secret(stack),
            "turn_secret_file": str(credentials.turn_secret_file(stack)),
            "jwt_private_key_file": str(credentials.jwt_key_file(stack)),
        },
        "logs_dir": str(stack.logs),
    }


def write_stack_file(stack: Stack, selected: dict[str, Component]) -> Path:
    stack.stack_file.write_text(json.dumps(stack_description(stack, selected), indent=2) + "\n")
    stack.stack_file.chmod(0o600)
    return stack.stack_file

"""The rendered configuration of a local stack, checked without starting anything."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess

import pytest
import yaml

import render
from components import (
    GROUPS,
    REPLICATED,
    SERVICES,
    SIGNALING_MAX_MESSAGE_BYTES,
    all_components,
    replicas_of,
    select,
    service_of,
)
from layout import OFFSETS, Stack

PREFIXES = {
    "/api/auth": "auth",
    "/api/meetings": "meetings",
    "/api/calls": "meetings",
    "/api/webhooks": "meetings",
    "/api/chat": "chat",
    "/api/turn": "turn-config",
    "/socket.io": "signaling",
}


def test_promtool_accepts_the_prometheus_config(rendered):
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    result = subprocess.run(
        [promtool, "check", "config", str(render.prometheus_config(rendered))],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_every_service_instance_directly(rendered):
    conf = yaml.safe_load(render.prometheus_config(rendered).read_text())
    assert conf["global"]["scrape_interval"] == "5s"
    seen = {}
    for job in conf["scrape_configs"]:
        for sc in job["static_configs"]:
            (target,) = sc["targets"]
            seen[sc["labels"]["instance"]] = (sc["labels"]["service"], target)
    assert seen == {name: (service_of(name), f"127.0.0.1:{rendered.port(name)}") for name in SERVICES}
    assert {"auth-1", "auth-2", "meetings-1", "meetings-2", "chat-1", "chat-2"} <= set(seen)


def test_traefik_routes_exactly_the_public_prefixes(rendered):
    dyn = yaml.safe_load(render.traefik_dynamic(rendered).read_text())["http"]
    routers = dict(dyn["routers"])
    web = routers.pop("web")
    for name in ("signaling-1", "signaling-2"):  # a session's later requests: see below
        routers.pop(f"{name}-session")
    routes = {}
    for router in routers.values():
        (prefix,) = re.fullmatch(r"PathPrefix\(`([^`]+)`\)", router["rule"]).groups()
        routes[prefix] = router["service"]
        assert router["entryPoints"] == ["web"]
        assert "priority" not in router  # default priority: the rule's length, always > 1
    assert routes == PREFIXES
    # the headers middleware on every router, then Traefik's own 502/503/504 replaced by
    # Parley's pages (no prefix stripping: services get the full path; the headers wrap the
    # error pages too); new signaling sessions are also retried on another replica when one is
    # dead, inside the error pages
    assert set(dyn["middlewares"]) == {"security-headers", "signaling-retry", "edge-errors-api", "edge-errors-html",
                                       "api-body-limit"}
    assert set(dyn["middlewares"]["security-headers"]) == {"headers"}
    assert dyn["middlewares"]["signaling-retry"] == {"retry": {"attempts": 3}}  # at once, no back-off
    for name, router in routers.items():
        expected = ["security-headers", "edge-errors-api"]
        if name == "signaling":
            expected.append("signaling-retry")
        else:  # the API: bodies over 1 MiB refused at the edge
            expected.append("api-body-limit")
        assert router["middlewares"] == expected, router
    assert web["middlewares"] == ["security-headers", "edge-errors-html"]
    assert dyn["middlewares"]["api-body-limit"] == {"buffering": {"maxRequestBodyBytes": 1048576}}
    assert dyn["middlewares"]["edge-errors-api"]["errors"]["status"] == ["413", "502-504"]
    for name, kind in (("edge-errors-api", "json"), ("edge-errors-html", "html")):
        errors = dyn["middlewares"][name]["errors"]
        assert errors["service"] == "web" and errors["query"] == f"/_parley/errors/{{status}}.{kind}"
    assert not any("metrics" in p for p in routes)
    # everything else goes to the web service (the browser client), at the lowest priority,
    # except the per-service endpoints that must never be public
    assert web["service"] == "web" and web["entryPoints"] == ["web"]
    assert web["priority"] == 1
    terms = [t.strip() for t in web["rule"].split("&&")]
    assert terms[0] == "PathPrefix(`/`)"
    assert set(terms[1:]) == {"!Path(`/metrics`)", "!Path(`/healthz`)", "!Path(`/readyz`)"}


def test_traefik_backends_and_signaling_session_routes(rendered):
    dyn = yaml.safe_load(render.traefik_dynamic(rendered).read_text())["http"]
    services = dyn["services"]
    urls = {name: [s["url"] for s in svc["loadBalancer"]["servers"]]
            for name, svc in services.items() if "loadBalancer" in svc}
    for service in REPLICATED:  # two replicas each, both load-balanced, dead ones taken out
        assert urls[service] == [rendered.url(f"{service}-1"), rendered.url(f"{service}-2")]
        assert services[service]["loadBalancer"]["healthCheck"]["path"] == "/healthz"
    for name in ("turn-config", "web", "signaling-1", "signaling-2"):
        assert urls[name] == [rendered.url(name)]
    assert rendered.port("web") == rendered.base + 16
    # no sticky cookie: a session's requests are routed by the prefix of their `sid`, which is
    # the prefix that replica gives its session ids
    assert "sticky" not in services["signaling"]["loadBalancer"]
    for name in ("signaling-1", "signaling-2"):
        env = dict(line.split("=", 1) for line in
                   (rendered.conf / "env" / f"{name}.env").read_text().splitlines())
        prefix = env["PARLEY_SIGNALING_SID_PREFIX"].strip("'")
        assert prefix == f"s{name[-1]}_"
        router = dyn["routers"][f"{name}-session"]
        assert router["rule"] == f"PathPrefix(`/socket.io`) && QueryRegexp(`sid`, `^{prefix}`)"
        assert router["service"] == f"{name}-session" and router["entryPoints"] == ["web"]
        assert router["priority"] > len(dyn["routers"]["signaling"]["rule"])
        assert router["middlewares"] == ["security-headers", "edge-errors-api"]
        # a session of a dead replica is answered by the other one (it does not know the
        # session: the client reconnects), not with 502; a polling POST is replayed there
        other = "signaling-2" if name == "signaling-1" else "signaling-1"
        failover = services[f"{name}-session"]["failover"]
        assert (failover["service"], failover["fallback"]) == (name, other)
        assert failover["errors"]["status"] == ["502"]
        assert failover["errors"]["maxRequestBodyBytes"] >= SIGNALING_MAX_MESSAGE_BYTES
    # a dead replica leaves the pool of new sessions at the next health check
    assert services["signaling"]["loadBalancer"]["healthCheck"]["interval"] == "2s"


def test_traefik_static_config_exposes_no_api(rendered):
    static = yaml.safe_load(render.traefik_static(rendered).read_text())
    assert "api" not in static
    assert static["entryPoints"]["web"]["address"] == f"127.0.0.1:{rendered.base}"
    assert static["entryPoints"]["ping"]["address"] == f"127.0.0.1:{rendered.base + 1}"
    assert static["ping"]["entryPoint"] == "ping"


def test_coturn_config_is_a_loopback_test_config_sharing_turn_configs_secret(rendered):
    text = (rendered.conf / "coturn" / "turnserver.test.conf").read_text()
    assert "TEST CONFIGURATION" in text and "never be used in production" in text.lower()
    opts = dict(
        (line.split("=", 1) + [""])[:2]
        for line in text.splitlines() if line and not line.startswith("#")
    )
    assert "allow-loopback-peers" in opts and "use-auth-secret" in opts
    assert opts["listening-port"] == str(rendered.port("coturn"))
    assert (opts["min-port"], opts["max-port"]) == tuple(map(str, rendered.relay_range))
    env = (rendered.conf / "env" / "turn-config.env").read_text()
    assert f"PARLEY_TURN_SECRET='{opts['static-auth-secret']}'" in env
    assert re.fullmatch(r"[0-9a-f]{64}", opts["static-auth-secret"])


def test_service_env_files(rendered):
    def env(name):
        text = (rendered.conf / "env" / f"{name}.env").read_text()
        return {k: v.strip("'") for k, v in (l.split("=", 1) for l in text.splitlines())}

    for name in ("auth-1", "auth-2"):
        auth = env(name)
        assert auth["PARLEY_MONGO_DATABASE"] == "auth"
        assert auth["PARLEY_INSTANCE_ID"] == name
        assert auth["PARLEY_KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{rendered.port('kafka')}"
        assert auth["PARLEY_JWT_PRIVATE_KEY_FILE"] == str(rendered.secrets / "jwt-ed25519.pem")
    assert env("meetings-2")["PARLEY_MONGO_DATABASE"] == "meetings"
    assert env("chat-2")["PARLEY_MONGO_DATABASE"] == "chat"
    assert env("chat-1")["PARLEY_CHAT_POST_LIMIT_PER_USER"] == "100000/second"  # bench:chat's 200/s
    # other services reach auth's JWKS and meetings through Traefik: either replica answers
    assert env("chat-1")["PARLEY_JWKS_URL"] == f"{rendered.url('traefik')}/api/auth/.well-known/jwks.json"
    assert env("signaling-1")["PARLEY_MEETINGS_URL"] == rendered.url("traefik")
    assert (rendered.secrets / "jwt-ed25519.pem").read_text().startswith("-----BEGIN PRIVATE KEY")
    # every local client is 127.0.0.1: only the per-address limits are lifted
    assert auth["PARLEY_LOGIN_LIMIT_PER_ADDRESS"] == "100000/hour"
    assert "PARLEY_LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS" not in auth
    sig = env("signaling-2")
    assert sig["PARLEY_INSTANCE_ID"] == "signaling-2"
    assert json.loads(sig["PARLEY_ALLOWED_ORIGINS"]) == [
        f"http://127.0.0.1:{rendered.base}", f"http://localhost:{rendered.base}"]
    turn = env("turn-config")
    assert json.loads(turn["PARLEY_STUN_URLS"]) == [f"stun:127.0.0.1:{rendered.port('coturn')}"]
    from layout import WEB_DIST

    assert env("web") == {"PARLEY_ENVIRONMENT": "local", "PARLEY_INSTANCE_ID": "web",
                          "PARLEY_WEB_DIST": str(WEB_DIST)}


def test_supervisord_orders_and_gates_the_components(rendered):
    cp = configparser.RawConfigParser()
    cp.read(rendered.supervisor_conf)
    programs = {s.split(":", 1)[1]: cp[s] for s in cp.sections() if s.startswith("program:")}
    assert set(programs) == set(GROUPS["all"])
    prio = {n: int(p["priority"]) for n, p in programs.items()}
    assert prio["postgres"] < prio["ferretdb"] < prio["auth-1"]
    assert prio["kafka"] < prio["kafka-topics"] < prio["auth-1"] < prio["meetings-1"] < prio["traefik"]
    assert prio["auth-1"] == prio["auth-2"] and prio["meetings-1"] == prio["meetings-2"]
    assert prio["prometheus"] == prio["traefik"] == max(prio.values())
    assert f"--tcp 127.0.0.1:{rendered.port('postgres')}" in programs["ferretdb"]["command"]
    assert programs["postgres"]["stopsignal"] == "INT" and programs["kafka"]["stopsignal"] == "TERM"
    ferretdb = programs["ferretdb"]["command"]
    assert "--handler=postgresql --postgresql-old" in ferretdb
    assert f"--postgresql-url=postgres://ferretdb@127.0.0.1:{rendered.port('postgres')}/ferretdb" in ferretdb
    for name in ("meetings-1", "meetings-2", "chat-2"):
        command = programs[name]["command"]
        assert "--topics" in command and f"--tcp 127.0.0.1:{rendered.port('ferretdb')}" in command
        for auth in replicas_of("auth"):
            assert f"127.0.0.1:{rendered.port(auth)}/healthz" in command
    for name in SERVICES:
        command = programs[name]["command"]
        real = command.split(" -- ", 1)[1] if " -- " in command else command
        assert "uvicorn --factory parley_" in real and f"--port {rendered.port(name)}" in real
        assert "--proxy-headers --forwarded-allow-ips 127.0.0.1 " in real  # only Traefik's X-Forwarded-For
    # the web service serves files: it waits for nothing, and Traefik waits for it
    assert "wait_for.py" not in programs["web"]["command"]
    assert "parley_web.main:create_app" in programs["web"]["command"]
    assert f"127.0.0.1:{rendered.port('web')}/healthz" in programs["traefik"]["command"]


def test_web_readiness_follows_the_client_sources(rendered, monkeypatch, tmp_path):
    import components

    monkeypatch.setattr(components, "WEB_CLIENT", tmp_path)
    web = all_components(rendered)["web"]
    assert web.ready.target == f"http://127.0.0.1:{rendered.port('web')}/healthz"
    (tmp_path / "package.json").write_text("{}")
    web = all_components(rendered)["web"]
    assert web.ready.target == f"http://127.0.0.1:{rendered.port('web')}/readyz"


def test_only_infra_drops_gates_on_absent_services(tmp_path):
    s = Stack(name="unit", base=58000, root=tmp_path)
    import supervisor_conf

    selected = select(s, "infra")
    assert set(selected) == set(GROUPS["infra"])
    assert "wait_for.py" not in " ".join(supervisor_conf.program_command(selected["traefik"], selected))
    with pytest.raises(SystemExit):
        select(s, "nonsense")


def test_kafka_properties(rendered):
    props = dict(
        line.split("=", 1)
        for line in (rendered.conf / "kafka" / "server.properties").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["listeners"] == (f"PLAINTEXT://127.0.0.1:{rendered.port('kafka')},"
                                  f"CONTROLLER://127.0.0.1:{rendered.port('kafka_controller')}")


def test_dev_and_test_stacks_do_not_share_ports_or_dirs():
    dev, test = Stack(name="dev", base=18000), Stack(name="test", base=28000)
    dev_ports = set(dev.all_ports()) | set(range(*dev.relay_range))
    test_ports = set(test.all_ports()) | set(range(*test.relay_range))
    assert not dev_ports & test_ports
    assert dev.dir != test.dir
    assert len(set(OFFSETS.values())) == len(OFFSETS)
    assert len(all_components(dev)) == len(GROUPS["all"])


def test_stack_file_describes_the_stack_for_tests(rendered):
    info = json.loads(rendered.stack_file.read_text())
    assert info["base_url"] == info["traefik"]["base_url"] == f"http://127.0.0.1:{rendered.base}"
    assert info["kafka_bootstrap_servers"] == f"127.0.0.1:{rendered.port('kafka')}"
    assert info["mongo_uri"] == f"mongodb://127.0.0.1:{rendered.port('ferretdb')}/"
    assert set(info["services"]) == set(SERVICES)
    assert info["secrets"]["turn_secret"] == (rendered.secrets / "turn-secret").read_text()

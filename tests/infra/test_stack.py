"""The running test stack (``$PARLEY_STACK_FILE``): every component answers as configured."""

from __future__ import annotations

import os
import socket
import struct
import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.integration

SERVICE_INSTANCES = {
    "auth-1", "auth-2", "meetings-1", "meetings-2", "chat-1", "chat-2", "turn-config",
    "signaling-1", "signaling-2", "web",
}


async def test_kafka_has_every_topic_with_its_partitions_and_retention(stack_info):
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from parley_events.topics import TOPICS

    admin = AIOKafkaAdminClient(bootstrap_servers=stack_info["kafka"]["bootstrap_servers"])
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics([t.name for t in TOPICS])}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in TOPICS]
        )
    finally:
        await admin.close()
    retention = {}
    for response in configs:
        for _err, _msg, _type, name, entries in response.resources:
            retention[name] = next(e[1] for e in entries if e[0] == "retention.ms")
    for spec in TOPICS:
        assert len(described[spec.name]["partitions"]) == spec.partitions, spec.name
        assert retention[spec.name] == str(spec.retention_ms), spec.name


async def test_mongo_wire_server_stores_and_finds(stack_info):
    from pymongo import AsyncMongoClient

    client = AsyncMongoClient(stack_info["mongo"]["uri"], serverSelectionTimeoutMS=5000)
    try:
        coll = client["infra_tests"]["things"]
        key = uuid.uuid4().hex
        await coll.insert_one({"key": key, "n": 1})
        found = await coll.find_one({"key": key})
        assert found is not None and found["n"] == 1
    finally:
        await client.close()


def test_coturn_answers_a_stun_binding_request(stack_info):
    host, port = stack_info["coturn"]["host"], stack_info["coturn"]["port"]
    txid = os.urandom(12)
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, txid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(request, (host, port))
        data, _ = s.recvfrom(2048)
    msg_type, _length, cookie, rx_txid = struct.unpack("!HHI12s", data[:20])
    assert (msg_type, cookie, rx_txid) == (0x0101, 0x2112A442, txid)


def test_prometheus_scrapes_every_service_instance_up(stack_info):
    url = stack_info["prometheus"]["url"] + "/api/v1/targets"
    deadline = time.monotonic() + 30
    health: dict[str, str] = {}
    while time.monotonic() < deadline:
        targets = httpx.get(url, timeout=5).json()["data"]["activeTargets"]
        health = {t["labels"]["instance"]: t["health"] for t in targets}
        if set(health) >= SERVICE_INSTANCES and all(
            health[i] == "up" for i in SERVICE_INSTANCES
        ):
            break
        time.sleep(1)
    assert {i: health.get(i) for i in SERVICE_INSTANCES} == {i: "up" for i in SERVICE_INSTANCES}
    by_instance = {t["labels"]["instance"]: t["labels"] for t in targets}
    assert by_instance["signaling-2"]["service"] == "signaling"
    assert by_instance["chat-2"]["service"] == "chat" and by_instance["auth-1"]["service"] == "auth"


def test_traefik_does_not_expose_metrics_health_or_its_api(stack_info):
    base = stack_info["traefik"]["base_url"]
    for path in ("/metrics", "/healthz", "/readyz", "/api/auth/metrics", "/api/rawdata",
                 "/api/overview"):
        assert httpx.get(base + path, timeout=5).status_code == 404, path
    # no Traefik dashboard: /dashboard/ is just another client route of the web service
    dashboard = httpx.get(base + "/dashboard/", timeout=5)
    assert dashboard.content == httpx.get(base + "/", timeout=5).content
    assert "traefik" not in dashboard.text.lower()


def test_traefik_sends_every_other_path_to_the_web_service(stack_info):
    base = stack_info["traefik"]["base_url"]
    web = stack_info["services"]["web"]["url"]
    root = httpx.get(base + "/", timeout=5)
    direct = httpx.get(web + "/", timeout=5)
    assert (root.status_code, root.content) == (direct.status_code, direct.content)
    assert root.headers["x-content-type-options"] == "nosniff"
    if root.status_code == 503:  # the browser client is not written yet
        assert root.json()["detail"]["code"] == "client_not_built"
    else:
        assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
        assert root.headers["cache-control"] == "no-cache"
    # the single-page-app fallback: a client route gets the same index
    spa = httpx.get(base + "/m/some-meeting-id", timeout=5)
    assert (spa.status_code, spa.content) == (root.status_code, root.content)
    # the API prefixes keep their own routes (auth answers, not the web service: its 404 says
    # "No file at …")
    assert httpx.get(base + "/api/auth/nope", timeout=5).json() == {
        "detail": {"code": "not_found", "message": "Not Found"}}


def test_traefik_routes_to_auth_with_the_full_path(stack_info):
    base = stack_info["traefik"]["base_url"]
    resp = httpx.get(base + "/api/auth/.well-known/jwks.json", timeout=5)
    assert resp.status_code == 200
    assert resp.json()["keys"]


def test_traefik_ping_and_prometheus_ready(stack_info):
    assert httpx.get(stack_info["traefik"]["ping_url"], timeout=5).status_code == 200
    assert httpx.get(stack_info["prometheus"]["url"] + "/-/ready", timeout=5).status_code == 200


def test_every_service_is_ready(stack_info):
    import components

    for name, svc in stack_info["services"].items():
        if name == "web" and not components.web_client_expected():
            continue  # nothing to serve yet: /readyz is 503 until web/ is written and built
        resp = httpx.get(svc["url"] + "/readyz", timeout=5)
        assert resp.status_code == 200, f"{name}: {resp.status_code} {resp.text[:200]}"


def test_socket_io_sessions_are_routed_by_their_sid_prefix_without_a_cookie(stack_info):
    """A new session goes to either replica (no cookie is set); every later request of it,
    without a cookie, goes to the replica named by its sid prefix: Traefik's access log shows
    the router and server of each."""
    import json

    base = stack_info["traefik"]["base_url"]
    services = stack_info["services"]
    access_log = os.path.join(stack_info["logs_dir"], "traefik-access.log")
    owners: set[str] = set()
    deadline = time.monotonic() + 20
    # one after the other, round robin puts them on both replicas (but a replica just
    # restarted by another test may still be out of Traefik's health check for a few seconds)
    while owners != {"signaling-1", "signaling-2"}:
        assert time.monotonic() < deadline, f"new sessions did not reach both replicas: {owners}"
        opened = httpx.get(base + "/socket.io/?EIO=4&transport=polling", timeout=5)
        assert opened.status_code == 200 and "set-cookie" not in opened.headers, opened.headers
        sid = json.loads(opened.text[1:])["sid"]
        owner = {"s1_": "signaling-1", "s2_": "signaling-2"}[sid[:3]]
        owners.add(owner)
        for _ in range(6):
            pong = httpx.post(base + f"/socket.io/?EIO=4&transport=polling&sid={sid}", content=b"3",
                              timeout=5)
            assert (pong.status_code, pong.text) == (200, "OK"), (owner, pong.text)
        written_by = time.monotonic() + 30  # generous: a busy machine delays Traefik's writes
        while True:
            with open(access_log) as f:
                routed = [line for line in f if f"sid={sid} " in line]
            if len(routed) == 6 or time.monotonic() > written_by:
                break
            time.sleep(0.1)
        assert len(routed) == 6, routed
        for line in routed:
            assert line.rstrip().split(" ")[-3:-1] == [
                f'"{owner}-session@file"', f'"{services[owner]["url"]}"'], line
        time.sleep(0.2)

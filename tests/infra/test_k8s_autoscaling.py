"""Signaling's HorizontalPodAutoscaler scales on connected sockets, read through
prometheus-adapter from the test stack's Prometheus (issue 8, "Autoscaling").

A control plane of its own (deploy/local/k8s_plane.py, kwok nodes) gets prod's signaling
StatefulSet and HPA (deploy/k8s/overlays/prod) in namespace ``parley``, and prometheus-adapter
v0.12.0 with the committed rule (deploy/k8s/autoscaling/prometheus-adapter.yaml) behind the
aggregation layer (deploy/local/k8s_metrics_adapter.py). The test stack's Prometheus labels its
two signaling replicas ``namespace="parley"``, ``pod="signaling-0"`` and ``"signaling-1"``, as a
ServiceMonitor's targets are labelled on a cluster: the kwok pods of those names stand for them.

The HPA's target is lowered from 2,000 sockets per pod to ``TARGET`` so that tens of sockets
do what thousands would, and its scale-up policy's period from 60 s to ``SCALE_UP_PERIOD_S``
so that the test does not wait out prod's minute: with none open, the HPA reads the metric and
keeps 2 replicas; with ``SOCKETS`` open on one replica (average ``SOCKETS / 2`` per pod), the
controller-manager's HPA controller raises ``desiredReplicas`` to ``maxReplicas`` (4) and the
StatefulSet follows.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack

import pytest
import websockets

from k8s_metrics_adapter import MetricsAdapter
from k8s_plane import ControlPlane, kustomize
from layout import REPO, Stack
from parley_probe.api import ApiClient
from parley_testing.faults import until

pytestmark = pytest.mark.timeout(900)

PROD = REPO / "deploy" / "k8s" / "overlays" / "prod"
NAMESPACE = "parley"
METRIC = "parley_signaling_connected_sockets"
TARGET = 5  # sockets per pod (prod's manifest: 2000)
SOCKETS = 30  # on one replica: an average of 15 per pod, three times the target
SCALE_UP_PERIOD_S = 10  # the scale-up policy's period (prod's manifest: 60)
POLL_S = 2.0  # how often a wait asks the apiserver (each time a kubectl process)
#: the kinds of prod's rendering the HPA needs: the StatefulSet and what its pods refer to
KINDS = {"Namespace", "ServiceAccount", "ConfigMap", "StatefulSet", "HorizontalPodAutoscaler"}


@pytest.fixture(scope="module")
def plane(tmp_path_factory, stack_info) -> ControlPlane:
    with ControlPlane(dir=tmp_path_factory.mktemp("k8s-hpa"), stack=Stack.named("test", stack_info["port_base"]), nodes=3) as cp:
        yield cp


@pytest.fixture(scope="module")
def adapter(plane, stack_info) -> MetricsAdapter:
    with MetricsAdapter(plane, prometheus_url=stack_info["prometheus_url"]) as running:
        yield running


@pytest.fixture(scope="module")
def signaling(plane) -> dict:
    """prod's signaling StatefulSet and its HPA (target lowered to ``TARGET``) applied, with
    its two pods Ready; returns the HPA as applied."""
    docs = [d for d in kustomize(PROD) if d["kind"] in KINDS
            and "grafana_dashboard" not in (d["metadata"].get("labels") or {})]  # no pod reads those
    (autoscaler,) = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert autoscaler["spec"]["metrics"][0]["pods"]["metric"]["name"] == METRIC
    autoscaler["spec"]["metrics"][0]["pods"]["target"]["averageValue"] = str(TARGET)
    # prod adds at most 2 pods per 60 s, and raising the StatefulSet to minReplicas on creation
    # counts in that window: the test's scale-up would wait out most of a minute for nothing
    (scale_up,) = autoscaler["spec"]["behavior"]["scaleUp"]["policies"]
    assert scale_up == {"type": "Pods", "value": 2, "periodSeconds": 60}
    scale_up["periodSeconds"] = SCALE_UP_PERIOD_S
    plane.kubectl("apply", "--server-side", "--validate=strict", "--field-manager=parley-test", "-f", "-",
                  input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))

    seen: list[str] = []

    async def both_pods_ready() -> bool:
        out = await asyncio.to_thread(plane.kubectl, "get", "pods", "-n", NAMESPACE, "-o", "json")
        seen[:] = sorted(p["metadata"]["name"] for p in json.loads(out.stdout)["items"]
                         if any(c["type"] == "Ready" and c["status"] == "True"
                                for c in p["status"].get("conditions", [])))
        return seen == ["signaling-0", "signaling-1"]

    # the HPA raises the StatefulSet (no replicas of its own in prod) to minReplicas
    asyncio.run(until(both_pods_ready, 240, "pods signaling-0 and signaling-1 are Ready", POLL_S,
                      seen=lambda: seen))
    return autoscaler


def hpa(plane: ControlPlane) -> dict:
    return json.loads(plane.kubectl("get", "hpa", "signaling", "-n", NAMESPACE, "-o", "json").stdout)


async def hpa_until(plane: ControlPlane, wanted, timeout_s: float, what: str) -> dict:
    """The HPA's ``status`` once ``wanted(status)`` is true, polled every ``POLL_S``;
    AssertionError (with the last status) after ``timeout_s`` seconds."""
    last: dict = {}

    async def check() -> dict | None:
        last.clear()
        last.update((await asyncio.to_thread(hpa, plane)).get("status", {}))
        return dict(last) if wanted(last) else None

    return await until(check, timeout_s, what, POLL_S, seen=lambda: last)


async def open_socket(url: str, token: str):
    """An authenticated socket.io connection over a raw WebSocket (docs/signaling.md)."""
    ws = await websockets.connect(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket")
    assert (await asyncio.wait_for(ws.recv(), 20)).startswith("0{")
    await ws.send("40" + json.dumps({"token": token}))
    assert (await asyncio.wait_for(ws.recv(), 20)).startswith("40{")
    return ws


async def answer_pings(sockets) -> None:
    """Keep every socket alive: answer Engine.IO pings (``2``) with pongs (``3``)."""

    async def one(ws) -> None:
        async for frame in ws:
            if frame == "2":
                await ws.send("3")

    await asyncio.gather(*(one(ws) for ws in sockets), return_exceptions=True)


def test_the_adapter_serves_connected_sockets_per_signaling_pod(adapter, signaling) -> None:
    seen: dict = {}

    async def both_pods_have_a_value() -> dict | None:
        seen.clear()
        try:
            items = (await asyncio.to_thread(adapter.custom_metric, NAMESPACE, METRIC))["items"]
        except Exception as exc:  # not listed yet: the adapter relists every 10 s
            seen["error"] = str(exc)[-300:]
            return None
        seen.update({i["describedObject"]["name"]: i["value"] for i in items})
        return dict(seen) if seen.keys() >= {"signaling-0", "signaling-1"} else None

    values = asyncio.run(until(both_pods_have_a_value, 120, "both signaling pods have a value",
                               POLL_S, seen=lambda: seen))
    assert values.keys() == {"signaling-0", "signaling-1"}


async def test_opening_sockets_drives_the_hpa_up(plane, adapter, signaling, stack_info) -> None:
    max_replicas = signaling["spec"]["maxReplicas"]

    def reads_metric(status: dict) -> bool:
        current = [m for m in status.get("currentMetrics") or [] if m.get("type") == "Pods"]
        return bool(current) and status.get("desiredReplicas") == 2

    status = await hpa_until(plane, reads_metric, 240,
                             "the HPA reads the metric with 2 replicas desired")
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["ScalingActive"]["status"] == "True", conditions["ScalingActive"]

    api = ApiClient(stack_info["base_url"])
    email = f"hpa-{uuid.uuid4().hex[:10]}@infra.parley.example.com"
    await api.register(email, "HPA", "correct horse battery")
    await api.login(email, "correct horse battery")
    url = stack_info["services"]["signaling-1"]["url"]
    async with AsyncExitStack() as opened:
        sockets = [await opened.enter_async_context(await open_socket(url, api.access_token))
                   for _ in range(SOCKETS)]
        keepalive = asyncio.create_task(answer_pings(sockets))
        try:
            status = await hpa_until(
                plane, lambda status: status.get("desiredReplicas") == max_replicas, 240,
                f"the HPA wants {max_replicas} replicas")
            (current,) = [m for m in status["currentMetrics"] if m["type"] == "Pods"]
            print(f"HPA: {current['pods']['current']['averageValue']} sockets per pod "
                  f"(target {TARGET}) -> desiredReplicas {status['desiredReplicas']}")
            statefulset = json.loads(plane.kubectl("get", "statefulset", "signaling", "-n", NAMESPACE,
                                                   "-o", "json").stdout)
            assert statefulset["spec"]["replicas"] == max_replicas
            events = plane.kubectl("get", "events", "-n", NAMESPACE, "--field-selector",
                                   "involvedObject.kind=HorizontalPodAutoscaler", "-o", "json").stdout
            reasons = [e["reason"] for e in json.loads(events)["items"]]
            assert "SuccessfulRescale" in reasons, reasons
        finally:
            keepalive.cancel()

"""A real node runs Parley's own images (issue 8, "A real node").

The local control plane (kwok nodes) gets a real node (deploy/local/k8s_node.py: the kubelet
with Debian's containerd and runc). auth's image, built by ``./taskw images`` (podman,
deploy/images/) and imported into the node's containerd from ``podman save``, runs as the dev
overlay's Deployment describes it (probes, security context, read-only root filesystem, the
Secret-mounted signing key, ConfigMaps), with the changes this machine needs: host networking
(there is no pod network here), so the namespace allows it (Pod Security ``privileged``) and
uvicorn listens on the node's address and a free port; the test stack's Kafka and FerretDB on
127.0.0.1; the image never pulled. The Deployment becomes Available only when the kubelet's
readinessProbe gets 200 from ``/readyz``: the container really runs, as uid 10001, and reaches
Kafka and the store.

Then the real node takes over the test stack's services: each of the stack's ten service
processes (auth-1 … web) is stopped in supervisord and replaced by a Deployment of one pod on
the real node, from that service's image and pod template in the dev overlay, with the
process's own settings (deploy/local/components.py ``service_env``) and port on 127.0.0.1, so
the stack's Traefik sends every request to containers; ``python -m parley_probe`` through
Traefik then makes its relayed call across both signaling replicas. A rolling restart of
signaling-2's Deployment follows, with a resumable participant on it: the kubelet's preStop hook
(``GET /drain``) makes it move to signaling-1 and resume there, and its peer never sees it leave
(docs/signaling.md, "Drain"). Afterwards the pods are deleted and the stack's processes started
again.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from components import SERVICES as PROCESSES
from components import service_env, service_of
from k8s_node import NODE_LABEL, NODE_NAME, RealNode
from k8s_plane import ControlPlane, kustomize
from layout import REPO, Stack

sys.path.insert(0, str(REPO / "deploy" / "images"))
from build_images import SERVICES, build_images  # noqa: E402
from podman_env import podman  # noqa: E402

from parley_probe.api import meeting_of_two  # noqa: E402
from parley_probe.signaling import SignalingClient  # noqa: E402
from parley_testing import faults  # noqa: E402
from parley_testing import Stack as StackInfo  # noqa: E402
from parley_testing.coturn import free_port  # noqa: E402

DEV = REPO / "deploy" / "k8s" / "overlays" / "dev"
NAMESPACE = "parley-node"
SERVICE = "auth"

#: building auth's image on a machine without the base image takes minutes (mmdebstrap)
pytestmark = [pytest.mark.exclusive, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def plane(tmp_path_factory, stack_info) -> ControlPlane:
    with ControlPlane(dir=tmp_path_factory.mktemp("k8s-node"), stack=Stack.named("test", stack_info["port_base"]),
                      nodes=1) as cp:
        yield cp


@pytest.fixture(scope="module")
def node(plane) -> RealNode:
    with RealNode(plane) as real:
        yield real


@pytest.fixture(scope="module")
def images(node, tmp_path_factory, request) -> dict[str, str]:
    """Every service's image, built unless up to date, imported into the node's containerd:
    service -> reference."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\ntests/infra/test_k8s_node.py: building the images (./taskw images)", flush=True)
        refs = {s: f"localhost/parley/{s}:{tag}" for s, tag in build_images(SERVICES).items()}
    folder = tmp_path_factory.mktemp("images")
    for service, ref in refs.items():
        archive = folder / f"{service}.tar"
        podman("save", "--format", "docker-archive", "--output", str(archive), ref, capture=True)
        node.import_image(archive)
        archive.unlink()
    return refs


@pytest.fixture(scope="module")
def image(images) -> str:
    return images[SERVICE]


def node_manifests(image: str, stack_info: dict, port: int, ip: str) -> list[dict]:
    """auth's resources of the dev overlay, in ``NAMESPACE``, changed to run on the real node."""
    docs = [d for d in kustomize(DEV)
            if d["kind"] in ("ServiceAccount", "ConfigMap", "Deployment")
            and (d["kind"] != "Deployment" or d["metadata"]["name"] == SERVICE)
            and (d["kind"] != "ConfigMap" or d["metadata"]["name"].startswith(("parley-common", f"{SERVICE}-config")))]
    for doc in docs:
        doc["metadata"]["namespace"] = NAMESPACE
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    pod.update(hostNetwork=True, dnsPolicy="Default", nodeSelector={NODE_LABEL[0]: NODE_LABEL[1]})
    pod.pop("topologySpreadConstraints", None)
    (container,) = pod["containers"]
    container.update(image=image, imagePullPolicy="Never")
    container["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    container["env"] += [
        {"name": "UVICORN_HOST", "value": ip},
        {"name": "UVICORN_PORT", "value": str(port)},
        {"name": "PARLEY_KAFKA_BOOTSTRAP_SERVERS", "value": stack_info["kafka_bootstrap_servers"]},
        {"name": "PARLEY_MONGO_DATABASE", "value": f"node-{port}"},
        {"name": "PARLEY_JWKS_URL", "value": f"http://{ip}:{port}/api/auth/.well-known/jwks.json"},
    ]
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    secrets = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "parley-mongo", "namespace": NAMESPACE},
         "stringData": {"uri": stack_info["mongo_uri"]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "parley-auth-jwt", "namespace": NAMESPACE},
         "stringData": {"private.pem": key.decode()}},
    ]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": NAMESPACE, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
    return [namespace, *secrets, *docs]


def test_the_real_node_is_ready_with_containerd(plane, node) -> None:
    info = json.loads(plane.kubectl("get", "node", NODE_NAME, "-o", "json").stdout)
    assert info["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert info["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.3"
    assert {"type": "InternalIP", "address": node.address.ip} in info["status"]["addresses"]


def test_auth_image_runs_on_the_real_node_and_passes_its_readiness_probe(plane, node, image, stack_info) -> None:
    port = free_port()
    docs = node_manifests(image, stack_info, port, node.address.ip)
    plane.kubectl("apply", "--server-side", "--validate=strict", "--field-manager=parley-test", "-f", "-",
                  input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    waited = plane.kubectl("rollout", "status", f"deployment/{SERVICE}", "-n", NAMESPACE, "--timeout=300s",
                           check=False, timeout=320)
    if waited.returncode != 0:
        pods = plane.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json").stdout
        statuses = [p.get("status", {}) for p in json.loads(pods)["items"]]
        pytest.fail(f"{SERVICE} did not become available on the real node: {waited.stderr}\n"
                    f"{json.dumps(statuses, indent=1)[-3000:]}")
    (pod,) = json.loads(plane.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json").stdout)["items"]
    assert pod["spec"]["nodeName"] == NODE_NAME
    (status,) = pod["status"]["containerStatuses"]
    assert status["ready"] and status["imageID"], status
    # the kubelet probed it; the host reaches it on the node's address too
    response = httpx.get(f"http://{node.address.ip}:{port}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert httpx.get(f"http://{node.address.ip}:{port}/api/auth/.well-known/jwks.json", timeout=10).json()["keys"]
    # the process runs as the manifest's non-root user
    container_id = status["containerID"].removeprefix("containerd://")
    task = node.ctr("tasks", "ls").stdout
    pid = next(int(line.split()[1]) for line in task.splitlines() if line.startswith(container_id))
    uids = next(line.split()[1:] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("Uid:"))
    assert uids == ["10001"] * 4
    # deleting the Deployment stops the container within its grace period
    plane.kubectl("delete", "deployment", SERVICE, "-n", NAMESPACE, "--wait=true", "--timeout=60s", timeout=80)
    deadline = time.monotonic() + 60
    while container_id in node.ctr("tasks", "ls").stdout and time.monotonic() < deadline:
        time.sleep(1)
    assert container_id not in node.ctr("tasks", "ls").stdout


def process_deployment(name: str, image: str, template: dict, env: dict[str, str], port: int) -> dict:
    """A Deployment of one pod on the real node running stack process ``name`` (e.g.
    ``signaling-2``) from ``template`` (the dev overlay's pod template of its service): its
    image, its settings ``env`` (replacing the manifest's), 127.0.0.1:``port``, the probes on
    127.0.0.1; the template's volumes (auth's signing key from Secret ``parley-auth-jwt``)."""
    pod = json.loads(json.dumps(template["spec"]))
    pod.update(hostNetwork=True, dnsPolicy="Default", nodeSelector={NODE_LABEL[0]: NODE_LABEL[1]})
    pod.pop("topologySpreadConstraints", None)
    (container,) = pod["containers"]
    container.update(image=image, imagePullPolicy="Never", envFrom=[])
    container["env"] = [{"name": k, "value": v} for k, v in
                        {**env, "UVICORN_HOST": "127.0.0.1", "UVICORN_PORT": str(port)}.items()]
    container["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    hooks = [container.get("lifecycle", {}).get("preStop", {}).get("httpGet")]  # signaling's /drain
    for get in [container[probe]["httpGet"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")] + hooks:
        if get is not None:
            get.update(host="127.0.0.1", port=port)
    labels = {"app.kubernetes.io/name": service_of(name), "app.kubernetes.io/instance": name}
    # one host port per process: a new pod can only start once the old one has stopped
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "strategy": {"type": "Recreate"},
                     "template": {"metadata": {"labels": labels}, "spec": pod}}}


async def rolling_update_keeps_a_participant(plane: ControlPlane, stack: StackInfo) -> float:
    """Restart signaling-2's Deployment while a resumable participant is on it: the kubelet's
    preStop (``GET /drain``) tells it ``draining``; it connects again through Traefik, lands on
    signaling-1 and resumes; its peer gets ``peer-resumed`` and no ``peer-left``. Returns the
    seconds from the restart to the participant resumed."""
    host_api, guest_api, meeting_id = await meeting_of_two(stack.base_url, "rollout")
    clients: list[SignalingClient] = []
    try:
        services = stack.raw["services"]
        host = SignalingClient("host", services["signaling-2"]["url"], host_api.access_token or "")
        guest = SignalingClient("guest", services["signaling-1"]["url"], guest_api.access_token or "")
        clients += [host, guest]
        for client in (host, guest):
            await client.connect(60)
        host_id = (await host.request("join", {"meeting_id": meeting_id, "resumable": True}, 30))["participant_id"]
        await guest.request("join", {"meeting_id": meeting_id}, 30)

        started = time.monotonic()
        plane.kubectl("rollout", "restart", "deployment/signaling-2", "-n", NAMESPACE)
        assert (await host.wait_for("draining", timeout_s=60)).data == {"replica_id": "signaling-2"}
        moved = SignalingClient("host-again", stack.base_url, host_api.access_token or "")
        clients.append(moved)
        await moved.connect(60)
        assert moved.replica_id == "signaling-1", moved.session
        ack = await moved.request("join", {"meeting_id": meeting_id, "resume": host_id}, 30)
        assert ack["resumed"] is True
        resumed_after = time.monotonic() - started
        await guest.wait_for("peer-resumed", lambda d: d.get("sid") == host_id, timeout_s=30)
        waited = plane.kubectl("rollout", "status", "deployment/signaling-2", "-n", NAMESPACE,
                               "--timeout=300s", check=False, timeout=320)
        assert waited.returncode == 0, waited.stderr
        events = json.loads(plane.kubectl("get", "events", "-n", NAMESPACE, "-o", "json").stdout)["items"]
        assert not [e for e in events if e.get("reason") == "FailedPreStopHook"]
        assert guest.received("peer-left") == []
        await host_api.end_meeting(meeting_id)
        return resumed_after
    finally:
        for client in clients:
            await client.close()
        for api in (host_api, guest_api):
            await api.aclose()


async def test_the_real_node_serves_the_stack_and_the_probe_passes_through_it(
    plane, node, images, stack: StackInfo, stack_info
) -> None:
    local = Stack.named(stack_info["name"], stack_info["port_base"])
    templates = {d["metadata"]["name"]: d["spec"]["template"] for d in kustomize(DEV)
                 if d["kind"] in ("Deployment", "StatefulSet")}
    deployments = []
    for name in PROCESSES:
        env = service_env(local, name)
        if service_of(name) == "web":
            env["PARLEY_WEB_DIST"] = "/app/web/dist"  # the image's own client (config/web.env)
        if service_of(name) == "auth":  # the stack's key, as the manifest mounts it
            key_file = Path(env["PARLEY_JWT_PRIVATE_KEY_FILE"])
            env["PARLEY_JWT_PRIVATE_KEY_FILE"] = "/etc/parley/jwt/private.pem"
        deployments.append(process_deployment(name, images[service_of(name)], templates[service_of(name)],
                                              env, local.port(name)))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": NAMESPACE, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
    serviceaccount = {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "parley", "namespace": NAMESPACE},
                      "automountServiceAccountToken": False}
    jwt_secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "parley-auth-jwt", "namespace": NAMESPACE},
                  "stringData": {"private.pem": key_file.read_text()}}
    rpc = faults.supervisor(stack).supervisor
    stopped = []
    try:
        for name in PROCESSES:
            await asyncio.to_thread(rpc.stopProcess, name, True)
            stopped.append(name)
        plane.kubectl("apply", "--server-side", "--validate=strict", "--field-manager=parley-test", "-f", "-",
                      input=json.dumps({"apiVersion": "v1", "kind": "List",
                                        "items": [namespace, serviceaccount, jwt_secret, *deployments]}))
        for name in PROCESSES:
            waited = plane.kubectl("rollout", "status", f"deployment/{name}", "-n", NAMESPACE,
                                   "--timeout=300s", check=False, timeout=320)
            assert waited.returncode == 0, f"{name} on the real node: {waited.stderr}"
        pods = json.loads(plane.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json").stdout)["items"]
        assert {p["spec"]["nodeName"] for p in pods} == {NODE_NAME}
        assert len(pods) == len(PROCESSES)

        probe = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "parley_probe", "--base-url", stack.base_url],
            capture_output=True, text=True, timeout=240)
        context = f"exit {probe.returncode}\nstderr:\n{probe.stderr[-4000:]}\nstdout:\n{probe.stdout[-2000:]}"
        summary = json.loads(probe.stdout.strip().splitlines()[-1])
        assert summary["ok"] is True and probe.returncode == 0, context
        replicas = summary["signaling_replicas"]
        assert len(replicas) == 2 and replicas[0] != replicas[1], context
        pair = summary["ice_candidate_pair"]
        assert (pair["local"], pair["remote"]) == ("relay", "relay"), context
        print(f"probe through the real node: call_setup_ms {summary['call_setup_ms']}, "
              f"signaling replicas {replicas}")
        resumed_after = await rolling_update_keeps_a_participant(plane, stack)
        print(f"rolling update of signaling-2: its participant resumed on signaling-1 {resumed_after:.1f}s "
              f"after the restart")
    finally:
        plane.kubectl("delete", "deployments", "--all", "-n", NAMESPACE, "--wait=true", "--timeout=120s",
                      check=False, timeout=140)
        deadline = time.monotonic() + 60
        while node.ctr("tasks", "ls", "-q", check=False).stdout.split() and time.monotonic() < deadline:
            time.sleep(1)
        for name in stopped:
            await faults.start(stack, name)
        await faults.stack_ready(stack, timeout_s=600)  # each waits for Kafka and the store again

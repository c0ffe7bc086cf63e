"""deploy/k8s/ on a real Kubernetes control plane (issue 8).

A local control plane (deploy/local/k8s_plane.py: etcd, kube-apiserver, controller-manager,
scheduler, and kwok playing the kubelet of three fake nodes) starts on 127.0.0.1 at the port
base + 200…205, and the CRDs of deploy/local/k8s_crds.py (Strimzi's as Parley wrote them,
Prometheus Operator, Traefik, cert-manager, MongoDB Community) are installed first. Each
overlay, rendered by the kubectl built from v1.36.3, is applied with
``kubectl apply --server-side --validate=strict`` (dev in namespaces ``parley``, ``kafka``,
``mongodb``, ``parley-turn``; prod moved to the same names with ``-prod``): the apiserver
validates every custom resource against its CRD's schema and must accept them all (the
infrastructure's, the routes', and the ServiceMonitors and PrometheusRule of
deploy/k8s/monitoring, which every overlay includes, with its Grafana dashboards' ConfigMaps),
and refuse a KafkaTopic with a misspelled field. Every Deployment must become Available and the signaling StatefulSet ready,
with every pod Running and Ready on a kwok node (prod: the two replicas of each on two
nodes); each ``signaling-N`` Service must select pod signaling-N alone; the
PodDisruptionBudgets must be processed by the disruption controller, the NetworkPolicies
accepted (kwok enforces none: their flows are checked on the rendering); prod's
HorizontalPodAutoscaler brings signaling to its two replicas and reports that it cannot read
its metric yet (no custom metrics API); evicting prod's two
signaling pods one after the other is refused by the PDB until the first is back. A manifest with an
unknown field, and a pod outside the namespace's ``restricted`` Pod Security Standard, are
refused by the apiserver.

kwok runs no container: images (dev: ``localhost/parley/<service>:dev``, as ``./taskw images``
names them; prod: ``parley/<service>:dev`` placeholders), probes and volumes are not exercised
here (deploy/k8s/README.md; the images are tested in test_images.py).
"""

from __future__ import annotations

import copy
import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from k8s_crds import crd_files
from k8s_plane import ControlPlane, ControlPlaneError, kustomize
from layout import (
    K8S_OFFSETS, OFFSETS, RELAY_FIRST, RELAY_LAST, Stack, kube_score_bin,
)

DEPLOY_K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
DEV = DEPLOY_K8S / "overlays" / "dev"
PROD = DEPLOY_K8S / "overlays" / "prod"
KUBE_SCORE_IGNORED = DEPLOY_K8S / "kube-score-ignore.txt"
NAMESPACE = "parley"
#: the namespaces of deploy/k8s/infra
KAFKA_NS, MONGO_NS, TURN_NS = "kafka", "mongodb", "parley-turn"
DEPLOYMENTS = ("auth", "meetings", "chat", "turn-config", "web")
ROLLOUT_TIMEOUT = "240s"  # a loaded 2-core machine; kwok itself takes about a second

pytestmark = pytest.mark.timeout(900)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module")
def plane(tmp_path_factory) -> ControlPlane:
    with ControlPlane(dir=tmp_path_factory.mktemp("k8s"), stack=Stack.named("test"),
                      nodes=3) as running:
        running.install_crds(crd_files())  # before any custom resource is applied
        yield running


def apply_namespace(plane: ControlPlane) -> None:
    """The overlay's Namespace and ServiceAccount alone (what a test that dry-runs one object
    needs: a pod naming a missing ServiceAccount is refused for that first)."""
    docs = kustomize(DEV)
    for doc in (by_kind(docs, "Namespace")[NAMESPACE], by_kind(docs, "ServiceAccount")["parley"]):
        plane.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(doc))


def test_control_plane_ports_lie_in_the_stack_range_and_clash_with_nothing():
    stack = Stack(name="test", base=22000)
    ports = {stack.k8s_port(name) for name in K8S_OFFSETS}
    assert len(ports) == len(K8S_OFFSETS)
    assert all(22000 <= p <= 22999 for p in ports)
    assert not ports & set(stack.all_ports())
    assert not {o for o in K8S_OFFSETS.values() if RELAY_FIRST <= o <= RELAY_LAST}
    assert not set(K8S_OFFSETS.values()) & set(OFFSETS.values())


def test_dev_overlay_renders_what_the_cluster_needs():
    docs = kustomize(DEV)
    deployments, statefulsets = by_kind(docs, "Deployment"), by_kind(docs, "StatefulSet")
    assert sorted(deployments) == sorted(DEPLOYMENTS)
    assert list(statefulsets) == ["signaling"]
    assert sorted(by_kind(docs, "PodDisruptionBudget")) == sorted([*DEPLOYMENTS, "signaling"])
    assert not by_kind(docs, "Secret"), "no Secret is committed: they are referenced only"
    assert by_kind(docs, "ServiceAccount")["parley"]["automountServiceAccountToken"] is False
    # one session Service per signaling pod, and only for pods that exist (dev: one)
    services = by_kind(docs, "Service")
    assert {"signaling", "signaling-pods", "signaling-0"} <= set(services)
    assert "signaling-1" not in services
    assert services["signaling-0"]["spec"]["selector"][
        "statefulset.kubernetes.io/pod-name"] == "signaling-0"
    for name, workload in {**deployments, **statefulsets}.items():
        assert workload["spec"]["replicas"] == 1, name
        pod = workload["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["serviceAccountName"] == "parley"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        (container,) = pod["containers"]
        assert container["image"] == f"localhost/parley/{name}:dev"  # ./taskw images' name
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        config_maps = [e["configMapRef"]["name"] for e in container["envFrom"]]
        assert any(c.startswith(f"{name}-config-") for c in config_maps), config_maps
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny and "egress" not in deny
    for name in [*DEPLOYMENTS, "signaling"]:
        ingress = policies[f"{name}-ingress"]["spec"]
        assert ingress["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == name
        ports = [8080, 8081] if name == "signaling" else [8080]  # 8081: the replica link
        assert [p["port"] for rule in ingress["ingress"] for p in rule["ports"]] == ports
    # the replica link: only signaling pods reach it, and signaling may dial it
    link_from = [rule["from"] for rule in policies["signaling-ingress"]["spec"]["ingress"]
                 if rule["ports"] == [{"protocol": "TCP", "port": 8081}]]
    assert link_from == [[{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "signaling"}}}]]
    assert {"to": link_from[0], "ports": [{"protocol": "TCP", "port": 8081}]} in policies[
        "signaling-egress"]["spec"]["egress"]
    # the JWKS: whoever verifies tokens may reach auth, and auth lets them in
    auth_from = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                 for rule in policies["auth-ingress"]["spec"]["ingress"] for peer in rule["from"]
                 if "podSelector" in peer}
    assert auth_from == {"meetings", "chat", "signaling", "turn-config"}
    for caller in auth_from:
        egress_to = [peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                     for rule in policies[f"{caller}-egress"]["spec"]["egress"]
                     for peer in rule["to"]]
        assert "auth" in egress_to, caller
    sid_prefix = {e["name"]: e for e in statefulsets["signaling"]["spec"]["template"]["spec"][
        "containers"][0]["env"]}["PARLEY_SIGNALING_SID_PREFIX"]
    assert sid_prefix["value"] == "s$(POD_INDEX)_"
    env = {e["name"]: e for e in statefulsets["signaling"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["PARLEY_SIGNALING_LINK_HOST"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["PARLEY_SIGNALING_LINK_PORT"]["value"] == "8081"


def test_prod_overlay_renders_two_replicas_spread_over_nodes():
    docs = kustomize(PROD)
    workloads = {**by_kind(docs, "Deployment"), **by_kind(docs, "StatefulSet")}
    assert sorted(workloads) == sorted([*DEPLOYMENTS, "signaling"])
    for name, workload in workloads.items():
        (spread,) = workload["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert spread["whenUnsatisfiable"] == "DoNotSchedule", name
        assert spread["topologyKey"] == "kubernetes.io/hostname"
        if name != "signaling":
            assert workload["spec"]["replicas"] == 2, name
    # the HPA owns signaling's replicas; a session Service for every pod it may create
    assert "replicas" not in workloads["signaling"]["spec"]
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["signaling"]
    assert hpa["metadata"]["namespace"] == workloads["signaling"]["metadata"]["namespace"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet",
                                             "name": "signaling"}
    assert hpa["spec"]["minReplicas"] == 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["pods"]["metric"]["name"] == "parley_signaling_connected_sockets"
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    services = by_kind(docs, "Service")
    assert {f"signaling-{i}" for i in range(hpa["spec"]["maxReplicas"])} <= set(services)
    assert not by_kind(docs, "Secret")


@pytest.mark.parametrize("overlay", [DEV, PROD], ids=["dev", "prod"])
def test_kube_score_finds_nothing_critical(overlay: Path):
    ignored = [line.strip() for line in KUBE_SCORE_IGNORED.read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
    scored = subprocess.run([str(kube_score_bin()), "score", "--output-format", "ci",
                             *(f"--ignore-test={test}" for test in ignored), "-"],
                            input=yaml.safe_dump_all(kustomize(overlay)), capture_output=True,
                            text=True)
    critical = [line for line in scored.stdout.splitlines() if line.startswith("[CRITICAL]")]
    assert not critical, "\n".join(critical)
    assert scored.returncode == 0, scored.stderr
    assert "[OK]" in scored.stdout  # it did score the objects


def create_secrets(plane: ControlPlane, suffix: str = "") -> None:
    """The Secrets the manifests reference, made up for the test (never committed): Parley's
    in ``parley``, the TURN secret's same value in ``parley-turn`` (coturn), MongoDB's user
    password in ``mongodb``; each namespace name with ``suffix``."""
    turn = f"secret={secrets.token_urlsafe(32)}"
    for namespace, name, literal in (
            (NAMESPACE, "parley-mongo", "uri=mongodb://parley:test@mongo:27017/"),
            (NAMESPACE, "parley-turn", turn),
            (NAMESPACE, "parley-auth-jwt", "private.pem=not-a-key"),
            (TURN_NS, "parley-turn", turn),
            (MONGO_NS, "parley-mongo-password", f"password={secrets.token_urlsafe(24)}")):
        manifest = plane.kubectl("create", "secret", "generic", name, "-n", namespace + suffix,
                                 f"--from-literal={literal}", "--dry-run=client", "-o", "json")
        plane.kubectl("apply", "--server-side", "-f", "-", input=manifest.stdout)


def in_namespace(docs: list[dict], suffix: str) -> list[dict]:
    """The rendered objects moved to their namespaces' names with ``suffix`` (so two overlays
    can be applied side by side)."""
    moved = copy.deepcopy(docs)
    for doc in moved:
        if doc["kind"] == "Namespace":
            doc["metadata"]["name"] += suffix
        else:
            doc["metadata"]["namespace"] += suffix
    return moved


def rollout(plane: ControlPlane, workload: str, namespace: str) -> None:
    """``kubectl rollout status``; on a time-out the error carries the namespace's events
    (why a pod is not scheduled or not ready)."""
    try:
        plane.kubectl("rollout", "status", workload, "-n", namespace,
                      f"--timeout={ROLLOUT_TIMEOUT}", timeout=300)
    except ControlPlaneError as exc:
        events = plane.kubectl("get", "events", "-n", namespace, check=False).stdout
        raise AssertionError(f"{exc}\nevents:\n{events}") from None


def contains(stored, applied) -> bool:
    """``stored`` holds everything of ``applied`` (and may add the CRD schema's defaults)."""
    if isinstance(applied, dict):
        return isinstance(stored, dict) and all(
            key in stored and contains(stored[key], value) for key, value in applied.items())
    if isinstance(applied, list):
        return isinstance(stored, list) and len(stored) == len(applied) and all(
            contains(s, a) for s, a in zip(stored, applied))
    return stored == applied


def custom_resources_stored(plane: ControlPlane, docs: list[dict]) -> None:
    """Every custom resource of ``docs`` is on the server, spec as applied (no field pruned:
    a field the CRD's schema lacks would have been refused, or dropped without strict
    validation), plus the schema's defaults."""
    custom = [d for d in docs if "." in d["apiVersion"].split("/")[0]
              and not d["apiVersion"].split("/")[0].endswith(".k8s.io")]
    assert {d["kind"] for d in custom} >= {"Kafka", "KafkaNodePool", "KafkaTopic",
                                           "MongoDBCommunity", "IngressRoute", "Middleware",
                                           "Certificate", "ServiceMonitor", "PrometheusRule"}
    resources = sorted({f"{d['kind'].lower()}.{d['apiVersion'].split('/')[0]}" for d in custom})
    stored = {(s["kind"], s["metadata"]["namespace"], s["metadata"]["name"]): s
              for s in json.loads(plane.kubectl("get", ",".join(resources), "-A", "-o", "json")
                                  .stdout)["items"]}
    for doc in custom:
        key = (doc["kind"], doc["metadata"]["namespace"], doc["metadata"]["name"])
        assert key in stored, key
        assert contains(stored[key]["spec"], doc["spec"]), key


def apply_and_roll_out(plane: ControlPlane, docs: list[dict], suffix: str,
                       replicas: int) -> list[dict]:
    """Apply ``docs`` (namespaces' names with ``suffix``) server-side with strict validation,
    check the custom resources stored, wait for every rollout, check every pod of Parley's
    namespace, the signaling-N Services, the PDBs and coturn's DaemonSet; returns the pods of
    Parley's namespace."""
    namespace = NAMESPACE + suffix
    applied = plane.kubectl("apply", "--server-side", "--validate=strict",
                            "--field-manager=parley-test", "-f", "-",
                            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    assert "deployment.apps/auth serverside-applied" in applied.stdout
    assert "kafkatopic.kafka.strimzi.io/parley.signaling.fanout serverside-applied" in applied.stdout
    assert "servicemonitor.monitoring.coreos.com/signaling serverside-applied" in applied.stdout
    custom_resources_stored(plane, docs)
    # the Grafana dashboards (deploy/k8s/monitoring), where the sidecar finds them by label
    dashboards = plane.kubectl("get", "configmaps", "-n", namespace, "-l", "grafana_dashboard=1",
                               "-o", "name").stdout.split()
    assert sorted(dashboards) == sorted(
        f"configmap/{d['metadata']['name']}" for d in docs if d["kind"] == "ConfigMap"
        and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1")
    assert len(dashboards) == 4
    create_secrets(plane, suffix)
    # coturn: one pod per node (all three kwok nodes; each may carry one: host ports)
    plane.kubectl("wait", "daemonset/coturn", "-n", TURN_NS + suffix, "--timeout=120s",
                  "--for=jsonpath={.status.desiredNumberScheduled}=3", timeout=150)
    if any(d["kind"] == "HorizontalPodAutoscaler" for d in docs):
        # signaling's count comes from its HPA, which raises it to minReplicas even while it
        # cannot read its metric (no custom metrics API here)
        plane.kubectl("wait", "statefulset/signaling", "-n", namespace, "--timeout=120s",
                      f"--for=jsonpath={{.spec.replicas}}={replicas}", timeout=150)
    for name in DEPLOYMENTS:
        rollout(plane, f"deployment/{name}", namespace)
    rollout(plane, "statefulset/signaling", namespace)
    plane.kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", namespace,
                  "--timeout=60s")

    pods = json.loads(plane.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
    assert len(pods) == replicas * (len(DEPLOYMENTS) + 1)
    for pod in pods:
        name = pod["metadata"]["name"]
        assert pod["spec"]["nodeName"].startswith("kwok-node-"), name
        assert pod["status"]["phase"] == "Running", name
        assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"

    for index in range(replicas):
        signaling = next(p for p in pods if p["metadata"]["name"] == f"signaling-{index}")
        # what PARLEY_SIGNALING_SID_PREFIX is made of (s$(POD_INDEX)_ -> s0_, s1_, ...)
        assert signaling["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == str(index)
        slices = json.loads(plane.kubectl(
            "get", "endpointslices", "-n", namespace, "-o", "json",
            "-l", f"kubernetes.io/service-name=signaling-{index}").stdout)["items"]
        addresses = [a for s in slices for e in s.get("endpoints") or []
                     if e["conditions"].get("ready") for a in e["addresses"]]
        assert addresses == [signaling["status"]["podIP"]], f"signaling-{index}"

    # Parley's, MongoDB's and coturn's NetworkPolicies, each in its namespace
    applied_policies = {(d["metadata"]["namespace"], d["metadata"]["name"])
                        for d in docs if d["kind"] == "NetworkPolicy"}
    assert {ns for ns, _ in applied_policies} == {namespace, MONGO_NS + suffix, TURN_NS + suffix}
    stored_policies = {(p["metadata"]["namespace"], p["metadata"]["name"]) for ns in
                       {ns for ns, _ in applied_policies} for p in json.loads(plane.kubectl(
                           "get", "networkpolicies", "-n", ns, "-o", "json").stdout)["items"]}
    assert stored_policies == applied_policies

    pdbs = json.loads(plane.kubectl("get", "pdb", "-n", namespace, "-o", "json").stdout)["items"]
    assert sorted(p["metadata"]["name"] for p in pdbs) == sorted([*DEPLOYMENTS, "signaling"])
    for pdb in pdbs:
        status, name = pdb["status"], pdb["metadata"]["name"]
        assert status["observedGeneration"] == pdb["metadata"]["generation"]
        assert status["expectedPods"] == status["currentHealthy"] == replicas, name
        assert status["disruptionsAllowed"] == 1, name
    return pods


def test_dev_overlay_rolls_out_on_kwok_nodes(plane: ControlPlane):
    apply_and_roll_out(plane, kustomize(DEV), "", replicas=1)
    # dev's coturn runs on every node (prod's, applied beside it, finds their host ports taken)
    rollout(plane, "daemonset/coturn", TURN_NS)


def test_prod_overlay_rolls_out_two_replicas_of_each_on_different_nodes(plane: ControlPlane):
    pods = apply_and_roll_out(plane, in_namespace(kustomize(PROD), "-prod"), "-prod",
                              replicas=2)
    nodes: dict[str, set[str]] = {}
    for pod in pods:
        nodes.setdefault(pod["metadata"]["labels"]["app.kubernetes.io/name"], set()).add(
            pod["spec"]["nodeName"])
    assert sorted(nodes) == sorted([*DEPLOYMENTS, "signaling"])
    assert all(len(on) == 2 for on in nodes.values()), nodes  # the two replicas on two nodes
    # no prometheus-adapter yet: the controller says so rather than guessing (it syncs every 15 s)
    plane.kubectl("wait", "hpa/signaling", "-n", "parley-prod", "--timeout=120s",
                  "--for=condition=ScalingActive=False", timeout=150)
    hpa = json.loads(plane.kubectl("get", "hpa", "signaling", "-n", "parley-prod",
                                   "-o", "json").stdout)
    conditions = {c["type"]: c for c in hpa["status"]["conditions"]}
    assert conditions["AbleToScale"]["status"] == "True"
    assert conditions["ScalingActive"]["reason"] == "FailedGetPodsMetric"
    assert hpa["status"]["desiredReplicas"] == 2


def evict(plane: ControlPlane, namespace: str, pod: str) -> subprocess.CompletedProcess:
    """POST an Eviction of ``pod`` (what ``kubectl drain`` does); the PDB may refuse it (429)."""
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pod, "namespace": namespace}}
    return plane.kubectl("create", "--raw",
                         f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", "-f", "-",
                         input=json.dumps(eviction), check=False)


def test_a_drain_takes_one_signaling_pod_at_a_time(plane: ControlPlane):
    """prod's signaling PDB (maxUnavailable 1): while one evicted pod is still terminating, the
    eviction of the other is refused (429); once it is gone and replaced, the drain goes on.

    kwok deletes an evicted pod at once, where a real one drains its sockets first: a finalizer
    keeps signaling-0 Terminating until the test lifts it."""
    namespace = "parley-prod"
    if plane.kubectl("get", "statefulset", "signaling", "-n", namespace, check=False).returncode:
        apply_and_roll_out(plane, in_namespace(kustomize(PROD), "-prod"), "-prod", replicas=2)
    plane.kubectl("patch", "pod", "signaling-0", "-n", namespace, "--type=merge",
                  "-p", json.dumps({"metadata": {"finalizers": ["parley.test/draining"]}}))
    first = evict(plane, namespace, "signaling-0")
    assert first.returncode == 0, first.stderr
    second = evict(plane, namespace, "signaling-1")
    assert second.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget" in second.stderr
    plane.kubectl("patch", "pod", "signaling-0", "-n", namespace, "--type=json",
                  "-p", json.dumps([{"op": "remove", "path": "/metadata/finalizers"}]))
    rollout(plane, "statefulset/signaling", namespace)
    plane.kubectl("wait", "pdb/signaling", "-n", namespace,
                  "--for=jsonpath={.status.disruptionsAllowed}=1", "--timeout=120s")
    evicted = json.loads(plane.kubectl("get", "pod", "signaling-1", "-n", namespace, "-o", "json").stdout)
    third = evict(plane, namespace, "signaling-1")
    assert third.returncode == 0, third.stderr

    def ready() -> set[str]:
        """The signaling pods Ready now, the evicted one's replacement only (not the evicted pod)."""
        pods = json.loads(plane.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/name=signaling",
                                        "-o", "json").stdout)["items"]
        return {p["metadata"]["name"] for p in pods
                if p["metadata"]["uid"] != evicted["metadata"]["uid"] and "deletionTimestamp" not in p["metadata"]
                and {c["type"]: c["status"] for c in p["status"].get("conditions", [])}.get("Ready") == "True"}

    # the StatefulSet's status may still show the evicted pod: `rollout status` can pass before
    # the replacement exists, so wait for the pods themselves
    deadline = time.monotonic() + 120
    while ready() != {"signaling-0", "signaling-1"} and time.monotonic() < deadline:
        time.sleep(1)
    assert ready() == {"signaling-0", "signaling-1"}


def test_a_manifest_with_an_unknown_field_is_refused(plane: ControlPlane):
    apply_namespace(plane)
    auth = copy.deepcopy(by_kind(kustomize(DEV), "Deployment")["auth"])
    auth["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}  # a typo
    refused = plane.kubectl("apply", "--server-side", "--validate=strict", "--dry-run=server",
                            "-f", "-", input=json.dumps(auth), check=False)
    assert refused.returncode != 0
    assert ('.spec.template.spec.containers[name="auth"].livenessProbes: '
            'field not declared in schema') in refused.stderr


def test_a_pod_outside_the_restricted_pod_security_standard_is_refused(plane: ControlPlane):
    apply_namespace(plane)
    template = by_kind(kustomize(DEV), "Deployment")["web"]["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-as-root", "namespace": NAMESPACE},
           "spec": copy.deepcopy(template["spec"])}
    del pod["spec"]["containers"][0]["securityContext"]["capabilities"]
    refused = plane.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-",
                            input=json.dumps(pod), check=False)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr


def test_a_kafka_topic_with_a_misspelled_field_is_refused(plane: ControlPlane):
    """The apiserver validates custom resources against their CRD's schema: Strimzi's (as
    deploy/k8s/crds/strimzi.yaml writes it) has no ``partiton``."""
    topic = copy.deepcopy(by_kind(kustomize(DEV), "KafkaTopic")["parley.chat"])
    plane.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KAFKA_NS}}))
    accepted = plane.kubectl("apply", "--server-side", "--validate=strict", "--dry-run=server",
                             "-f", "-", input=json.dumps(topic), check=False)
    assert accepted.returncode == 0, accepted.stderr
    topic["spec"]["partiton"] = topic["spec"].pop("partitions")  # a typo
    refused = plane.kubectl("apply", "--server-side", "--validate=strict", "--dry-run=server",
                            "-f", "-", input=json.dumps(topic), check=False)
    assert refused.returncode != 0
    assert ".spec.partiton: field not declared in schema" in refused.stderr, refused.stderr

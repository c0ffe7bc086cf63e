"""deploy/k8s/ validated offline, and its infrastructure as the field runs it (issue 8).

Every overlay renders (the kubectl built from v1.36.3); kubernetes-validate 1.37.0
``--strict`` (its bundled schemas of Kubernetes 1.36) passes on the built-in kinds and names
no kind it could not check but the custom ones; kubeconform v0.8.0 ``-strict`` passes on every
custom resource (the infrastructure's, the routes', and deploy/k8s/monitoring's ServiceMonitors
and PrometheusRule, which every overlay includes), with JSON schemas converted by its own openapi2jsonschema.py from the CRDs
of deploy/local/k8s_crds.py (the same the control-plane test installs), each custom resource
found and valid, none skipped. Both refuse a misspelled field. The rendering is also checked
against what Parley needs: a KafkaTopic for every topic of parley_events.topics with its
partitions and retention; KRaft node pool, MongoDB replica set and topic replication per
overlay; the session routes of signaling; coturn on the host network sharing the TURN secret.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s_crds import SOURCES, STRIMZI_CRDS, convert, crd_files, schema_locations
from k8s_plane import kustomize
from layout import KUBECONFORM_VERSION, kubeconform_bin
from parley_events.topics import TOPICS, declarations
from parley_settings import KafkaTopicSettings

#: libyaml's loader where PyYAML has it (Traefik's CRD file alone is 250 kB)
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEPLOY_K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = {"dev": DEPLOY_K8S / "overlays" / "dev", "prod": DEPLOY_K8S / "overlays" / "prod"}
TURN_CONF = DEPLOY_K8S / "infra" / "coturn" / "turnserver.conf"
#: the Kubernetes version the manifests are validated against (the local control plane's)
KUBERNETES_MINOR = "1.36.0"
#: replicas of each overlay: Kafka nodes, MongoDB members, copies of each topic and the
#: min.insync.replicas of its config
INFRA = {"dev": (1, 1, 1, "1"), "prod": (3, 3, 3, "2")}


@functools.cache
def _rendered(overlay: str) -> tuple[dict, ...]:
    return tuple(kustomize(OVERLAYS[overlay]))


def render(overlay: str) -> list[dict]:
    """The objects of ``overlay`` (rendered once per test run; a deep copy each call)."""
    return copy.deepcopy(list(_rendered(overlay)))


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@functools.cache
def crd_kinds() -> dict[str, str]:
    """kind -> group of every CRD of deploy/local/k8s_crds.py."""
    kinds = {}
    for path in crd_files():
        for crd in yaml.load_all(path.read_text(), Loader=SafeLoader):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                kinds[crd["spec"]["names"]["kind"]] = crd["spec"]["group"]
    return kinds


def is_custom(doc: dict) -> bool:
    return doc["kind"] in crd_kinds() and doc["apiVersion"].startswith(crd_kinds()[doc["kind"]] + "/")


@pytest.fixture(scope="module")
def strimzi_schemas(tmp_path_factory) -> Path:
    return convert([STRIMZI_CRDS], tmp_path_factory.mktemp("strimzi-schemas"))


def kubeconform(docs: list[dict], strimzi_schemas: Path) -> subprocess.CompletedProcess:
    """``kubeconform -strict -summary`` over ``docs`` with the CRDs' schemas only (no
    download: a kind without a schema is an error)."""
    locations = [arg for loc in schema_locations(strimzi_schemas)
                 for arg in ("-schema-location", loc)]
    return subprocess.run([str(kubeconform_bin()), "-strict", "-summary",
                           "-kubernetes-version", KUBERNETES_MINOR, *locations, "-"],
                          input=yaml.safe_dump_all(docs), capture_output=True, text=True)


def kubernetes_validate(docs: list[dict]) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).parent / "kubernetes-validate"
    return subprocess.run([str(cli), "--strict", "-k", KUBERNETES_MINOR, "-"],
                          input=yaml.safe_dump_all(docs), capture_output=True, text=True)


def test_the_crd_sources_are_installed_where_the_list_says():
    """After ``./taskw install:k8s``: every source's files, from its Go module, and the tools."""
    for source in SOURCES:
        assert (source.dir / "crds" / ".complete").read_text().strip() == \
            f"{source.module}@v{source.version}"
        for path in source.crd_files:
            assert "CustomResourceDefinition" in path.read_text(), path
    version = subprocess.run([str(kubeconform_bin()), "-v"], capture_output=True, text=True)
    assert version.stdout.strip() in (f"v{KUBECONFORM_VERSION}", KUBECONFORM_VERSION,
                                      "development"), version
    assert "NOT STRIMZI'S CRDs" in STRIMZI_CRDS.read_text().splitlines()[1]


def test_every_custom_kind_rendered_has_a_crd():
    kinds = crd_kinds()
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "MongoDBCommunity", "IngressRoute",
            "Middleware", "Certificate", "ServiceMonitor", "PrometheusRule"} <= set(kinds)
    for overlay in OVERLAYS:
        for doc in render(overlay):
            group = doc["apiVersion"].rpartition("/")[0]
            if "." in group and not group.endswith(".k8s.io"):
                assert kinds.get(doc["kind"]) == group, (overlay, doc["kind"], group)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_validate_strict_passes_and_leaves_only_custom_kinds(overlay: str):
    docs = render(overlay)
    checked = kubernetes_validate(docs)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERROR" not in checked.stdout
    # what it could not check, it says so: only the custom kinds, which kubeconform checks
    unchecked = set(re.findall(r"Couldn't find schema for kind (\w+)", checked.stdout))
    assert unchecked == {d["kind"] for d in docs if is_custom(d)}
    passed = len(re.findall(r"^INFO .* passed for resource", checked.stdout, re.M))
    assert passed == sum(1 for d in docs if not is_custom(d))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubeconform_strict_passes_on_every_custom_resource(overlay: str, strimzi_schemas: Path):
    custom = [d for d in render(overlay) if is_custom(d)]
    # deploy/k8s/monitoring's ServiceMonitors and PrometheusRule, beside the infrastructure's
    assert {"ServiceMonitor", "PrometheusRule", "KafkaTopic", "IngressRoute"} <= {
        d["kind"] for d in custom}
    checked = kubeconform(custom, strimzi_schemas)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (f"{len(custom)} resources found parsing stdin - Valid: {len(custom)}, Invalid: 0, "
            "Errors: 0, Skipped: 0") in checked.stdout, checked.stdout


def test_a_misspelled_field_is_refused_by_both_validators(strimzi_schemas: Path):
    docs = render("dev")
    topic = copy.deepcopy(by_kind(docs, "KafkaTopic")["parley.chat"])
    topic["spec"]["partiton"] = topic["spec"].pop("partitions")
    route = copy.deepcopy(by_kind(docs, "IngressRoute")["parley"])
    route["spec"]["routes"][0]["middleware"] = route["spec"]["routes"][0].pop("middlewares")
    monitor = copy.deepcopy(by_kind(docs, "ServiceMonitor")["auth"])
    monitor["spec"]["endpoints"][0]["paths"] = monitor["spec"]["endpoints"][0].pop("path")
    checked = kubeconform([topic, route, monitor], strimzi_schemas)
    assert checked.returncode != 0
    assert "Invalid: 3" in checked.stdout, checked.stdout
    for typo in ("partiton", "middleware", "paths"):
        assert f"additional properties '{typo}' not allowed" in checked.stdout, typo

    auth = copy.deepcopy(by_kind(docs, "Deployment")["auth"])
    auth["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    refused = kubernetes_validate([auth])
    assert refused.returncode != 0
    assert "'livenessProbes' was unexpected" in refused.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_has_a_topic_for_every_parley_topic(overlay: str):
    nodes, _, copies, min_isr = INFRA[overlay]
    docs = render(overlay)
    (kafka,) = by_kind(docs, "Kafka").values()
    (pool,) = by_kind(docs, "KafkaNodePool").values()
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]  # KRaft, no ZooKeeper
    assert pool["spec"]["replicas"] == nodes
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == int(min_isr)
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    expected = {d.name: d for d in declarations(KafkaTopicSettings(
        kafka_topic_replication_factor=copies, kafka_topic_min_insync_replicas=int(min_isr)))}
    topics = by_kind(docs, "KafkaTopic")
    assert {t["spec"]["topicName"] for t in topics.values()} == {t.name for t in TOPICS}
    for topic in topics.values():
        want = expected[topic["spec"]["topicName"]]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert topic["metadata"]["namespace"] == kafka["metadata"]["namespace"]
        assert topic["spec"]["partitions"] == want.partitions
        assert topic["spec"]["replicas"] == want.replication_factor
        assert topic["spec"]["config"] == want.configs
    # the services' bootstrap address is Strimzi's Service of this cluster and namespace
    common = next(c for name, c in by_kind(docs, "ConfigMap").items()
                  if name.startswith("parley-common-"))
    assert common["data"]["PARLEY_KAFKA_BOOTSTRAP_SERVERS"] == (
        f"{kafka['metadata']['name']}-kafka-bootstrap.{kafka['metadata']['namespace']}:9092")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_mongodb_is_a_replica_set_whose_password_is_a_secret_reference(overlay: str):
    _, members, _, _ = INFRA[overlay]
    docs = render(overlay)
    (mongo,) = by_kind(docs, "MongoDBCommunity").values()
    assert mongo["spec"]["type"] == "ReplicaSet" and mongo["spec"]["members"] == members
    (user,) = mongo["spec"]["users"]
    assert user["passwordSecretRef"] == {"name": "parley-mongo-password", "key": "password"}
    assert {r["db"] for r in user["roles"]} == {"auth", "meetings", "chat"}
    assert {r["name"] for r in user["roles"]} == {"readWrite"}
    assert not by_kind(docs, "Secret"), "no Secret is committed: they are referenced only"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_traefik_routes_every_signaling_pod_and_serves_tls_from_cert_manager(overlay: str):
    docs = render(overlay)
    routes = by_kind(docs, "IngressRoute")
    middlewares = by_kind(docs, "Middleware")
    services = by_kind(docs, "Service")
    session_services = sorted(n for n in services if re.fullmatch(r"signaling-\d+", n))
    assert sorted(n.removesuffix("-session") for n in routes if n.endswith("-session")) == \
        session_services
    for name in session_services:
        (route,) = routes[f"{name}-session"]["spec"]["routes"]
        index = name.removeprefix("signaling-")
        assert route["match"] == f"PathPrefix(`/socket.io`) && QueryRegexp(`sid`, `^s{index}_`)"
        assert route["priority"] > max(r.get("priority", 0) for r in
                                       routes["parley"]["spec"]["routes"])
        assert route["services"] == [{"name": name, "port": 8080}]
    certificates = by_kind(docs, "Certificate")
    for route in routes.values():
        assert route["spec"]["entryPoints"] == ["websecure"]
        assert route["spec"]["tls"]["secretName"] == certificates["parley-tls"]["spec"]["secretName"]
        for rule in route["spec"]["routes"]:
            used = [m["name"] for m in rule["middlewares"]]
            assert used[0] == "security-headers"
            assert set(used) <= set(middlewares)
            if not rule["match"].startswith("PathPrefix(`/`)"):
                assert any(m.endswith("rate-limit") for m in used), rule["match"]
    assert certificates["parley-tls"]["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    chat = next(r for r in routes["parley"]["spec"]["routes"] if "/api/chat" in r["match"])
    assert chat["services"][0]["sticky"]["cookie"]["name"] == "parley_chat_replica"
    headers = middlewares["security-headers"]["spec"]["headers"]
    assert headers["frameDeny"] and headers["stsSeconds"] >= 31536000


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_coturn_runs_on_every_node_with_the_production_configuration(overlay: str):
    docs = render(overlay)
    coturn = by_kind(docs, "DaemonSet")["coturn"]
    pod = coturn["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    (container,) = pod["containers"]
    assert container["args"][:2] == ["-c", "/etc/coturn/turnserver.conf"]
    assert "--static-auth-secret=$(PARLEY_TURN_SECRET)" in container["args"]
    config = next(c for name, c in by_kind(docs, "ConfigMap").items()
                  if name.startswith("coturn-config-"))
    assert config["data"]["turnserver.conf"] == TURN_CONF.read_text()
    assert config["metadata"]["namespace"] == coturn["metadata"]["namespace"]
    # one TURN secret: the same Secret name and key for coturn and turn-config
    turn_config = by_kind(docs, "Deployment")["turn-config"]["spec"]["template"]["spec"]
    refs = [e["valueFrom"]["secretKeyRef"] for c in (container, turn_config["containers"][0])
            for e in c["env"] if e["name"] == "PARLEY_TURN_SECRET"]
    assert refs == [{"name": "parley-turn", "key": "secret"}] * 2
    # host networking is refused in Parley's `restricted` namespace: coturn's allows it
    namespaces = by_kind(docs, "Namespace")
    labels = namespaces[coturn["metadata"]["namespace"]]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert namespaces["parley"]["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_admit_the_services_to_kafka_and_mongodb(overlay: str):
    docs = render(overlay)
    policies = by_kind(docs, "NetworkPolicy")
    (kafka,) = by_kind(docs, "Kafka").values()
    (mongo,) = by_kind(docs, "MongoDBCommunity").values()

    def egress_to(service: str, namespace: str) -> list[int]:
        return [p["port"] for rule in policies[f"{service}-egress"]["spec"]["egress"]
                for peer in rule["to"]
                if peer.get("namespaceSelector", {}).get("matchLabels", {}).get(
                    "kubernetes.io/metadata.name") == namespace for p in rule["ports"]]

    for service in ("auth", "meetings", "chat", "signaling", "turn-config"):
        assert egress_to(service, kafka["metadata"]["namespace"]) == [9092], service
    for service in ("auth", "meetings", "chat"):
        assert egress_to(service, mongo["metadata"]["namespace"]) == [27017], service
    assert egress_to("signaling", mongo["metadata"]["namespace"]) == []
    # the other ends: Strimzi's listener policy from networkPolicyPeers, and MongoDB's own
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    (peer,) = listener["networkPolicyPeers"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "parley"}
    assert peer["podSelector"]["matchExpressions"][0]["values"] == [
        "auth", "meetings", "chat", "signaling", "turn-config"]
    mongo_in = policies["parley-mongo-ingress"]
    assert mongo_in["metadata"]["namespace"] == mongo["metadata"]["namespace"]
    assert mongo_in["spec"]["podSelector"]["matchLabels"] == {
        "app": f"{mongo['metadata']['name']}-svc"}
    (rule,) = mongo_in["spec"]["ingress"]
    assert rule["from"][0]["podSelector"]["matchExpressions"][0]["values"] == [
        "auth", "meetings", "chat"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 27017}]

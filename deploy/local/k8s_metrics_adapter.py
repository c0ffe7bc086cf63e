"""prometheus-adapter beside the local control plane: the custom metrics API
(``custom.metrics.k8s.io/v1beta1``) from the local Prometheus, so that a
HorizontalPodAutoscaler on the local control plane scales on Parley's own metrics (issue 8).

The adapter (``sigs.k8s.io/prometheus-adapter``, built by ``install.py k8s``) runs as a process
on this machine, not as a pod (kwok nodes run no container), with the rule an operator deploys
(deploy/k8s/autoscaling/prometheus-adapter.yaml). The apiserver reaches it through the
aggregation layer (Kubernetes docs, "Configure the Aggregation Layer"): an ``APIService``
naming a Service without selector in namespace ``monitoring``, whose EndpointSlice carries the
adapter's address (the apiserver runs with ``--enable-aggregator-routing``, so it dials that
address and not the Service's cluster IP, which nothing here routes).

An endpoint may not be a loopback address (the API refuses ``127.0.0.0/8``), so the adapter
listens on ``k8s_plane.host_address(base)`` (from ``198.18.0.0/15``), which this module adds to
the loopback interface ``lo`` for as long as the adapter runs: traffic to it never leaves the
machine. The address is derived from the port base, so stacks of different bases do not share
one. The adapter's serving certificate is
signed by the control plane's CA, which the APIService's ``caBundle`` names, for the Service's
name ``prometheus-adapter.monitoring.svc`` (the name the apiserver checks).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from k8s_plane import (
    SERVICE_IP, ControlPlane, ControlPlaneError, LoopbackAddress, Process, host_address,
    wait_until,
)
from k8s_pki import ensure_pki
from layout import REPO, prometheus_adapter_bin

#: the rule an operator gives prometheus-adapter (its ``--config``), committed with the manifests
ADAPTER_CONFIG = REPO / "deploy" / "k8s" / "autoscaling" / "prometheus-adapter.yaml"
NAMESPACE = "monitoring"
SERVICE = "prometheus-adapter"
API_GROUP, API_VERSION = "custom.metrics.k8s.io", "v1beta1"
#: how often the adapter asks Prometheus which series exist (its default is 10 minutes)
RELIST_INTERVAL = "10s"
START_TIMEOUT_S = 180.0


@dataclass
class MetricsAdapter:
    """prometheus-adapter for ``plane`` (started), reading Prometheus at ``prometheus_url``,
    on ``host_address(plane.stack.base)`` and port base + 206.

    ``start()`` returns once the apiserver lists ``custom.metrics.k8s.io/v1beta1`` as
    Available; raises :class:`ControlPlaneError` otherwise (and stops what it started).
    ``stop()`` stops the adapter, removes the APIService and the address it added."""

    plane: ControlPlane
    prometheus_url: str
    config: Path = ADAPTER_CONFIG
    process: Process | None = None
    address: LoopbackAddress = field(init=False)

    def __post_init__(self) -> None:
        self.address = LoopbackAddress(host_address(self.plane.stack.base))

    @property
    def port(self) -> int:
        return self.plane.stack.k8s_port("prometheus_adapter")

    def start(self) -> None:
        if not prometheus_adapter_bin().exists():
            raise ControlPlaneError(f"not installed: {prometheus_adapter_bin()} "
                                    "(run `./taskw install:k8s`)")
        pki = ensure_pki(self.plane.dir / "pki", service_ip=SERVICE_IP,
                         extension_names=(f"{SERVICE}.{NAMESPACE}.svc",))
        try:
            self.address.add()
            kc = str(self.plane.kubeconfig)
            self.process = Process("prometheus-adapter", [
                str(prometheus_adapter_bin()),
                f"--lister-kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                f"--bind-address={self.address.ip}", f"--secure-port={self.port}",
                f"--tls-cert-file={pki.extension_crt}",
                f"--tls-private-key-file={pki.extension_key}",
                f"--prometheus-url={self.prometheus_url}",
                f"--metrics-relist-interval={RELIST_INTERVAL}",
                f"--config={self.config}",
                "--v=1",
            ], self.plane.dir / "logs" / "prometheus-adapter.log")
            self.process.start()
            self.plane.kubectl("apply", "--server-side", "--field-manager=parley-k8s-plane",
                               "-f", "-", input=json.dumps(self._registration(pki.ca_crt)))
            self._wait_available()
        except BaseException:
            self.stop()
            raise

    def _registration(self, ca_crt: Path) -> dict:
        """Namespace, Service (no selector), EndpointSlice and APIService that route
        ``/apis/custom.metrics.k8s.io/v1beta1`` to this process."""
        labels = {"app.kubernetes.io/name": SERVICE}
        return {"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": labels},
             "spec": {"ports": [{"name": "https", "port": 443, "targetPort": self.port,
                                 "protocol": "TCP"}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": f"{SERVICE}-local", "namespace": NAMESPACE,
                          "labels": {**labels, "kubernetes.io/service-name": SERVICE,
                                     "endpointslice.kubernetes.io/managed-by": "parley.local"}},
             "addressType": "IPv4",
             "endpoints": [{"addresses": [self.address.ip], "conditions": {"ready": True}}],
             "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}]},
            {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
             "metadata": {"name": f"{API_VERSION}.{API_GROUP}", "labels": labels},
             "spec": {"group": API_GROUP, "version": API_VERSION,
                      "service": {"namespace": NAMESPACE, "name": SERVICE, "port": 443},
                      "caBundle": base64.b64encode(ca_crt.read_bytes()).decode(),
                      "groupPriorityMinimum": 100, "versionPriority": 100}},
        ]}

    def _wait_available(self) -> None:
        assert self.process is not None
        name = f"apiservice/{API_VERSION}.{API_GROUP}"
        seen: list = []

        def available() -> bool:
            out = self.plane.kubectl("get", name, "-o", "json", check=False)
            seen[:] = ([out.stderr.strip()] if out.returncode != 0 else
                       json.loads(out.stdout).get("status", {}).get("conditions", []))
            return out.returncode == 0 and any(
                c["type"] == "Available" and c["status"] == "True" for c in seen)

        wait_until(f"{name} is Available", available, [self.process, *self.plane.processes],
                   self.process.log, START_TIMEOUT_S, seen=lambda: seen)

    def custom_metric(self, namespace: str, metric: str) -> dict:
        """``GET /apis/custom.metrics.k8s.io/v1beta1/namespaces/<ns>/pods/*/<metric>``: a
        MetricValueList (each item names a pod and carries ``value``, a quantity)."""
        out = self.plane.kubectl(
            "get", "--raw", f"/apis/{API_GROUP}/{API_VERSION}/namespaces/{namespace}/pods/*/{metric}")
        return json.loads(out.stdout)

    def stop(self) -> None:
        if self.process is not None:
            self.plane.kubectl("delete", "apiservice", f"{API_VERSION}.{API_GROUP}",
                               "--ignore-not-found", check=False)
            self.process.stop()
            self.process = None
        self.address.remove()

    def __enter__(self) -> MetricsAdapter:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

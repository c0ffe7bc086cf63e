"""Where a local stack lives: its name, port numbers, directories and cached installs.

A stack is identified by a name (``dev``, ``test``) and a port base B; every port is B plus a
fixed offset, so two stacks with different bases run side by side. Nothing here starts anything.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEB_CLIENT = REPO / "web"  # the browser client's sources (npm project)
WEB_DIST = WEB_CLIENT / "dist"  # its build, served by the web service
DEPLOY_LOCAL = REPO / "deploy" / "local"
TRAEFIK_TEMPLATES = REPO / "traefik" / "local"

KAFKA_VERSION = "4.3.1"  # keep in step with deploy/local/kafka/pom.xml
#: 1.13.0 is the last FerretDB with the transactional PostgreSQL handler (``--postgresql-old``),
#: the only 1.x configuration measured atomic per document (deploy/local/README.md, "The store")
FERRETDB_VERSION = "1.13.0"
UV_VERSION = "0.13.8"
#: the load generator of bench/rest.py (tsenart/vegeta, Go module proxy)
VEGETA_VERSION = "12.13.0"
#: the local Kubernetes control plane of deploy/k8s/'s tests (deploy/local/k8s/): Kubernetes
#: built from the Go module proxy, etcd, and kwok (fake nodes); issue 8
KUBERNETES_VERSION = "1.36.3"
ETCD_VERSION = "3.6.16"
KWOK_VERSION = "0.8.0"
#: the manifests' linter (zegl/kube-score; tests/infra/test_k8s_control_plane.py)
KUBE_SCORE_VERSION = "1.20.0"
#: the custom resources' validator (yannh/kubeconform; JSON schemas from the CRDs of
#: deploy/local/k8s_crds.py, converted by its own scripts/openapi2jsonschema.py)
KUBECONFORM_VERSION = "0.8.0"
#: the custom metrics API for the HPA test (sigs.k8s.io/prometheus-adapter; deploy/local/
#: k8s_metrics_adapter.py)
PROMETHEUS_ADAPTER_VERSION = "0.12.0"
#: the Kubernetes binaries built by ``install.py k8s`` (kubelet: the real node of
#: deploy/local/k8s_node.py)
KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
                       "kubelet")

DEFAULT_BASES = {"dev": 18000, "test": 28000}

#: Offsets from the port base B (documented in deploy/local/README.md).
OFFSETS = {
    "traefik": 0,
    "traefik_ping": 1,
    "auth-1": 10,
    "meetings-1": 11,
    "chat-1": 12,
    "turn-config": 13,
    "signaling-1": 14,
    "signaling-2": 15,
    "web": 16,
    "auth-2": 17,
    "meetings-2": 18,
    "chat-2": 19,
    "kafka": 20,
    "kafka_controller": 21,
    "ferretdb": 30,
    "ferretdb_debug": 31,
    "postgres": 32,
    "coturn": 40,
    "prometheus": 50,
}
RELAY_FIRST, RELAY_LAST = 100, 149
#: Offsets of the local Kubernetes control plane (deploy/local/k8s_plane.py), which the stack
#: does not run: tests/infra/test_k8s_control_plane.py starts its own beside the test stack.
K8S_OFFSETS = {
    "etcd": 200,
    "etcd_peer": 201,
    "kube_apiserver": 202,
    "kube_controller_manager": 203,
    "kube_scheduler": 204,
    "kwok": 205,
    "prometheus_adapter": 206,
    "kubelet": 207,
    "kubelet_healthz": 208,
}

HOST = "127.0.0.1"
POSTGRES_LIB = Path("/usr/lib/postgresql")


def cache_dir() -> Path:
    """Cached installs shared by every clone: ``${PARLEY_CACHE:-$HOME/.cache/parley}``."""
    return Path(os.environ.get("PARLEY_CACHE") or Path.home() / ".cache" / "parley")


def kafka_libs() -> Path:
    return cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"


def vegeta_bin() -> Path:
    return cache_dir() / f"vegeta-{VEGETA_VERSION}" / "bin" / "vegeta"


def ferretdb_patches() -> list[Path]:
    """Parley's patches to FerretDB's source, applied in name order before the build."""
    return sorted((DEPLOY_LOCAL / "ferretdb").glob("*.patch"))


def ferretdb_bin() -> Path:
    """The FerretDB binary, cached per version and per content of :func:`ferretdb_patches`
    (a changed patch builds anew)."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in ferretdb_patches())).hexdigest()[:12]
    return cache_dir() / f"ferretdb-{FERRETDB_VERSION}-{digest}" / "bin" / "ferretdb"


def kubernetes_bin(command: str) -> Path:
    """One of ``KUBERNETES_COMMANDS`` built by ``install.py k8s``."""
    return cache_dir() / f"kubernetes-{KUBERNETES_VERSION}" / "bin" / command


def etcd_bin() -> Path:
    return cache_dir() / f"etcd-{ETCD_VERSION}" / "bin" / "etcd"


def kwok_bin() -> Path:
    return cache_dir() / f"kwok-{KWOK_VERSION}" / "bin" / "kwok"


def kube_score_bin() -> Path:
    return cache_dir() / f"kube-score-{KUBE_SCORE_VERSION}" / "bin" / "kube-score"


def kubeconform_bin() -> Path:
    return cache_dir() / f"kubeconform-{KUBECONFORM_VERSION}" / "bin" / "kubeconform"


def openapi2jsonschema_script() -> Path:
    """kubeconform's scripts/openapi2jsonschema.py of the same version (CRD -> JSON schema)."""
    return cache_dir() / f"kubeconform-{KUBECONFORM_VERSION}" / "openapi2jsonschema.py"


def prometheus_adapter_bin() -> Path:
    return cache_dir() / f"prometheus-adapter-{PROMETHEUS_ADAPTER_VERSION}" / "bin" / "adapter"


def pause_image() -> Path:
    """The pod sandbox image of the real node (docker-archive tar), built from Kubernetes'
    build/pause/linux/pause.c by ``install.py k8s``."""
    return cache_dir() / f"pause-{KUBERNETES_VERSION}" / "pause.tar"


#: its name in the node's containerd (``sandbox_image``)
PAUSE_IMAGE_REF = "parley.local/pause:3.10"


def kwok_stages() -> Path:
    """kwok's stage configurations (its ``kustomize/stage/fast``: pods become Running and
    Ready, nodes Ready with heartbeats), copied from its module by ``install.py k8s``."""
    return cache_dir() / f"kwok-{KWOK_VERSION}" / "stages"


def postgres_bindir() -> Path:
    """Debian's PostgreSQL server binaries (``initdb``, ``postgres``), the newest installed
    major version: ``/usr/lib/postgresql/<major>/bin``."""
    found = sorted(POSTGRES_LIB.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise SystemExit(f"PostgreSQL server binaries not found under {POSTGRES_LIB}: "
                         "run ./taskw install (Debian's postgresql)")
    return found[-1].parent


def venv_bin() -> Path:
    """The bin directory of the Python running this code (the workspace's .venv)."""
    import sys

    return Path(sys.executable).parent


@dataclass(frozen=True)
class Stack:
    """One named local stack: ports from ``base``, files under ``.stack/<name>/``."""

    name: str
    base: int
    root: Path = REPO / ".stack"

    @classmethod
    def named(cls, name: str, base: int | None = None) -> Stack:
        if base is None:
            env = os.environ.get("PARLEY_PORT_BASE")
            base = int(env) if env else DEFAULT_BASES.get(name, 48000)
        return cls(name=name, base=base)

    def port(self, what: str) -> int:
        return self.base + OFFSETS[what]

    def k8s_port(self, what: str) -> int:
        """A port of the local Kubernetes control plane (``K8S_OFFSETS``)."""
        return self.base + K8S_OFFSETS[what]

    @property
    def relay_range(self) -> tuple[int, int]:
        return self.base + RELAY_FIRST, self.base + RELAY_LAST

    def url(self, what: str) -> str:
        return f"http://{HOST}:{self.port(what)}"

    # directories -------------------------------------------------------------------------
    @property
    def dir(self) -> Path:
        return self.root / self.name

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    @property
    def conf(self) -> Path:
        return self.dir / "conf"

    @property
    def run(self) -> Path:
        return self.dir / "run"

    @property
    def secrets(self) -> Path:
        return self.dir / "secrets"

    @property
    def stack_file(self) -> Path:
        return self.dir / "stack.json"

    @property
    def supervisor_conf(self) -> Path:
        return self.conf / "supervisord.conf"

    @property
    def supervisor_socket(self) -> Path:
        return self.run / "supervisor.sock"

    @property
    def supervisor_pidfile(self) -> Path:
        return self.run / "supervisord.pid"

    def all_ports(self) -> list[int]:
        return sorted(self.base + off for off in OFFSETS.values())

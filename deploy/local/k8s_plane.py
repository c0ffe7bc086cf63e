"""A local Kubernetes control plane on 127.0.0.1, with kwok's fake nodes (issue 8).

    .venv/bin/python deploy/local/k8s_plane.py run [--dir DIR] [--nodes N] [--base B]

runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (the binaries of
``install.py k8s``) as child processes until Ctrl-C or SIGTERM, and prints the kubeconfig to
use; the CRDs of deploy/k8s (deploy/local/k8s_crds.py) are installed once it is up. Tests use
:class:`ControlPlane` as a context manager (tests/infra/test_k8s_control_plane.py).

Every port is the port base B (``--base``, else ``$PARLEY_PORT_BASE``, else the dev stack's
18000; the test uses the test stack's base) plus an
offset of ``layout.K8S_OFFSETS`` (B+200 … B+205), on 127.0.0.1 only. Files under ``DIR``
(default ``.stack/k8s``): ``pki/`` (deploy/local/k8s_pki.py), ``kubeconfig``, ``etcd/``
(data), ``logs/<process>.log``. The apiserver authenticates clients by certificate (the
admin certificate is in group ``system:masters``) and authorises with RBAC; Pod Security
admission is on (Parley's namespace enforces ``restricted``).

kwok plays the kubelet of every Node annotated ``kwok.x-k8s.io/node=fake``: it marks the node
Ready, keeps its Lease, and moves pods scheduled there to Running and Ready at once (its
``fast`` stages); no container runs, so a pod's probes, image and volumes are not exercised.
Nodes are plain ``Node`` objects, created here with a capacity of 8 CPUs, 32 GiB of memory,
100 GiB of ephemeral storage and 110 pods.

Stopping sends SIGTERM to each process (reverse start order), waits up to 20 s, then SIGKILL;
each process runs in its own process group, so nothing it started outlives it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from k8s_crds import crd_files  # noqa: E402
from k8s_pki import FRONT_PROXY_CLIENT, Pki, ensure_pki  # noqa: E402
from layout import (  # noqa: E402
    HOST, REPO, Stack, etcd_bin, kubernetes_bin, kwok_bin, kwok_stages,
)

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service: the first address of SERVICE_CIDR
POD_CIDR = "10.244.0.0/16"
#: how long start-up may take before it is called failed, seconds (a loaded 2-core machine)
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
#: what each kwok node offers the scheduler (which really schedules: a pod whose requests fit
#: no node stays Pending, "Insufficient …")
NODE_CAPACITY = {"cpu": "8", "memory": "32Gi", "ephemeral-storage": "100Gi", "pods": "110"}


def host_address(base: int) -> str:
    """A non-loopback address of this machine for port base ``base``, for what the apiserver
    must reach at an endpoint or node address (the API refuses ``127.0.0.0/8`` there):
    ``198.18.<base // 256 % 256>.<base % 256>``, from RFC 2544's benchmarking range
    ``198.18.0.0/15``. :class:`LoopbackAddress` puts it on ``lo``: traffic to it never leaves
    the machine."""
    return str(ipaddress.IPv4Address("198.18.0.0") + (base % 65536))


@dataclass
class LoopbackAddress:
    """``ip`` on the loopback interface while needed (``ip addr add <ip>/32 dev lo``; root and
    iproute2's ``ip``). ``remove()`` takes it off only if ``add()`` put it there."""

    ip: str
    added: bool = False

    def add(self) -> None:
        shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "lo"], check=True,
                               capture_output=True, text=True).stdout
        if f" {self.ip}/" not in shown:
            subprocess.run(["ip", "addr", "add", f"{self.ip}/32", "dev", "lo"], check=True,
                           capture_output=True, text=True)
            self.added = True

    def remove(self) -> None:
        if self.added:
            subprocess.run(["ip", "addr", "del", f"{self.ip}/32", "dev", "lo"], check=False,
                           capture_output=True)
            self.added = False


def kustomize(path: Path) -> list[dict]:
    """The resources of the kustomization at ``path``, rendered by the built kubectl
    (``kubectl kustomize``), as dicts (a new list at every call: callers may change it).
    Raises subprocess.CalledProcessError when kustomize refuses the kustomization."""
    import yaml

    out = subprocess.run([str(kubernetes_bin("kubectl")), "kustomize", str(path)],
                         check=True, capture_output=True, text=True).stdout
    # libyaml's loader where PyYAML has it (a rendered overlay is about 110 kB)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(out, Loader=loader) if doc]


class ControlPlaneError(RuntimeError):
    """A process of the control plane exited or did not become ready in time (the message
    names it and carries the end of its log)."""


@dataclass
class Process:
    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise ControlPlaneError(f"{self.name} exited with {self.popen.returncode}:\n"
                                    f"{tail(self.log)}")

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def wait_until(what: str, ready, processes: list[Process], logs: Path,
               timeout: float = START_TIMEOUT_S, *, seen=None) -> None:
    """Poll ``ready()`` every 0.5 s until it is true; raises :class:`ControlPlaneError` when one
    of ``processes`` exits meanwhile, or after ``timeout`` seconds (naming ``what``, ``seen()``
    if given: what ``ready`` last looked at, and ``logs``, a directory or a file)."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in processes:
            proc.check_alive()
        if ready():
            return
        if time.monotonic() > deadline:
            last = f" (last seen: {seen()})" if seen is not None else ""
            raise ControlPlaneError(f"timed out after {timeout:.0f} s waiting until {what}"
                                    f"{last}; logs in {logs}")
        time.sleep(0.5)


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok under ``dir``,
    with ``nodes`` fake nodes named ``kwok-node-1`` …; ports from ``stack.base``.

    ``start()`` returns once the apiserver is ready, the nodes are Ready and the ``default``
    ServiceAccount exists (the controllers run); raises :class:`ControlPlaneError` otherwise
    (and stops what it started). ``stop()`` is idempotent."""

    dir: Path
    stack: Stack
    nodes: int = 3
    processes: list[Process] = field(default_factory=list)

    # paths and addresses ---------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://{HOST}:{self.stack.k8s_port('kube_apiserver')}"

    def _log(self, name: str) -> Path:
        return self.dir / "logs" / f"{name}.log"

    # commands ------------------------------------------------------------------------
    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess:
        """``kubectl --kubeconfig <ours> args…``; output captured as text."""
        cmd = [str(kubernetes_bin("kubectl")), f"--kubeconfig={self.kubeconfig}", *args]
        done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ControlPlaneError(f"`kubectl {' '.join(args)}` failed ({done.returncode}):\n"
                                    f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def _write_kubeconfig(self, pki: Pki) -> None:
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "parley-local",
            "clusters": [{"name": "parley-local", "cluster": {
                "server": self.server, "certificate-authority": str(pki.ca_crt)}}],
            "users": [{"name": "parley-admin", "user": {
                "client-certificate": str(pki.admin_crt), "client-key": str(pki.admin_key)}}],
            "contexts": [{"name": "parley-local", "context": {
                "cluster": "parley-local", "user": "parley-admin"}}],
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2) + "\n")
        self.kubeconfig.chmod(0o600)

    def _argvs(self, pki: Pki) -> list[tuple[str, list[str]]]:
        port = self.stack.k8s_port
        etcd_url = f"http://{HOST}:{port('etcd')}"
        peer_url = f"http://{HOST}:{port('etcd_peer')}"
        kc = str(self.kubeconfig)
        stages = sorted(kwok_stages().glob("*.yaml"))
        return [
            ("etcd", [str(etcd_bin()), "--name=parley", f"--data-dir={self.dir / 'etcd'}",
                      f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                      f"--listen-peer-urls={peer_url}",
                      f"--initial-advertise-peer-urls={peer_url}",
                      f"--initial-cluster=parley={peer_url}",
                      "--log-level=warn",
                      # a throwaway cluster: no fsync per write (the machine is shared)
                      "--unsafe-no-fsync"]),
            ("kube-apiserver", [
                str(kubernetes_bin("kube-apiserver")),
                f"--etcd-servers={etcd_url}",
                f"--bind-address={HOST}", f"--advertise-address={HOST}",
                f"--secure-port={port('kube_apiserver')}",
                f"--tls-cert-file={pki.apiserver_crt}",
                f"--tls-private-key-file={pki.apiserver_key}",
                f"--client-ca-file={pki.ca_crt}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=false",
                "--profiling=false",
                "--anonymous-auth=false",
                # the aggregation layer (extension API servers such as prometheus-adapter):
                # the apiserver proxies with the front-proxy client certificate, which they
                # trust through kube-system/extension-apiserver-authentication, and dials the
                # APIService's endpoint address (no kube-proxy routes cluster IPs here)
                f"--requestheader-client-ca-file={pki.front_proxy_ca_crt}",
                f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki.front_proxy_client_crt}",
                f"--proxy-client-key-file={pki.front_proxy_client_key}",
                "--enable-aggregator-routing=true",
            ]),
            ("kube-controller-manager", [
                str(kubernetes_bin("kube-controller-manager")),
                f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                f"--bind-address={HOST}", f"--secure-port={port('kube_controller_manager')}",
                f"--cert-dir={self.dir / 'controller-manager'}",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_crt}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={POD_CIDR}",
                # the HPA controller reads its metrics every 5 s instead of 15: a test of
                # autoscaling waits for two of its passes (tests/infra/test_k8s_autoscaling.py)
                "--horizontal-pod-autoscaler-sync-period=5s",
                "--profiling=false",
            ]),
            ("kube-scheduler", [
                str(kubernetes_bin("kube-scheduler")),
                f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                f"--bind-address={HOST}", f"--secure-port={port('kube_scheduler')}",
                f"--cert-dir={self.dir / 'scheduler'}",
                "--leader-elect=false",
                "--profiling=false",
            ]),
            ("kwok", [
                str(kwok_bin()), f"--kubeconfig={kc}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
                f"--server-address={HOST}:{port('kwok')}",
                f"--cidr={POD_CIDR}", f"--node-ip={HOST}",
                "--node-lease-duration-seconds=40",
                *(f"--config={s}" for s in stages),
            ]),
        ]

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        missing = [str(p) for p in (etcd_bin(), kwok_bin(), kubernetes_bin("kube-apiserver"),
                                    kubernetes_bin("kubectl")) if not p.exists()]
        if missing:
            raise ControlPlaneError(f"not installed: {', '.join(missing)} "
                                    "(run `./taskw install:k8s`)")
        self.dir.mkdir(parents=True, exist_ok=True)
        pki = ensure_pki(self.dir / "pki", service_ip=SERVICE_IP)
        self._write_kubeconfig(pki)
        argvs = dict(self._argvs(pki))
        try:
            self._start("etcd", argvs)
            self._wait("etcd is serving", lambda: self._etcd_healthy())
            self._start("kube-apiserver", argvs)
            self._wait("kube-apiserver is ready",
                       lambda: self.kubectl("get", "--raw=/readyz", check=False).returncode == 0)
            for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
                self._start(name, argvs)
            self.kubectl("apply", "--server-side", "--field-manager=parley-k8s-plane", "-f", "-",
                         input=json.dumps(self._nodes_list()))
            self._wait(f"{self.nodes} kwok nodes are Ready", self._nodes_ready)
            self._wait("the controllers run (ServiceAccount default/default exists)",
                       lambda: self.kubectl("get", "serviceaccount", "default", "-n", "default",
                                            check=False).returncode == 0)
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, argvs: dict[str, list[str]]) -> None:
        proc = Process(name, argvs[name], self._log(name))
        proc.start()
        self.processes.append(proc)

    def _wait(self, what: str, ready, timeout: float = START_TIMEOUT_S) -> None:
        wait_until(what, ready, self.processes, self.dir / "logs", timeout)

    def _etcd_healthy(self) -> bool:
        import urllib.request

        url = f"http://{HOST}:{self.stack.k8s_port('etcd')}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read()).get("health") == "true"
        except OSError:
            return False

    def _nodes_list(self) -> dict:
        items = []
        for i in range(1, self.nodes + 1):
            name = f"kwok-node-{i}"
            items.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name,
                             "annotations": {FAKE_NODE_ANNOTATION: "fake"},
                             "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok"}},
                "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_CAPACITY},
            })
        return {"apiVersion": "v1", "kind": "List", "items": items}

    def _nodes_ready(self) -> bool:
        out = self.kubectl("get", "nodes", "-o", "json", check=False)
        if out.returncode != 0:
            return False
        ready = [n for n in json.loads(out.stdout)["items"]
                 if any(c["type"] == "Ready" and c["status"] == "True"
                        for c in n.get("status", {}).get("conditions", []))]
        return len(ready) >= self.nodes

    def install_crds(self, files: list[Path]) -> None:
        """Apply the CustomResourceDefinitions in ``files`` server-side (some are larger than
        a client-side apply's last-applied annotation allows) and wait until the API serves
        them (Established). Raises ControlPlaneError when one is refused."""
        for crd in files:
            self.kubectl("apply", "--server-side", "--field-manager=parley-crds", "-f", str(crd))
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=120s",
                     timeout=150)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the control plane as Ctrl-C does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the control plane in the foreground until Ctrl-C")
    run.add_argument("--dir", type=Path, default=REPO / ".stack" / "k8s",
                     help="where its keys, kubeconfig, data and logs go (default .stack/k8s; "
                          "etcd's data is wiped at every start)")
    run.add_argument("--nodes", type=int, default=3, help="kwok nodes (default 3)")
    run.add_argument("--base", type=int, default=None,
                     help="port base (default $PARLEY_PORT_BASE, else 18000)")
    args = parser.parse_args()
    stack = Stack.named("dev", args.base)
    shutil.rmtree(args.dir / "etcd", ignore_errors=True)
    plane = ControlPlane(dir=args.dir, stack=stack, nodes=args.nodes)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    with plane:
        plane.install_crds(crd_files())
        print(f"k8s: control plane up in {time.monotonic() - started:.1f} s: {plane.server}, "
              f"{plane.nodes} kwok nodes, the CRDs of deploy/k8s installed; logs in "
              f"{plane.dir / 'logs'}\n"
              f"  export KUBECONFIG={plane.kubeconfig}\n"
              f"  {kubernetes_bin('kubectl')} get nodes\n"
              "Ctrl-C stops it.", flush=True)
        try:
            while True:
                for proc in plane.processes:
                    proc.check_alive()
                time.sleep(1)
        except KeyboardInterrupt:
            print("k8s: stopping", flush=True)
    print("k8s: stopped; no process of it remains", flush=True)


if __name__ == "__main__":
    main()

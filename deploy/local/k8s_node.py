"""A real Kubernetes node beside the local control plane: the kubelet (v1.36.3, built by
``install.py k8s``) with Debian's containerd and runc, running containers for real (issue 8).

    with RealNode(plane) as node:      # plane: a started k8s_plane.ControlPlane
        node.import_image(tar)         # a docker-archive, e.g. from ``podman save``

The node registers as ``parley-node`` (label ``parley.dev/node=real``) with the address
``k8s_plane.host_address(base)`` on ``lo`` (a node address may not be a loopback address).
Only host-network pods can run: there is no pod network here (the CNI configuration is the
``loopback`` plugin alone, so that containerd reports its network ready), so a pod listens on
this machine's ports, 127.0.0.1 included.

What this machine needs of the kubelet and containerd, found by running them here:

- cgroup v1 (``failCgroupV1: false``), no QoS cgroup hierarchy (``cgroupsPerQOS: false``,
  ``enforceNodeAllocatable: []``), the ``cgroupfs`` driver (no systemd);
- containerd's ``restrict_oom_score_adj = true`` (the sandbox may not lower OOM scores);
- a pause image from Kubernetes' own pause.c (``layout.pause_image()``), imported at start,
  as containerd would otherwise pull ``registry.k8s.io/pause``; no image is ever pulled
  (pods use ``imagePullPolicy: Never``);
- containerd and the kubelet keep everything under ``dir`` (their own socket, root, state),
  never /var/lib/containerd or /var/lib/kubelet, and the kubelet serves on 127.0.0.1 at port
  base + 207 (healthz + 208). It authenticates to the apiserver with the admin certificate.

``stop()`` deletes the node's pods, waits until containerd runs no container, stops the
kubelet and containerd, kills any containerd shim of this node that remains, unmounts what
they mounted under ``dir`` and removes the Node object.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from k8s_plane import (
    ControlPlane, ControlPlaneError, LoopbackAddress, Process, host_address, wait_until,
)
from layout import PAUSE_IMAGE_REF, kubernetes_bin, pause_image

NODE_NAME = "parley-node"
NODE_LABEL = ("parley.dev/node", "real")
CNI_PLUGINS = Path("/usr/lib/cni")
NAMESPACE_K8S_IO = "k8s.io"  # containerd's namespace of the CRI (the kubelet's containers)

CONTAINERD_CONFIG = """\
# written by deploy/local/k8s_node.py: containerd of the local real Kubernetes node
version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
"""


@dataclass
class RealNode:
    """The kubelet and containerd of node ``parley-node`` for ``plane`` (started)."""

    plane: ControlPlane
    processes: list[Process] = field(default_factory=list)
    address: LoopbackAddress = field(init=False)

    def __post_init__(self) -> None:
        self.address = LoopbackAddress(host_address(self.plane.stack.base))

    @property
    def dir(self) -> Path:
        return self.plane.dir / "node"

    @property
    def socket(self) -> Path:
        return self.dir / "containerd.sock"

    def ctr(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """``ctr --address <our socket> -n k8s.io args…`` (containerd's own client)."""
        done = subprocess.run(["ctr", "--address", str(self.socket), "-n", NAMESPACE_K8S_IO, *args],
                              capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ControlPlaneError(f"`ctr {' '.join(args)}` failed: {done.stderr.strip()}")
        return done

    def import_image(self, tar: Path) -> None:
        """Import a docker-archive or OCI archive into the node's containerd."""
        self.ctr("images", "import", str(tar))

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        for binary in (kubernetes_bin("kubelet"), pause_image()):
            if not binary.exists():
                raise ControlPlaneError(f"not installed: {binary} (run `./taskw install:k8s`)")
        try:
            self.address.add()
            self._write_configs()
            self._start("containerd", ["containerd", "--config", str(self.dir / "containerd.toml")])
            self._wait("containerd serves", lambda: self.ctr("version", check=False).returncode == 0)
            self.import_image(pause_image())
            kc = str(self.plane.kubeconfig)
            self._start("kubelet", [
                str(kubernetes_bin("kubelet")), f"--config={self.dir / 'kubelet.yaml'}",
                f"--kubeconfig={kc}", f"--hostname-override={NODE_NAME}",
                f"--node-ip={self.address.ip}", f"--root-dir={self.dir / 'kubelet'}",
                f"--cert-dir={self.dir / 'kubelet-pki'}",
                f"--node-labels={NODE_LABEL[0]}={NODE_LABEL[1]}", "--v=1",
            ])
            self._wait(f"node {NODE_NAME} is Ready", self._ready)
        except BaseException:
            self.stop()
            raise

    def _write_configs(self) -> None:
        cni_conf = self.dir / "cni"
        cni_conf.mkdir(parents=True, exist_ok=True)
        (cni_conf / "10-loopback.conflist").write_text(json.dumps(
            {"cniVersion": "1.0.0", "name": "parley-node", "plugins": [{"type": "loopback"}]}))
        (self.dir / "containerd.toml").write_text(CONTAINERD_CONFIG.format(
            root=self.dir / "containerd", state=self.dir / "containerd-state", socket=self.socket,
            pause=PAUSE_IMAGE_REF, cni_bin=CNI_PLUGINS, cni_conf=cni_conf))
        port = self.plane.stack.k8s_port
        kubelet = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False, "cgroupsPerQOS": False, "enforceNodeAllocatable": [],
            "cgroupDriver": "cgroupfs",
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "address": "127.0.0.1", "port": port("kubelet"), "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": port("kubelet_healthz"),
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                               "x509": {"clientCAFile": str(self.plane.dir / "pki" / "ca.crt")}},
            "authorization": {"mode": "AlwaysAllow"},
            "failSwapOn": False,
            # a shared test machine: never evict for its disk or memory, never collect images
            "evictionHard": {}, "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "resolvConf": "/etc/resolv.conf",
        }
        (self.dir / "kubelet.yaml").write_text(json.dumps(kubelet, indent=2) + "\n")

    def _start(self, name: str, argv: list[str]) -> None:
        proc = Process(name, argv, self.plane.dir / "logs" / f"{name}.log")
        proc.start()
        self.processes.append(proc)

    def _wait(self, what: str, ready) -> None:
        wait_until(what, ready, self.processes, self.plane.dir / "logs")

    def _ready(self) -> bool:
        out = self.plane.kubectl("get", "node", NODE_NAME, "-o", "json", check=False)
        if out.returncode != 0:
            return False
        conditions = json.loads(out.stdout).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def stop(self) -> None:
        if any(p.name == "kubelet" for p in self.processes):
            self.plane.kubectl("delete", "pods", "--all-namespaces", "--field-selector",
                               f"spec.nodeName={NODE_NAME}", "--grace-period=0", "--force",
                               "--wait=false", check=False)
            deadline = time.monotonic() + 60
            while self._running_tasks() and time.monotonic() < deadline:
                time.sleep(1)
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        self._kill_shims()
        self._unmount()
        self.plane.kubectl("delete", "node", NODE_NAME, "--ignore-not-found", check=False)
        self.address.remove()

    def _running_tasks(self) -> list[str]:
        out = self.ctr("tasks", "ls", "-q", check=False)
        return out.stdout.split() if out.returncode == 0 else []

    def _kill_shims(self) -> None:
        """containerd's shims outlive it by design: kill those started for this socket."""
        mine = str(self.socket)
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and mine.encode() in argv:
                try:
                    os.kill(int(proc.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _unmount(self) -> None:
        """Unmount whatever containerd and the kubelet left mounted under ``dir`` (deepest
        first), so that the directory can be removed."""
        mine = str(self.dir)
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for point in sorted((m for m in mounts if m.startswith(mine)), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)

    def __enter__(self) -> RealNode:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

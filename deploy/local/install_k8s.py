"""Install the local Kubernetes control plane's binaries, built from the Go module proxy and
cached by version (``python3 deploy/local/install.py k8s``; issue 8).

- Kubernetes ``KUBERNETES_VERSION``: kube-apiserver, kube-controller-manager, kube-scheduler
  and kubectl, into ``<cache>/kubernetes-<v>/bin/``. The module ``k8s.io/kubernetes`` is not
  buildable as downloaded (its go.mod replaces every staging module by ``./staging/...``, which
  the module zip leaves out), so a copy of it has ``go.work`` deleted and each replace swapped
  for the published staging module at ``v0.<minor>.<patch>``, then ``GOWORK=off go build
  -mod=mod -trimpath`` with the version ldflags of hack/lib/version.sh (without them
  ``kubectl version`` and the apiserver's discovery report ``v0.0.0``). ``-trimpath`` keeps
  the Go build cache valid whatever temporary directory the copy lands in.
- etcd ``ETCD_VERSION``: its root module carries replace directives, so ``go install`` refuses
  it; a five-line main calling ``go.etcd.io/etcd/server/v3/etcdmain.Main`` in a module of its own.
- kwok ``KWOK_VERSION`` (fake nodes): ``go install sigs.k8s.io/kwok/cmd/kwok@v<v>``, plus the
  stage configurations of its ``kustomize/stage/fast`` (node initialise, node heartbeat with
  a Lease, pod ready/complete/delete), copied into ``<cache>/kwok-<v>/stages/``.
- kube-score ``KUBE_SCORE_VERSION`` (the manifests' linter): ``go install
  github.com/zegl/kube-score/cmd/kube-score@v<v>``.
- kubeconform ``KUBECONFORM_VERSION`` (the custom resources' validator): ``go install
  github.com/yannh/kubeconform/cmd/kubeconform@v<v>``, and its module's
  ``scripts/openapi2jsonschema.py`` (CRD -> JSON schema), copied beside it. These three
  ``go install`` steps are one function, :func:`go_install`.
- The CRDs of deploy/k8s (deploy/local/k8s_crds.py: Prometheus Operator, Traefik,
  cert-manager, MongoDB Community; ``go mod download`` of each module, files copied into
  ``<cache>/<name>-<version>/crds/``).
- the pod sandbox ("pause") image of the real node: Kubernetes' own
  ``build/pause/linux/pause.c`` (from the k8s.io/kubernetes module) compiled with ``gcc
  -static``, made an OCI image by Debian's umoci and written as a docker-archive by skopeo.
- prometheus-adapter ``PROMETHEUS_ADAPTER_VERSION`` (the custom metrics API of the HPA test):
  the proxy refuses the module's version list, which ``go install`` asks for, so the
  downloaded module is copied and its ``./cmd/adapter`` built with its own go.mod and go.sum.

Measured on this 2-core machine, cold: etcd 54 s, kwok 144 s, Kubernetes 616 s (2,312 packages
compiled), 13 min 48 s in all, and kube-score 82 s; into an empty cache directory with a warm Go build cache: 42 s
(mostly linking). kubeconform: 14 s; prometheus-adapter: 4 min of CPU; kubelet: 6.5 min more; the CRDs: seconds. A line of progress is printed every 20 s while ``go`` runs. Every
binary is written under a ``.partial`` name and renamed once complete, so an interrupted run
starts over rather than leaving a broken install. Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from k8s_crds import fetch_all as fetch_crds
from layout import (
    ETCD_VERSION, KUBE_SCORE_VERSION, KUBECONFORM_VERSION, KUBERNETES_COMMANDS,
    KUBERNETES_VERSION, KWOK_VERSION, PAUSE_IMAGE_REF, PROMETHEUS_ADAPTER_VERSION, etcd_bin,
    kube_score_bin, kubeconform_bin, kubernetes_bin, kwok_bin, kwok_stages,
    openapi2jsonschema_script, pause_image, prometheus_adapter_bin,
)

PROGRESS_EVERY_S = 20.0
#: kwok's ``kustomize/stage/fast`` is these three kustomizations (its kustomization.yaml)
KWOK_STAGE_DIRS = ("node/fast", "node/heartbeat-with-lease", "pod/fast")


def say(msg: str) -> None:
    print(f"install: {msg}", flush=True)


def _go_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "GOFLAGS": "-buildvcs=false", "CGO_ENABLED": "0", **extra}


def _need_go() -> None:
    if not shutil.which("go"):
        raise SystemExit("install: `go` not found (the Go toolchain builds Kubernetes, etcd, kwok)")


def go_with_progress(args: list[str], *, what: str, cwd: Path, env: dict[str, str]) -> None:
    """Run ``go <args> -v`` and print, every ``PROGRESS_EVERY_S`` seconds, how long it has run
    and how many packages it has compiled so far (``-v`` names each one on stderr).

    Raises SystemExit with the last lines of go's output when it fails."""
    cmd = ["nice", "-n", "10", "go", *args[:1], "-v", *args[1:]]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    done = threading.Event()

    def report() -> None:
        while not done.wait(PROGRESS_EVERY_S):
            last = lines[-1] if lines else "resolving modules"
            say(f"{what}: {time.monotonic() - started:.0f} s, {len(lines)} packages so far "
                f"(last: {last})")

    ticker = threading.Thread(target=report, daemon=True)
    ticker.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
    code = proc.wait()
    done.set()
    ticker.join()
    if code != 0:
        tail = "\n  ".join(lines[-25:])
        raise SystemExit(f"install: {what}: `go {' '.join(args)}` failed (exit {code}):\n  {tail}")
    say(f"{what}: done in {time.monotonic() - started:.0f} s ({len(lines)} packages)")


def _download(module: str, cwd: Path) -> Path:
    """``go mod download -json module`` -> the module's read-only directory in GOMODCACHE."""
    _need_go()
    out = subprocess.run(["go", "mod", "download", "-json", module], cwd=cwd, env=_go_env(),
                         capture_output=True, text=True)
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise SystemExit(f"install: go mod download {module} failed: "
                         f"{info.get('Error') or out.stderr.strip()}")
    return Path(info["Dir"])


def _writable_copy(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)
    for p in [dst, *dst.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o200)


def kubernetes_ldflags(version: str) -> str:
    """The ``-X`` flags of hack/lib/version.sh for ``version`` ("1.36.3"), set in both
    ``k8s.io/component-base/version`` and ``k8s.io/client-go/pkg/version``."""
    major, minor, _ = version.split(".")
    values = {"gitVersion": f"v{version}", "gitMajor": major, "gitMinor": minor,
              "gitTreeState": "clean", "gitCommit": f"v{version}-go-module-proxy",
              "buildDate": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    flags = [f"-X k8s.io/{pkg}.{key}={val}" for key, val in values.items()
             for pkg in ("component-base/version", "client-go/pkg/version")]
    return " ".join(["-s", "-w", *flags])


def staging_edits(go_mod_json: dict, staging_version: str) -> list[str]:
    """``go mod edit`` arguments turning every ``k8s.io/X => ./staging/...`` replace of
    k8s.io/kubernetes' go.mod into a requirement of the published ``k8s.io/X@staging_version``."""
    edits = []
    for rep in go_mod_json.get("Replace") or []:
        old, new = rep["Old"]["Path"], rep["New"]["Path"]
        if old.startswith("k8s.io/") and new.startswith("./staging/"):
            edits += [f"-dropreplace={old}", f"-require={old}@{staging_version}"]
    if not edits:
        raise SystemExit("install: k8s.io/kubernetes' go.mod has no ./staging replaces: "
                         "the build recipe no longer fits this version")
    return edits


def install_kubernetes() -> None:
    bins = [kubernetes_bin(c) for c in KUBERNETES_COMMANDS]
    if all(b.exists() for b in bins):
        say(f"Kubernetes {KUBERNETES_VERSION} present ({bins[0].parent})")
        return
    _need_go()
    say(f"building Kubernetes {KUBERNETES_VERSION} ({', '.join(KUBERNETES_COMMANDS)}) from the Go "
        "module proxy: about 15 minutes on 2 cores the first time, seconds with a warm Go cache")
    bindir = bins[0].parent
    with tempfile.TemporaryDirectory(prefix="parley-k8s-") as work:
        work_dir = Path(work)
        src = work_dir / "kubernetes"
        _writable_copy(_download(f"k8s.io/kubernetes@v{KUBERNETES_VERSION}", work_dir), src)
        (src / "go.work").unlink(missing_ok=True)
        (src / "go.work.sum").unlink(missing_ok=True)
        mod = json.loads(subprocess.run(["go", "mod", "edit", "-json"], cwd=src, env=_go_env(),
                                        check=True, capture_output=True, text=True).stdout)
        _, minor, patch = KUBERNETES_VERSION.split(".")
        subprocess.run(["go", "mod", "edit", *staging_edits(mod, f"v0.{minor}.{patch}")],
                       cwd=src, env=_go_env(), check=True)
        out = work_dir / "bin"
        out.mkdir()
        go_with_progress(
            ["build", "-mod=mod", "-trimpath", "-ldflags", kubernetes_ldflags(KUBERNETES_VERSION),
             "-o", str(out) + "/", *[f"./cmd/{c}" for c in KUBERNETES_COMMANDS]],
            what=f"Kubernetes {KUBERNETES_VERSION}", cwd=src, env=_go_env(GOWORK="off"))
        bindir.mkdir(parents=True, exist_ok=True)
        for command, final in zip(KUBERNETES_COMMANDS, bins):
            partial = final.with_suffix(".partial")
            shutil.move(str(out / command), partial)
            partial.rename(final)
    version = subprocess.run([str(kubernetes_bin("kubectl")), "version", "--client", "-o", "json"],
                             check=True, capture_output=True, text=True).stdout
    got = json.loads(version)["clientVersion"]["gitVersion"]
    if got != f"v{KUBERNETES_VERSION}":
        raise SystemExit(f"install: kubectl reports {got}, not v{KUBERNETES_VERSION}")


ETCD_MAIN = """// Built by Parley's deploy/local/install_k8s.py: etcd's own main, as a module of its own.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
"""


def install_etcd() -> None:
    binary = etcd_bin()
    if binary.exists():
        say(f"etcd {ETCD_VERSION} present ({binary})")
        return
    _need_go()
    say(f"building etcd {ETCD_VERSION} from the Go module proxy (about 2 minutes)")
    with tempfile.TemporaryDirectory(prefix="parley-etcd-") as work:
        src = Path(work)
        (src / "main.go").write_text(ETCD_MAIN)
        env = _go_env(GOWORK="off")
        subprocess.run(["go", "mod", "init", "parley.local/etcd"], cwd=src, env=env, check=True,
                       capture_output=True)
        subprocess.run(["go", "get", f"go.etcd.io/etcd/server/v3@v{ETCD_VERSION}"], cwd=src,
                       env=env, check=True, capture_output=True)
        subprocess.run(["go", "mod", "tidy"], cwd=src, env=env, check=True, capture_output=True)
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        go_with_progress(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(partial), "."],
                         what=f"etcd {ETCD_VERSION}", cwd=src, env=env)
        partial.rename(binary)
    subprocess.run([str(binary), "--version"], check=True, stdout=subprocess.DEVNULL)


def go_install(name: str, package: str, version: str, binary: Path, *, takes: str,
               ldflags: str = "-s -w") -> None:
    """``go install -trimpath -ldflags <ldflags> <package>@v<version>`` into ``binary`` (its
    place in the cache, by version: ``<cache>/<name>-<version>/bin/…``), written under a
    ``.partial`` name and renamed once complete. Nothing is built when ``binary`` exists.
    ``takes`` is the build's usual duration, for the message ("about 2 minutes").

    Raises SystemExit when ``go`` is missing or the build fails."""
    if binary.exists():
        say(f"{name} {version} present ({binary})")
        return
    _need_go()
    say(f"building {name} {version} from the Go module proxy ({takes})")
    with tempfile.TemporaryDirectory(prefix=f"parley-{name}-") as gobin:
        go_with_progress(["install", "-trimpath", "-ldflags", ldflags, f"{package}@v{version}"],
                         what=f"{name} {version}", cwd=Path(gobin), env=_go_env(GOBIN=gobin))
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        shutil.move(str(Path(gobin) / package.rsplit("/", 1)[-1]), partial)
        partial.rename(binary)


def install_kwok() -> None:
    go_install("kwok", "sigs.k8s.io/kwok/cmd/kwok", KWOK_VERSION, kwok_bin(),
               takes="about 2 minutes")
    stages = kwok_stages()
    if (stages / ".complete").exists():
        return
    with tempfile.TemporaryDirectory(prefix="parley-kwok-") as work:
        module = _download(f"sigs.k8s.io/kwok@v{KWOK_VERSION}", Path(work))
    shutil.rmtree(stages, ignore_errors=True)
    stages.mkdir(parents=True)
    for sub in KWOK_STAGE_DIRS:
        for yaml in sorted((module / "kustomize" / "stage" / sub).glob("*.yaml")):
            if yaml.name != "kustomization.yaml":
                shutil.copyfile(yaml, stages / yaml.name)
    (stages / ".complete").write_text(KWOK_VERSION + "\n")
    say(f"kwok stages: {', '.join(sorted(p.name for p in stages.glob('*.yaml')))}")


def install_kube_score() -> None:
    go_install("kube-score", "github.com/zegl/kube-score/cmd/kube-score", KUBE_SCORE_VERSION,
               kube_score_bin(), takes="about 1.5 minutes",
               ldflags=f"-s -w -X main.version={KUBE_SCORE_VERSION}")


def install_kubeconform() -> None:
    go_install("kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform",
               KUBECONFORM_VERSION, kubeconform_bin(), takes="about 15 s")
    script = openapi2jsonschema_script()
    if script.exists():
        return
    with tempfile.TemporaryDirectory(prefix="parley-kubeconform-") as work:
        module = _download(f"github.com/yannh/kubeconform@v{KUBECONFORM_VERSION}", Path(work))
        partial = script.with_suffix(".partial")
        shutil.copyfile(module / "scripts" / "openapi2jsonschema.py", partial)
        partial.rename(script)


def install_prometheus_adapter() -> None:
    binary = prometheus_adapter_bin()
    if binary.exists():
        say(f"prometheus-adapter {PROMETHEUS_ADAPTER_VERSION} present ({binary})")
        return
    _need_go()
    say(f"building prometheus-adapter {PROMETHEUS_ADAPTER_VERSION} from the Go module proxy "
        "(about 4 minutes)")
    with tempfile.TemporaryDirectory(prefix="parley-prometheus-adapter-") as work:
        src = Path(work) / "prometheus-adapter"
        _writable_copy(_download(f"sigs.k8s.io/prometheus-adapter@v{PROMETHEUS_ADAPTER_VERSION}",
                                 Path(work)), src)
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        go_with_progress(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(partial),
                          "./cmd/adapter"],
                         what=f"prometheus-adapter {PROMETHEUS_ADAPTER_VERSION}", cwd=src,
                         env=_go_env(GOWORK="off"))
        partial.rename(binary)


def install_pause_image() -> None:
    tar = pause_image()
    if tar.exists():
        say(f"pause image present ({tar})")
        return
    for tool in ("gcc", "umoci", "skopeo"):
        if not shutil.which(tool):
            raise SystemExit(f"install: `{tool}` not found (the real node's pause image needs "
                             "gcc, umoci and skopeo: `./taskw install:system`)")
    say(f"building the pause image {PAUSE_IMAGE_REF} from Kubernetes {KUBERNETES_VERSION}'s "
        "build/pause/linux/pause.c")
    with tempfile.TemporaryDirectory(prefix="parley-pause-") as work:
        w = Path(work)
        source = _download(f"k8s.io/kubernetes@v{KUBERNETES_VERSION}", w)
        source = source / "build" / "pause" / "linux" / "pause.c"
        _, tag = PAUSE_IMAGE_REF.rsplit(":", 1)
        steps = [
            ["gcc", "-Os", "-static", f"-DVERSION=v{tag}-parley", "-o", str(w / "pause"),
             str(source)],
            ["umoci", "init", "--layout", str(w / "oci")],
            ["umoci", "new", "--image", f"{w / 'oci'}:{tag}"],
            ["umoci", "unpack", "--image", f"{w / 'oci'}:{tag}", str(w / "bundle")],
            ["cp", str(w / "pause"), str(w / "bundle" / "rootfs" / "pause")],
            ["umoci", "repack", "--image", f"{w / 'oci'}:{tag}", str(w / "bundle")],
            ["umoci", "config", "--image", f"{w / 'oci'}:{tag}", "--config.entrypoint=/pause",
             "--config.user=65535:65535"],
        ]
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        tar.parent.mkdir(parents=True, exist_ok=True)
        partial = tar.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        subprocess.run(["skopeo", "copy", f"oci:{w / 'oci'}:{tag}",
                        f"docker-archive:{partial}:{PAUSE_IMAGE_REF}"], check=True,
                       capture_output=True)
        partial.rename(tar)


def install_k8s() -> None:
    """Every binary of the local control plane and of the real node, kube-score, kubeconform,
    the CRDs, prometheus-adapter and the pause image (each step skips what is present)."""
    install_etcd()
    install_kwok()
    install_kube_score()
    install_kubeconform()
    fetch_crds()
    install_prometheus_adapter()
    install_kubernetes()
    install_pause_image()

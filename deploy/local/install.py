"""Install what the local stack runs, each only when missing (fast when all is present).

    python3 deploy/local/install.py uv | kafka | ferretdb | vegeta | system | web | jsclient | bench | k8s | all

Standard library only, so it runs before the workspace's .venv exists. Sources, by registry:
uv from PyPI (pip), Kafka jars from Maven Central (mvn), FerretDB from the Go module proxy
(go mod download + go build), vegeta from the Go module proxy (go install), coturn, Prometheus, PostgreSQL and Chromium from Debian (apt-get), the
browser client's npm packages from npm (``npm ci``, then ``npm run build`` into web/dist), and
those of tests/jsclient/ (the official socket.io JavaScript client the tests run) and of
bench/peers/node-relay/ and bench/loadgen/ (the benchmarks' Node peer and load generator; ``npm ci``),
and the local Kubernetes control plane (Kubernetes, etcd, kwok from the Go module proxy:
install_k8s.py).
Versioned installs go to ``${PARLEY_CACHE:-$HOME/.cache/parley}`` so every clone reuses them;
the npm install stamps live in the git-ignored ``.tools/web/``, ``.tools/jsclient/``,
``.tools/bench-peer/`` and ``.tools/bench-loadgen/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from install_k8s import install_k8s  # noqa: E402
from layout import (  # noqa: E402
    DEPLOY_LOCAL, FERRETDB_VERSION, KAFKA_VERSION, REPO, UV_VERSION, VEGETA_VERSION, WEB_CLIENT,
    WEB_DIST, ferretdb_bin, ferretdb_patches, kafka_libs, vegeta_bin,
)

APT_PACKAGES = {
    "coturn": "/usr/bin/turnserver",
    "prometheus": "/usr/bin/promtool",
    # `ip`: the HPA test gives prometheus-adapter an address on the loopback interface
    # (deploy/local/k8s_metrics_adapter.py)
    "iproute2": "/usr/sbin/ip",
    # the real Kubernetes node (deploy/local/k8s_node.py): the kubelet's container runtime
    # (with runc, below) and the CNI plugins it needs to report its network ready; its pause
    # image is made with umoci and skopeo (below)
    "containerd": "/usr/bin/containerd",
    "containernetworking-plugins": "/usr/lib/cni/loopback",
    # the browser tests drive Debian's Chromium (never a downloaded browser), installed
    # without its Recommends (udev, upower, mesa…); only its recommended font is wanted, so
    # screenshots render the same text on every machine
    "chromium": "/usr/bin/chromium",
    "fonts-liberation": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    # the room's reactions are emoji (docs/web-client.md, "Hands and reactions"): without a
    # colour emoji font Chromium draws them as empty boxes in the screenshots
    "fonts-noto-color-emoji": "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    # FerretDB's store; the stack runs its own cluster (deploy/local/postgres/run_postgres.py)
    "postgresql": "/usr/lib/postgresql/*/bin/initdb",
    # the service images (deploy/images/, `./taskw images`), built without a Docker engine:
    # mmdebstrap makes the base image's root filesystem from Debian's packages, podman
    # imports and builds (buildah is its build engine) and runs them with runc; skopeo and
    # umoci copy and unpack OCI images (for a kubelet's containerd)
    "mmdebstrap": "/usr/bin/mmdebstrap",
    "podman": "/usr/bin/podman",
    "buildah": "/usr/bin/buildah",
    "runc": "/usr/sbin/runc",
    "skopeo": "/usr/bin/skopeo",
    "umoci": "/usr/bin/umoci",
}
#: daemons a Debian post-install may start; the stack runs its own instances instead
APT_DAEMONS = ("/usr/bin/turnserver", "/usr/bin/prometheus", "prometheus-node-exporter",
               "/usr/lib/postgresql/")


def say(msg: str) -> None:
    print(f"install: {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def need(tool: str, hint: str) -> None:
    if not shutil.which(tool):
        raise SystemExit(f"install: `{tool}` not found ({hint})")


def install_uv() -> None:
    venv = REPO / ".tools" / "uv"
    uv = venv / "bin" / "uv"
    marker = venv / ".version"
    if uv.exists() and marker.exists() and marker.read_text().strip() == UV_VERSION:
        say(f"uv {UV_VERSION} present")
        return
    say(f"installing uv=={UV_VERSION} from PyPI into .tools/uv")
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         f"uv=={UV_VERSION}"])
    marker.write_text(UV_VERSION + "\n")


def install_kafka() -> None:
    libs = kafka_libs()
    if (libs / ".complete").exists():
        say(f"Kafka {KAFKA_VERSION} jars present ({libs})")
        return
    need("mvn", "apt-get install maven")
    need("java", "apt-get install openjdk-17-jre-headless")
    say(f"copying Kafka {KAFKA_VERSION} jars from Maven Central into {libs}")
    tmp = libs.with_name("libs.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    run(["mvn", "-B", "-q", "-f", str(DEPLOY_LOCAL / "kafka" / "pom.xml"),
         f"-Dkafka.version={KAFKA_VERSION}", "dependency:copy-dependencies",
         f"-DoutputDirectory={tmp}"])
    (tmp / ".complete").write_text(KAFKA_VERSION + "\n")
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)


def install_ferretdb() -> None:
    binary = ferretdb_bin()
    if binary.exists():
        say(f"FerretDB {FERRETDB_VERSION} present ({binary})")
        return
    need("go", "Go toolchain")
    module = f"github.com/FerretDB/FerretDB@v{FERRETDB_VERSION}"
    say(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy, with Parley's patches (a few minutes)")
    # `go install` fails here (the proxy refuses the @v/list used for deprecation checks),
    # so download the module and build it from a writable copy that carries version.txt.
    with tempfile.TemporaryDirectory() as work:
        info = json.loads(run(["go", "mod", "download", "-json", module],
                              capture_output=True, text=True, cwd=work).stdout)
        src = Path(work) / "src"
        shutil.copytree(info["Dir"], src)
        for p in [src, *src.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
        for patch in ferretdb_patches():  # git apply needs no repository here
            say(f"applying {patch.relative_to(REPO)}")
            run(["git", "apply", "-p1", str(patch)], cwd=src)
        (src / "build" / "version" / "version.txt").write_text(f"v{FERRETDB_VERSION}\n")
        (src / "build" / "version" / "package.txt").write_text("parley-local\n")
        binary.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOFLAGS": "-buildvcs=false", "CGO_ENABLED": "0"}
        tmp_bin = binary.with_suffix(".partial")
        run(["go", "build", "-trimpath", "-o", str(tmp_bin), "./cmd/ferretdb"], cwd=src, env=env)
        tmp_bin.rename(binary)
    run([str(binary), "--version"], stdout=subprocess.DEVNULL)


def install_vegeta() -> None:
    """vegeta (tsenart/vegeta, the load generator of bench/rest.py): ``go install`` of the
    pinned version from the Go module proxy (a pinned version needs no ``@v/list`` lookup),
    into the cache; about two minutes of building, once per version."""
    binary = vegeta_bin()
    if binary.exists():
        say(f"vegeta {VEGETA_VERSION} present ({binary})")
        return
    need("go", "Go toolchain")
    say(f"building vegeta {VEGETA_VERSION} from the Go module proxy")
    with tempfile.TemporaryDirectory() as gobin:
        env = {**os.environ, "GOBIN": gobin, "GOFLAGS": "-buildvcs=false", "CGO_ENABLED": "0"}
        run(["go", "install", f"github.com/tsenart/vegeta/v12@v{VEGETA_VERSION}"], env=env, cwd=gobin)
        binary.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(gobin) / "vegeta"), binary)
    run([str(binary), "-version"], stdout=subprocess.DEVNULL)


def running_daemons() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    stack_dir = str(REPO / ".stack")
    return [line.strip() for line in out.splitlines()
            if any(d in line for d in APT_DAEMONS) and stack_dir not in line
            and ".stack/" not in line]


def _installed(path: str) -> bool:
    """``path`` exists; a ``*`` in it matches any one directory (a version number)."""
    return any(Path("/").glob(path.lstrip("/"))) if "*" in path else Path(path).exists()


def install_system() -> None:
    missing = [pkg for pkg, path in APT_PACKAGES.items() if not _installed(path)]
    if not missing:
        say(f"apt packages present ({', '.join(APT_PACKAGES)})")
        return
    if os.geteuid() != 0:
        raise SystemExit(f"install: run as root, or: sudo apt-get install {' '.join(missing)}")
    say(f"apt-get install {' '.join(missing)}")
    # keep the packages' post-install from starting system-wide daemons on the stack's ports
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# temporary, written by parley install.py\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not any(Path("/var/lib/apt/lists").glob("*Packages*")):
            run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env)
    finally:
        if ours:
            policy.unlink()
    daemons = running_daemons()
    if daemons:
        say("WARNING: the packages started system daemons (stop them: "
            "`service coturn stop; service prometheus stop; service postgresql stop`):\n  " + "\n  ".join(daemons))


# the browser client (web/) -------------------------------------------------------------------
WEB_STAMPS = REPO / ".tools" / "web"
#: what never counts as a source of the client build
WEB_NOT_SOURCES = {"node_modules", "dist"}


def _sha256_of(files: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def web_sources() -> list[Path]:
    """Every file the build reads: web/ minus node_modules/, dist/ and hidden directories
    (tool caches such as .vite/); hidden files (.env*) count."""
    out = []
    for dirpath, dirnames, filenames in os.walk(WEB_CLIENT):
        dirnames[:] = [d for d in dirnames if d not in WEB_NOT_SOURCES and not d.startswith(".")]
        out += [Path(dirpath) / f for f in filenames]
    return out


def _stamp(name: str) -> Path:
    return WEB_STAMPS / f"{name}.sha256"


def _stamped(name: str, value: str) -> bool:
    path = _stamp(name)
    return path.exists() and path.read_text().strip() == value


def _write_stamp(name: str, value: str) -> None:
    WEB_STAMPS.mkdir(parents=True, exist_ok=True)
    _stamp(name).write_text(value + "\n")


def install_web() -> None:
    """``npm ci`` when web/package-lock.json changed since the last install (or node_modules is
    gone), then ``npm run build`` when any source of the client changed (or web/dist is gone).
    Skipped, saying so, while web/package.json does not exist."""
    package = WEB_CLIENT / "package.json"
    lock = WEB_CLIENT / "package-lock.json"
    if not package.is_file():
        say(f"web: {package.relative_to(REPO)} does not exist yet (the browser client is not "
            "written): skipping npm ci and npm run build; the stack starts without the client")
        return
    if not lock.is_file():
        say(f"web: {lock.relative_to(REPO)} is missing: `npm ci` needs the committed lock file; "
            "skipping the client build (run `npm install` in web/ and commit the lock file)")
        return
    need("npm", "apt-get install npm (Node.js 20.19 or newer)")
    lock_sum = _sha256_of([package, lock], WEB_CLIENT)
    if _stamped("npm-ci", lock_sum) and (WEB_CLIENT / "node_modules").is_dir():
        say("web: npm dependencies up to date (package-lock.json unchanged)")
    else:
        say("web: npm ci (package-lock.json changed since the last install)")
        _stamp("npm-ci").unlink(missing_ok=True)
        _stamp("build").unlink(missing_ok=True)
        try:
            run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB_CLIENT)
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"install: web: `npm ci` in web/ failed (exit {exc.returncode})") \
                from None
        _write_stamp("npm-ci", lock_sum)
    source_sum = _sha256_of(web_sources(), WEB_CLIENT)
    if _stamped("build", source_sum) and (WEB_DIST / "index.html").is_file():
        say(f"web: client build up to date ({WEB_DIST.relative_to(REPO)}/, sources unchanged)")
        return
    say(f"web: npm run build (sources changed) -> {WEB_DIST.relative_to(REPO)}/")
    _stamp("build").unlink(missing_ok=True)
    try:
        run(["npm", "run", "build", "--silent"], cwd=WEB_CLIENT)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"install: web: `npm run build` in web/ failed (exit {exc.returncode}); "
                         "its errors are above") from None
    if not (WEB_DIST / "index.html").is_file():
        raise SystemExit(f"install: web: npm run build did not produce {WEB_DIST / 'index.html'}")
    _write_stamp("build", source_sum)


# Node packages installed with `npm ci` and nothing built -----------------------------------
#: name -> (folder, what it is): the tests' official socket.io JavaScript client, the
#: benchmarks' Node peer (socket.io) and their load generator (socket.io-client)
NPM_FOLDERS = {
    "jsclient": (REPO / "tests" / "jsclient",
                 "the official socket.io JavaScript client the tests in tests/jsclient/ run"),
    "bench-peer": (REPO / "bench" / "peers" / "node-relay",
                   "the benchmarks' peer, a plain Node socket.io relay (bench/README.md)"),
    "bench-loadgen": (REPO / "bench" / "loadgen",
                      "the benchmarks' load generator over the official socket.io client"),
}


def _npm_ci(name: str) -> None:
    """``npm ci`` in ``NPM_FOLDERS[name]`` when its package.json or package-lock.json changed
    since the last install (or node_modules is gone); the stamp lives in ``.tools/<name>/``."""
    folder, _ = NPM_FOLDERS[name]
    where = folder.relative_to(REPO)
    package = folder / "package.json"
    lock = folder / "package-lock.json"
    if not lock.is_file():
        raise SystemExit(f"install: {name}: {lock.relative_to(REPO)} is missing: `npm ci` needs "
                         "the committed lock file (run `npm install` there and commit it)")
    need("npm", "apt-get install npm (Node.js 20 or newer)")
    stamps = REPO / ".tools" / name
    stamp = stamps / "npm-ci.sha256"
    lock_sum = _sha256_of([package, lock], folder)
    if stamp.exists() and stamp.read_text().strip() == lock_sum \
            and (folder / "node_modules").is_dir():
        say(f"{name}: npm dependencies up to date (package-lock.json unchanged)")
        return
    say(f"{name}: npm ci in {where} (package-lock.json changed since the last install)")
    stamp.unlink(missing_ok=True)
    try:
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder)
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"install: {name}: `npm ci` in {where}/ failed "
                         f"(exit {exc.returncode})") from None
    stamps.mkdir(parents=True, exist_ok=True)
    stamp.write_text(lock_sum + "\n")


def install_jsclient() -> None:
    """The official socket.io client that the tests in tests/jsclient/ run with Node."""
    _npm_ci("jsclient")


def install_bench() -> None:
    """The benchmarks' Node packages: the peer relay (bench/peers/node-relay, socket.io) and
    the load generator (bench/loadgen, socket.io-client)."""
    _npm_ci("bench-peer")
    _npm_ci("bench-loadgen")


def main() -> None:
    steps = {"uv": install_uv, "kafka": install_kafka, "ferretdb": install_ferretdb,
             "vegeta": install_vegeta, "system": install_system, "web": install_web,
             "jsclient": install_jsclient, "bench": install_bench, "k8s": install_k8s}
    wanted = sys.argv[1:] or ["all"]
    for name in wanted:
        for step in (steps.values() if name == "all" else [steps[name]]):
            step()


if __name__ == "__main__":
    main()

"""The service images (services/*/Containerfile on deploy/images/'s base; ``./taskw images``).

One image, auth's, is built (or found up to date in podman's storage under the cache) and run
with podman as Kubernetes runs it (deploy/k8s/base/auth.yaml): host network, read-only root
filesystem with a tmpfs /tmp, all capabilities dropped, no privilege escalation, the image's
own user; against the test stack's Kafka and FerretDB, until ``/readyz`` answers 200. The
first run on a machine builds the base image with mmdebstrap (a few minutes, printed as it
goes); later runs reuse it. The rest checks the images' contract with the manifests without
podman.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "deploy" / "images"
sys.path.insert(0, str(IMAGES))

from build_images import SERVICES, build_images  # noqa: E402
from podman_env import podman  # noqa: E402

from parley_testing.coturn import free_port  # noqa: E402
from parley_testing.stack import Stack  # noqa: E402

UID = 10001
READY_WITHIN_S = 120.0
#: pytest-timeout counts the fixtures' time: a machine without the base image builds it
#: (mmdebstrap, then auth's image) inside the first test, minutes on a loaded 2-core machine
BUILDS_WITHIN = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def auth_image(request: pytest.FixtureRequest) -> str:
    """``localhost/parley/auth:<version>-<inputs>``, built unless up to date; the build's
    progress goes to the terminal (it takes minutes on a machine without the base image)."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\ntests/infra/test_images.py: building auth's image (./taskw images -- auth)",
              flush=True)
        tag = build_images(("auth",))["auth"]
    return f"localhost/parley/auth:{tag}"


@pytest.fixture
def jwt_dir(tmp_path: Path) -> Path:
    """A directory holding an Ed25519 signing key readable by the image's user, as the
    Secret ``parley-auth-jwt`` is mounted (mode 0440, group 10001)."""
    keys = tmp_path / "jwt"
    keys.mkdir(mode=0o755)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    key = keys / "private.pem"
    key.write_bytes(pem)
    key.chmod(0o644)
    return keys


@pytest.fixture
def container_name(unique_name: str) -> Iterator[str]:
    name = f"parley-test-{unique_name}"
    yield name
    podman("rm", "--force", "--time", "0", name, capture=True, check=False)


def _inspect(ref: str, kind: str = "container") -> dict:
    out = podman(kind, "inspect", ref, capture=True).stdout
    return json.loads(out)[0]


@BUILDS_WITHIN
def test_auth_image_is_ready_read_only_as_its_non_root_user_and_stops_on_sigterm(
    auth_image: str, stack: Stack, jwt_dir: Path, container_name: str, unique_name: str
) -> None:
    port = free_port()
    env = {
        "UVICORN_HOST": "127.0.0.1",  # the host's network: only loopback, on a free port
        "UVICORN_PORT": str(port),
        "PARLEY_ENVIRONMENT": "local",
        "PARLEY_INSTANCE_ID": container_name,
        "PARLEY_KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap_servers,
        "PARLEY_MONGO_URI": stack.mongo_uri,
        "PARLEY_MONGO_DATABASE": unique_name,
        "PARLEY_JWT_PRIVATE_KEY_FILE": "/etc/parley/jwt/private.pem",
        "PARLEY_JWKS_URL": f"http://127.0.0.1:{port}/api/auth/.well-known/jwks.json",
    }
    podman(
        "run", "--detach", "--name", container_name,
        "--network", "host", "--read-only", "--cap-drop", "all",
        "--security-opt", "no-new-privileges",
        "--volume", f"{jwt_dir}:/etc/parley/jwt:ro",
        *(f"--env={k}={v}" for k, v in env.items()),
        auth_image, capture=True)

    deadline = time.monotonic() + READY_WITHIN_S
    status, last = None, ""
    while time.monotonic() < deadline:
        state = _inspect(container_name)["State"]
        if not state["Running"]:
            logs = podman("logs", container_name, capture=True, check=False)
            pytest.fail(f"the container exited ({state['ExitCode']}):\n"
                        f"{logs.stdout[-3000:]}{logs.stderr[-3000:]}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            status, last = response.status_code, response.text
            if status == 200:
                break
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(1)
    assert status == 200, f"/readyz did not answer 200 within {READY_WITHIN_S:.0f} s: {last}"
    assert httpx.get(f"http://127.0.0.1:{port}/api/auth/.well-known/jwks.json").json()["keys"]

    # the process podman started is uvicorn itself (no shell in between), as uid/gid 10001
    pid = _inspect(container_name)["State"]["Pid"]
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1] == b"/app/.venv/bin/uvicorn", cmdline
    status_lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    ids = {line.split(":")[0]: line.split()[1:] for line in status_lines
           if line.startswith(("Uid:", "Gid:"))}
    assert ids == {"Uid": [str(UID)] * 4, "Gid": [str(UID)] * 4}
    # the root filesystem is read-only for it
    probe = podman("exec", container_name, "/app/.venv/bin/python", "-c",
                   "open('/app/x', 'w')", capture=True, check=False)
    assert probe.returncode != 0 and "Read-only file system" in probe.stderr

    # SIGTERM (the image's STOPSIGNAL): uvicorn shuts down cleanly, well within the grace time
    started = time.monotonic()
    podman("stop", "--time", "30", container_name, capture=True)
    state = _inspect(container_name)["State"]
    assert state["ExitCode"] == 0, state
    assert time.monotonic() - started < 25


@BUILDS_WITHIN
def test_the_image_has_no_shell_and_runs_as_10001_with_sigterm(auth_image: str) -> None:
    config = _inspect(auth_image, "image")["Config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["StopSignal"] == "SIGTERM"
    for shell in ("/bin/sh", "/bin/bash", "/usr/bin/dash"):
        run = podman("run", "--rm", "--network", "host", "--entrypoint", shell, auth_image,
                     "-c", "true", capture=True, check=False)
        assert run.returncode != 0
        assert re.search(r"no such file|not found", run.stderr, re.I), run.stderr


# the images' contract with deploy/k8s's manifests (no podman needed) --------------------------
def _containerfile_json(path: Path, instruction: str) -> list[str]:
    """The JSON array of ``instruction`` (ENTRYPOINT, CMD) in Containerfile ``path``."""
    text = path.read_text().replace("\\\n", " ")
    match = re.search(rf"^{instruction}\s+(\[.*\])\s*$", text, re.M)
    assert match, f"{path}: no {instruction} in exec form"
    return json.loads(match.group(1))


def _manifest(service: str) -> dict:
    docs = yaml.safe_load_all((REPO / "deploy" / "k8s" / "base" / f"{service}.yaml").read_text())
    return next(d for d in docs if d["kind"] in ("Deployment", "StatefulSet"))


@pytest.mark.parametrize("service", SERVICES)
def test_each_manifest_runs_its_image_as_the_images_user_within_the_grace_period(service: str) -> None:
    base = IMAGES / "Containerfile.base"
    assert re.search(rf"^USER {UID}:{UID}$", base.read_text(), re.M)
    assert re.search(r"^STOPSIGNAL SIGTERM$", base.read_text(), re.M)
    entrypoint = _containerfile_json(base, "ENTRYPOINT")
    graceful_s = int(entrypoint[entrypoint.index("--timeout-graceful-shutdown") + 1])

    pod = _manifest(service)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"parley/{service}:dev"  # the tag ./taskw images gives
    assert pod["securityContext"]["runAsUser"] == UID
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # uvicorn's graceful shutdown, then the application's, before the kubelet's SIGKILL
    assert graceful_s + 5 <= pod["terminationGracePeriodSeconds"]
    cmd = _containerfile_json(REPO / "services" / service / "Containerfile", "CMD")
    assert cmd[0] == f"parley_{service.replace('-', '_')}.main:create_app"


def test_signalings_image_runs_uvicorn_with_the_local_stacks_websocket_options() -> None:
    from components import SIGNALING_UVICORN_OPTIONS

    cmd = _containerfile_json(REPO / "services" / "signaling" / "Containerfile", "CMD")
    assert cmd[1:] == ["--access-log", *SIGNALING_UVICORN_OPTIONS]


def test_the_images_keep_idle_connections_open_as_long_as_the_local_stack() -> None:
    """Longer than Traefik keeps its own idle connections to a server (90 s), so Traefik closes them."""
    from components import UVICORN_OPTIONS

    entrypoint = _containerfile_json(IMAGES / "Containerfile.base", "ENTRYPOINT")
    keep_alive_s = int(entrypoint[entrypoint.index("--timeout-keep-alive") + 1])
    assert keep_alive_s == int(UVICORN_OPTIONS[UVICORN_OPTIONS.index("--timeout-keep-alive") + 1])
    assert keep_alive_s > 90

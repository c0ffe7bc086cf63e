"""Build Parley's service images with podman (``./taskw images``) and print their sizes.

    python3 deploy/images/build_images.py [SERVICE ...]      # default: every service

One OCI image per service (``SERVICES``), from ``services/<service>/Containerfile``, on the
base images of base_image.py. For each service this prepares a build context of the service's own
inputs only, so that one service's change never rebuilds another's image:

- ``requirements.txt``: ``uv export --frozen --no-dev --no-editable --package
  parley-<service>`` without its workspace lines (``./libs/...``, ``./services/...``): the
  third-party packages exactly as uv.lock pins them, with hashes;
- ``wheels/``: ``uv build --wheel`` of those workspace members (the service and every library
  it uses), named in ``wheels/packages.txt``;
- ``dist/`` (web only): the browser client built by ``./taskw install`` (web/dist).

The image is tagged ``localhost/parley/<service>:dev`` (what deploy/k8s's manifests name) and
``:<version>-<inputs>``, where ``<version>`` is the service's pyproject version and
``<inputs>`` the first 12 hex digits of a SHA-256 over everything the image is made of (the
Containerfile, the base images, the export, the sources of the service and its libraries,
web/dist): the same inputs give the same tag. When the ``:dev`` image already carries that
hash (label ``parley.inputs``), nothing is built. podman's layer cache makes a rebuild after a
code change cheap: the dependencies' layer is reused unless uv.lock changed for that service.
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from base_image import ensure_base, say
from podman_env import image_labels, images_dir, podman, podman_env, run_reporting

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "local"))
from layout import REPO, UV_VERSION, WEB_DIST  # noqa: E402

SERVICES = ("auth", "meetings", "chat", "signaling", "turn-config", "web")
UV = REPO / ".tools" / "uv" / "bin" / "uv"
#: never part of a workspace package's inputs
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def containerfile(service: str) -> Path:
    return REPO / "services" / service / "Containerfile"


def _uv(*args: str, cwd: Path = REPO) -> str:
    proc = subprocess.run([str(UV), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    if proc.returncode != 0:
        raise SystemExit(f"images: `uv {' '.join(args)}` failed:\n{proc.stderr}")
    return proc.stdout


def export(service: str) -> tuple[str, list[Path]]:
    """The locked third-party requirements of ``parley-<service>`` and the workspace members
    it is made of (directories, the service's own among them)."""
    out = _uv("export", "--frozen", "--no-dev", "--no-editable", "--no-header", "--no-annotate",
              "--package", f"parley-{service}")
    members = [REPO / line.strip() for line in out.splitlines() if line.startswith("./")]
    requirements = "".join(line + "\n" for line in out.splitlines() if not line.startswith("./"))
    return requirements, members


def _tree_digest(digest, root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(REPO)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())


def inputs_hash(service: str, requirements: str, members: list[Path], bases: tuple[str, str]) -> str:
    """SHA-256 over everything ``service``'s image is made of."""
    digest = hashlib.sha256()
    digest.update(containerfile(service).read_bytes())
    digest.update("\0".join(bases).encode() + b"\0" + requirements.encode())
    for member in members:
        digest.update((member / "pyproject.toml").read_bytes())
        _tree_digest(digest, member / "src")
    if service == "web":
        _tree_digest(digest, WEB_DIST)
    return digest.hexdigest()


def version(service: str) -> str:
    with (REPO / "services" / service / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def prepare_context(service: str, requirements: str, members: list[Path], ctx: Path) -> None:
    (ctx / "requirements.txt").write_text(requirements)
    wheels = ctx / "wheels"
    wheels.mkdir()
    for member in members:
        _uv("build", "--quiet", "--wheel", "--out-dir", str(wheels), str(member))
    names = sorted(p.name for p in wheels.glob("*.whl"))
    (wheels / "packages.txt").write_text("".join(f"/build/wheels/{n}\n" for n in names))
    if service == "web":
        shutil.copytree(WEB_DIST, ctx / "dist")


def uv_cache() -> Path:
    return Path(_uv("cache", "dir").strip())


def host_ca_bundle() -> Path | None:
    """The CA bundle this machine trusts (``$SSL_CERT_FILE`` or Debian's), mounted over the
    build stage's so that uv reaches PyPI through whatever TLS proxy the machine uses."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


def build(service: str, bases: tuple[str, str]) -> str:
    """Build ``service``'s image unless its ``:dev`` tag already holds the same inputs;
    returns its content tag (``<version>-<inputs>``)."""
    requirements, members = export(service)
    if service == "web" and not (WEB_DIST / "index.html").is_file():
        raise SystemExit(f"images: {WEB_DIST}/index.html is missing: run ./taskw install")
    key = inputs_hash(service, requirements, members, bases)
    tag = f"{version(service)}-{key[:12]}"
    repo = f"localhost/parley/{service}"
    labels = image_labels(f"{repo}:dev")
    if labels is not None and labels.get("parley.inputs") == key:
        if image_labels(f"{repo}:{tag}") is None:
            podman("tag", f"{repo}:dev", f"{repo}:{tag}")
        say(f"{service}: up to date ({repo}:{tag})")
        return tag
    say(f"{service}: building {repo}:{tag} (services/{service}/Containerfile)")
    started = time.monotonic()
    cache = uv_cache()
    cache.mkdir(parents=True, exist_ok=True)
    ca = host_ca_bundle()
    mounts = [f"--volume={cache}:/uv-cache"]
    if ca:
        mounts.append(f"--volume={ca}:/etc/ssl/certs/ca-certificates.crt:ro")
    with tempfile.TemporaryDirectory(dir=images_dir()) as ctx:
        prepare_context(service, requirements, members, Path(ctx))
        run_reporting([
            "podman", "build", "--pull=never", "--network=host", "--layers",
            "-f", str(containerfile(service)),
            f"--build-arg=BASE={bases[0]}", f"--build-arg=BUILDER={bases[1]}",
            *mounts,
            f"--label=parley.inputs={key}", f"--label=org.opencontainers.image.version={tag}",
            "-t", f"{repo}:dev", "-t", f"{repo}:{tag}", ctx,
        ], what=f"{service}: podman build", env=podman_env())
    say(f"{service}: built in {time.monotonic() - started:.0f} s")
    return tag


def sizes(refs: list[str]) -> dict[str, int]:
    """Size in bytes of each local image (podman's figure: all its layers, uncompressed)."""
    out = podman("image", "inspect", "--format", "{{json .Size}}", *refs, capture=True).stdout
    return dict(zip(refs, (json.loads(line) for line in out.split()), strict=True))


def build_images(services: tuple[str, ...] = SERVICES) -> dict[str, str]:
    """Build the base images and ``services``' images; returns service -> content tag."""
    if not UV.exists():
        raise SystemExit(f"images: {UV} is missing: run ./taskw install")
    if not shutil.which("podman"):
        raise SystemExit("images: `podman` not found: run ./taskw install (Debian packages)")
    bases = ensure_base(UV, UV_VERSION)
    return {service: build(service, bases) for service in services}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="SERVICE",
                        help=f"default: all of {', '.join(SERVICES)}")
    services = tuple(parser.parse_args().services or SERVICES)
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        parser.error(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    started = time.monotonic()
    tags = build_images(services)
    refs = [f"localhost/parley/{s}:{t}" for s, t in tags.items()]
    size = sizes(refs)
    rows = [(f"parley/{s}", f"{t} (and dev)", f"{size[r] / 1e6:.0f} MB")
            for (s, t), r in zip(tags.items(), refs, strict=True)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("IMAGE", "TAG", "SIZE"))]
    for row in [("IMAGE", "TAG", "SIZE"), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"images: {len(rows)} image(s) in {time.monotonic() - started:.0f} s "
          f"(podman storage: {images_dir() / 'storage'})")


if __name__ == "__main__":
    main()

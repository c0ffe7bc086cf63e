"""Parley's base images, built from Debian's packages and cached by recipe.

- The root filesystem: ``mmdebstrap --variant=minbase --include=python3,ca-certificates``
  of Debian ``SUITE`` from deb.debian.org (with -updates and -security), without
  documentation, manual pages or translations, then pruned (``prune()``): no shell, no
  package manager, no Perl, no setuid or setgid bit, and user and group ``parley``
  (10001). It is cached as ``<cache>/images/rootfs-<key>.tar`` and imported with ``podman
  import`` as ``localhost/parley/rootfs:<key>``. ``<key>`` is a hash of the recipe (this
  file's ``SUITE``, ``PACKAGES``, ``PRUNE_*``, ``REVISION``): changing it builds a new base;
  bump ``REVISION`` to take Debian's updates.
- ``localhost/parley/python:<tag>`` (deploy/images/Containerfile.base): what every service
  image runs on: the user, the environment and uvicorn's entry point and stop signal.
- ``localhost/parley/python-build:<tag>`` (deploy/images/Containerfile.builder): the
  build stage: the runtime base plus uv and an empty virtual environment at /app/.venv.
  ``<tag>`` hashes ``<key>``, both Containerfiles and uv's version.

About two and a half minutes the first time on this 2-core machine (mmdebstrap downloads and
installs about 90 packages), under a second once cached. Standard library only.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from podman_env import HERE, image_labels, images_dir, podman, run_reporting

SUITE = "bookworm"
MIRRORS = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
#: on top of minbase (Debian's Essential packages and apt): the interpreter of every service
#: (Debian's Python 3.11, as the workspace's ``requires-python``) and the CA certificates
PACKAGES = ("python3", "ca-certificates")
#: dpkg leaves these out while installing
DPKG_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*",
                 "/usr/share/locale/*", "/usr/share/lintian/*")
#: files removed from the root filesystem (exact paths, without the leading /): the shells
PRUNE_FILES = frozenset({
    "usr/bin/sh", "usr/bin/bash", "usr/bin/dash", "usr/bin/rbash", "usr/bin/bashbug",
    "bin/sh", "bin/bash", "bin/dash",
})
#: path prefixes removed: the package manager, Perl and what runs on it (debconf)
PRUNE_PREFIXES = (
    "usr/bin/apt", "usr/bin/dpkg", "usr/bin/debconf", "usr/bin/perl", "usr/bin/cpan",
    "usr/lib/apt/", "usr/lib/dpkg/", "usr/share/perl", "usr/share/debconf/",
    "usr/lib/x86_64-linux-gnu/perl", "usr/lib/x86_64-linux-gnu/libperl.so",
    "usr/lib/x86_64-linux-gnu/libapt-", "var/cache/", "var/lib/apt/", "etc/apt/",
)
UID = GID = 10001
#: bump to rebuild the base with Debian's current packages (security updates)
REVISION = "1"


def recipe_key() -> str:
    """A short hash of everything that decides the root filesystem's content."""
    recipe = repr((SUITE, MIRRORS, PACKAGES, DPKG_EXCLUDES, sorted(PRUNE_FILES), PRUNE_PREFIXES,
                   UID, REVISION))
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def say(msg: str) -> None:
    print(f"images: {msg}", flush=True)


def _pruned(path: str) -> bool:
    path = path.removeprefix("./")
    return path in PRUNE_FILES or path.startswith(PRUNE_PREFIXES)


def _add_user(data: bytes, line: str) -> bytes:
    return data if line.split(":")[0].encode() + b":" in data else data + line.encode() + b"\n"


def prune(raw: Path, out: Path) -> None:
    """Copy tarball ``raw`` to ``out`` without ``PRUNE_FILES``/``PRUNE_PREFIXES``, with
    setuid/setgid bits cleared and user and group ``parley`` (``UID``) added."""
    extra = {
        "etc/passwd": f"parley:x:{UID}:{GID}:Parley:/nonexistent:/usr/sbin/nologin",
        "etc/group": f"parley:x:{GID}:",
    }
    with tarfile.open(raw) as src, tarfile.open(out, "w") as dst:
        for member in src:
            name = member.name.removeprefix("./")
            if _pruned(name):
                continue
            member.mode &= ~0o6000
            if member.isfile() and name in extra:
                data = _add_user(src.extractfile(member).read(), extra[name])
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))
            elif member.isfile():
                dst.addfile(member, src.extractfile(member))
            else:
                dst.addfile(member)


def rootfs_tar(key: str) -> Path:
    """The pruned root filesystem, built by mmdebstrap unless cached."""
    out = images_dir() / f"rootfs-{key}.tar"
    if out.exists():
        return out
    if not shutil.which("mmdebstrap"):
        raise SystemExit("images: `mmdebstrap` not found: run ./taskw install (Debian packages)")
    say(f"building the base root filesystem from Debian {SUITE} with mmdebstrap "
        f"(minbase + {', '.join(PACKAGES)}; about 2-3 minutes, once per recipe {key})")
    started = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as work:
        raw = Path(work) / "raw.tar"
        cmd = ["nice", "-n", "10", "mmdebstrap", "--variant=minbase", "--format=tar",
               "--include=" + ",".join(PACKAGES),
               *(f"--dpkgopt=path-exclude={p}" for p in DPKG_EXCLUDES),
               SUITE, str(raw), *MIRRORS]
        run_reporting(cmd, what="mmdebstrap")
        partial = Path(work) / "pruned.tar"
        prune(raw, partial)
        partial.rename(out)
    say(f"root filesystem ready in {time.monotonic() - started:.0f} s "
        f"({out.stat().st_size / 1e6:.0f} MB uncompressed): {out}")
    return out


def _build(ref: str, containerfile: Path, context: Path, **args: str) -> None:
    podman("build", "--quiet", "--pull=never", "--network=host", "--layers",
           "-f", str(containerfile), "-t", ref,
           *(f"--build-arg={k}={v}" for k, v in args.items()), str(context), capture=True)


def ensure_base(uv_binary: Path, uv_version: str) -> tuple[str, str]:
    """The runtime base and the build stage base (local image references), built unless
    present."""
    key = recipe_key()
    rootfs = f"localhost/parley/rootfs:{key}"
    # the tags change with the Containerfiles and uv too
    digest = hashlib.sha256(key.encode() + uv_version.encode())
    for name in ("Containerfile.base", "Containerfile.builder"):
        digest.update((HERE / name).read_bytes())
    tag = digest.hexdigest()[:12]
    runtime = f"localhost/parley/python:{tag}"
    builder = f"localhost/parley/python-build:{tag}"
    if image_labels(runtime) is None or image_labels(builder) is None:
        if image_labels(rootfs) is None:
            tar = rootfs_tar(key)
            say(f"podman import {tar.name} -> {rootfs}")
            podman("import", "--quiet", str(tar), rootfs, capture=True)
        _build(runtime, HERE / "Containerfile.base", HERE, ROOTFS=rootfs)
        with tempfile.TemporaryDirectory(dir=images_dir()) as ctx:
            shutil.copy2(uv_binary, Path(ctx) / "uv")
            _build(builder, HERE / "Containerfile.builder", Path(ctx), BASE=runtime)
        say(f"base images ready: {runtime}, {builder}")
    return runtime, builder

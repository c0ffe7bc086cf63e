"""Which file answers a request path of the single-page app, and how long it may be cached.

Rules (Vite's build layout: ``index.html`` plus content-hashed files under ``assets/``):

- a path naming a regular file inside the dist directory is that file; files under
  ``assets/`` carry a content hash in their name, so they are cached for a year
  (``immutable``); every other file (``index.html``, ``favicon.svg``…) is ``no-cache``
  (the browser revalidates it with its ETag on every use);
- a missing path under ``assets/``, ``api/`` or ``socket.io/`` is a 404: a stale hashed
  asset or an API call must never receive the HTML page;
- any other path is a client-side route (``/m/{meeting_id}``, ``/signin``…): it gets
  ``index.html`` (the History API fallback), ``no-cache``.

Paths that escape the dist directory (``..``, symlinks pointing outside) are treated as
missing. Nothing here does I/O beyond ``stat``.
"""

from dataclasses import dataclass
from pathlib import Path

#: Cache-Control of content-hashed files (RFC 9111 §5.2.2.1; ``immutable``: RFC 8246).
CACHE_HASHED = "public, max-age=31536000, immutable"
#: Cache-Control of every other file: store, but revalidate before each use (RFC 9111 §5.2.2.4).
CACHE_REVALIDATE = "no-cache"

INDEX = "index.html"
#: First path segments that never fall back to ``index.html``.
NO_FALLBACK_PREFIXES = ("assets", "api", "socket.io")


@dataclass(frozen=True)
class Found:
    """The request is answered by ``file`` with ``Cache-Control: cache_control``.
    ``fallback`` is True when ``file`` is ``index.html`` standing in for a client route."""

    file: Path
    cache_control: str
    fallback: bool = False


@dataclass(frozen=True)
class NotFound:
    """Nothing to serve: 404 for the path."""


@dataclass(frozen=True)
class NotBuilt:
    """The client has not been built (no ``index.html`` in the dist directory): 503."""


Resolution = Found | NotFound | NotBuilt


def _inside(dist: Path, relative: str) -> Path | None:
    """The regular file ``dist/relative`` if it exists and resolves inside ``dist``."""
    if not relative or "\x00" in relative:
        return None
    root = dist.resolve()
    try:
        candidate = (root / relative).resolve()
    except (OSError, RuntimeError):  # symlink loops, names too long
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def resolve(dist: Path, path: str) -> Resolution:
    """Resolve the URL path ``path`` (already percent-decoded, with or without its leading
    ``/``) against the dist directory ``dist``."""
    relative = path.lstrip("/")
    first = relative.split("/", 1)[0]
    file = _inside(dist, relative)
    if file is not None:
        cache = CACHE_HASHED if first == "assets" and "/" in relative else CACHE_REVALIDATE
        return Found(file, cache)
    if first in NO_FALLBACK_PREFIXES:
        return NotFound()
    index = _inside(dist, INDEX)
    if index is None:
        return NotBuilt()
    return Found(index, CACHE_REVALIDATE, fallback=relative not in ("", INDEX))


def is_built(dist: Path) -> bool:
    """True when ``dist/index.html`` exists (what ``/readyz`` checks)."""
    return _inside(dist, INDEX) is not None

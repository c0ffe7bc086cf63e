"""The static routes: every GET/HEAD not taken by ``/healthz``, ``/readyz`` or ``/metrics``.

Answers (see :mod:`parley_web.domain.spa` for which file and which cache policy):

- 200 the file, with ``Cache-Control``, ``ETag``, ``Last-Modified`` and
  ``X-Content-Type-Options: nosniff``; 304 when ``If-None-Match`` matches the ETag
  (RFC 9110 §13.1.2);
- 404 ``{"detail": {"code": "not_found", "message"}}`` for a missing asset or API path;
- 503 ``{"detail": {"code": "client_not_built", "message"}}`` when the dist directory has no
  ``index.html`` yet.
"""

import os

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from parley_web.domain.spa import Found, NotBuilt, resolve

router = APIRouter(tags=["client"])

COMMON_HEADERS = {"X-Content-Type-Options": "nosniff"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store", **COMMON_HEADERS},
    )


def _etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison of ``If-None-Match`` against ``etag`` (RFC 9110 §13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


@router.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def client_file(path: str, request: Request) -> Response:
    """Serve ``path`` from the built client, falling back to ``index.html`` for client routes."""
    resolved = resolve(request.app.state.settings.web_dist, path)
    if isinstance(resolved, NotBuilt):
        return _error(503, "client_not_built",
                      "The web client is not built yet: run ./taskw install "
                      "(npm run build in web/).")
    if not isinstance(resolved, Found):
        return _error(404, "not_found", f"No file at /{path}.")
    response = FileResponse(
        resolved.file,
        stat_result=os.stat(resolved.file),
        headers={"Cache-Control": resolved.cache_control, **COMMON_HEADERS},
    )
    if _etag_matches(request.headers.get("if-none-match"), response.headers["etag"]):
        keep = ("etag", "cache-control", "last-modified", "x-content-type-options")
        return Response(status_code=304,
                        headers={k: v for k, v in response.headers.items() if k in keep})
    return response

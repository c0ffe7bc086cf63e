"""The pages Traefik shows for its own 502/503/504 (no live backend, or none answered in time)
and for a request body over the API's limit (413).

Traefik's ``errors`` middleware (traefik/local/dynamic.yml.tmpl: ``edge-errors-api`` on the
API and socket.io routers, ``edge-errors-html`` on the web client's) asks this service for
``/_parley/errors/{status}.json`` or ``/_parley/errors/{status}.html`` and sends the page with
the original status code (Traefik v3 ``errors`` middleware). Answers:

- ``{status}.json``: ``{"detail": {"code": "unavailable", "message"}}``, the error body of
  docs/http-api.md, with ``Retry-After`` (seconds); ``413.json``: ``{"detail": {"code":
  "body_too_large", "message"}}`` (the ``api-body-limit`` middleware's refusal; no retry);
- ``{status}.html``: a small page for people, styled only by ``/_parley/errors/error.css`` (no
  inline script or style: the edge's CSP allows neither), with ``Retry-After``;
- 404 ``not_found`` for any other status or name.

Each answers with the status it describes (413, 502, 503 or 504) and ``Cache-Control: no-store``.
"""

from html import escape
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

router = APIRouter(prefix="/_parley/errors", include_in_schema=False)

#: Seconds a client should wait before retrying (Traefik's health checks run every 5 s).
RETRY_AFTER_S = 5

#: The largest request body the API routers take (Traefik's ``api-body-limit``), in bytes.
MAX_API_BODY_BYTES = 1_048_576

#: The API's refusal of a larger body: no retry helps, so no ``Retry-After``.
TOO_LARGE = {
    "detail": {
        "code": "body_too_large",
        "message": f"The request body is larger than the API takes ({MAX_API_BODY_BYTES // 1024} KiB).",
    }
}

MESSAGES = {
    502: "The service behind this address is not answering right now (bad gateway).",
    503: "No instance of the service behind this address is available right now.",
    504: "The service behind this address did not answer in time.",
}

STYLESHEET = """\
body { font-family: system-ui, sans-serif; margin: 0; padding: 1rem; box-sizing: border-box;
       min-height: 100vh; display: grid; place-items: center; background: #f5f6f8; color: #1d2330; }
main { max-width: 32rem; padding: 2rem; background: #fff; border-radius: 12px;
       box-shadow: 0 2px 12px rgba(0, 0, 0, .08); }
h1 { font-size: 1.4rem; margin-top: 0; }
a { color: #2456d6; }
.code { color: #6b7280; font-size: .85rem; }
"""

HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley is briefly unavailable</title>
<link rel="stylesheet" href="/_parley/errors/error.css">
</head>
<body>
<main>
<h1>Parley is briefly unavailable</h1>
<p>{message}</p>
<p>This usually passes within a few seconds. <a href="">Try again</a>.</p>
<p class="code">HTTP {status}</p>
</main>
</body>
</html>
"""

_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _not_found(name: str) -> JSONResponse:
    return JSONResponse(
        {"detail": {"code": "not_found", "message": f"No error page {name!r}."}}, status_code=404, headers=_HEADERS
    )


@router.get("/error.css")
async def stylesheet() -> Response:
    """The error page's stylesheet."""
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/{status}.{kind}")
async def error_page(status: int, kind: str) -> Response:
    """The page for ``status`` (502, 503 or 504) as ``kind`` ``json`` or ``html``, or 413 as ``json``."""
    if status == 413 and kind == "json":
        return JSONResponse(TOO_LARGE, status_code=413, headers=_HEADERS)
    if status not in MESSAGES or kind not in ("json", "html"):
        return _not_found(f"{status}.{kind}")
    return page(status, kind)  # type: ignore[arg-type]


def page(status: int, kind: Literal["json", "html"]) -> Response:
    headers = {**_HEADERS, "Retry-After": str(RETRY_AFTER_S)}
    if kind == "json":
        body = {"detail": {"code": "unavailable", "message": f"{MESSAGES[status]} Retry shortly."}}
        return JSONResponse(body, status_code=status, headers=headers)
    html = HTML.format(message=escape(MESSAGES[status]), status=status)
    return Response(html, status_code=status, media_type="text/html; charset=utf-8", headers=headers)

"""The web service against a temporary dist directory: files, SPA fallback, caching, health."""

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from parley_web.config import DEFAULT_DIST, Settings
from parley_web.domain.spa import CACHE_HASHED, Found, NotBuilt, NotFound, resolve
from parley_web.main import create_app

INDEX = "<!doctype html><title>Parley</title><div id=app></div>"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text(INDEX)
    (d / "assets" / "index-abc123.js").write_text("console.log('parley')")
    (d / "assets" / "index-abc123.css").write_text("body{}")
    (d / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside")
    return d


async def client_for(dist: Path):
    app = create_app(Settings(web_dist=dist, environment="local"))
    manager = LifespanManager(app)
    await manager.__aenter__()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://web")
    return manager, client


@pytest.fixture
async def client(dist: Path):
    manager, c = await client_for(dist)
    try:
        yield c
    finally:
        await c.aclose()
        await manager.__aexit__(None, None, None)


async def test_root_serves_index_without_caching(client):
    resp = await client.get("/")
    assert resp.status_code == 200
    assert resp.text == INDEX
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.headers["cache-control"] == "no-cache"
    assert resp.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/m/abc123", "/signin", "/signup?next=/m/x", "/m/a/b/c", "/index.html"])
async def test_client_routes_fall_back_to_index(client, path):
    resp = await client.get(path)
    assert resp.status_code == 200
    assert resp.text == INDEX
    assert resp.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_for_a_year(client):
    resp = await client.get("/assets/index-abc123.js")
    assert resp.status_code == 200
    assert resp.text == "console.log('parley')"
    assert "javascript" in resp.headers["content-type"]
    assert resp.headers["cache-control"] == CACHE_HASHED
    css = await client.get("/assets/index-abc123.css")
    assert css.headers["content-type"].startswith("text/css")


async def test_unhashed_top_level_files_revalidate(client):
    resp = await client.get("/favicon.svg")
    assert resp.status_code == 200 and resp.text == "<svg/>"
    assert resp.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("path", ["/assets/index-gone.js", "/assets/", "/api/nope", "/socket.io/x"])
async def test_missing_assets_and_api_paths_are_404_not_html(client, path):
    resp = await client.get(path)
    assert resp.status_code == 404
    assert resp.json()["detail"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"])
async def test_paths_never_escape_the_dist_directory(client, path):
    resp = await client.get(path)
    assert "outside" not in resp.text


async def test_symlink_out_of_dist_is_not_followed(client, dist):
    (dist / "leak.txt").symlink_to(dist.parent / "secret.txt")
    resp = await client.get("/leak.txt")
    assert resp.text == INDEX  # treated as a client route, not the linked file


async def test_etag_revalidation_answers_304(client):
    first = await client.get("/")
    etag = first.headers["etag"]
    again = await client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "no-cache"
    other = await client.get("/", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_head_has_headers_and_no_body(client):
    resp = await client.head("/m/xyz")
    assert resp.status_code == 200
    assert resp.content == b""
    assert int(resp.headers["content-length"]) == len(INDEX)


async def test_other_methods_are_refused(client):
    assert (await client.post("/m/xyz")).status_code == 405


async def test_health_ready_and_metrics(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"client": "ok"}
    await client.get("/m/abc")
    metrics = (await client.get("/metrics")).text
    sample = ('parley_http_requests_total{method="GET",route="/{path:path}",service="web",'
              'status="200"}')
    assert sample in metrics
    assert "/m/abc" not in metrics  # the route template, never the raw path


async def test_without_a_build_not_ready_and_503(tmp_path):
    manager, client = await client_for(tmp_path / "missing")
    try:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "index.html" in ready.json()["checks"]["client"]
        resp = await client.get("/m/abc")
        assert resp.status_code == 503
        assert resp.json()["detail"]["code"] == "client_not_built"
    finally:
        await client.aclose()
        await manager.__aexit__(None, None, None)


def test_resolve_rules(dist):
    assert isinstance(resolve(dist, "assets/missing.js"), NotFound)
    found = resolve(dist, "/m/x")
    assert isinstance(found, Found) and found.fallback and found.file.name == "index.html"
    assert not resolve(dist, "").fallback
    assert isinstance(resolve(dist / "nope", "/"), NotBuilt)
    assert isinstance(resolve(dist, "a\x00b"), Found)  # NUL never reaches the filesystem


def test_settings_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PARLEY_WEB_DIST", str(tmp_path))
    assert Settings().web_dist == tmp_path
    monkeypatch.delenv("PARLEY_WEB_DIST")
    assert Settings().web_dist == DEFAULT_DIST
    assert DEFAULT_DIST.parts[-2:] == ("web", "dist")
    assert (DEFAULT_DIST.parent.parent / "services" / "web").is_dir()

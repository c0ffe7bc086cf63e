"""The pages Traefik's errors middleware shows for its own 502/503/504."""

from pathlib import Path

import httpx
import pytest

from parley_web.config import Settings
from parley_web.main import create_app


@pytest.fixture
async def client(tmp_path: Path):
    app = create_app(Settings(web_dist=tmp_path, environment="local"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://web") as c:
        yield c


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_the_api_page_is_the_error_body_with_retry_after(client: httpx.AsyncClient, status: int) -> None:
    response = await client.get(f"/_parley/errors/{status}.json")
    assert response.status_code == status
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"detail"} and body["detail"]["code"] == "unavailable"
    assert body["detail"]["message"]


async def test_the_api_page_for_a_body_too_large_is_the_error_body_without_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/_parley/errors/413.json")
    assert response.status_code == 413
    assert "retry-after" not in response.headers
    detail = response.json()["detail"]
    assert detail["code"] == "body_too_large" and "1024 KiB" in detail["message"]


async def test_the_page_for_people_has_no_inline_script_or_style(client: httpx.AsyncClient) -> None:
    response = await client.get("/_parley/errors/502.html")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "5"
    html = response.text
    assert "Parley is briefly unavailable" in html
    assert "<script" not in html and "<style" not in html and "style=" not in html
    assert '<link rel="stylesheet" href="/_parley/errors/error.css">' in html
    css = await client.get("/_parley/errors/error.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("name", ["500.json", "404.html", "413.html", "503.txt", "abc.json"])
async def test_other_pages_do_not_exist(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/_parley/errors/{name}")
    assert response.status_code in (404, 422)

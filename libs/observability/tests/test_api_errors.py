import httpx
from fastapi import FastAPI

from parley_observability import ApiError, install_api_error_handler


class Busy(ApiError):
    code = "busy"
    status_code = 503
    headers = {"Retry-After": "1"}


class Gone(ApiError):
    code = "gone"
    status_code = 410


async def test_api_errors_answer_their_status_code_message_and_headers() -> None:
    app = FastAPI()
    install_api_error_handler(app)

    @app.get("/busy")
    async def busy() -> None:
        raise Busy("try again soon")

    @app.get("/gone")
    async def gone() -> None:
        raise Gone("it ended")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        busy_response = await client.get("/busy")
        gone_response = await client.get("/gone")

    assert busy_response.status_code == 503
    assert busy_response.json() == {"detail": {"code": "busy", "message": "try again soon"}}
    assert busy_response.headers["retry-after"] == "1"
    assert gone_response.status_code == 410
    assert gone_response.json() == {"detail": {"code": "gone", "message": "it ended"}}
    assert "retry-after" not in gone_response.headers

import json

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

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


async def test_fastapi_and_starlette_refusals_have_the_error_shape_and_a_complete_allow() -> None:
    from pydantic import BaseModel

    class Body(BaseModel):
        text: str

    app = FastAPI()
    install_api_error_handler(app)
    router = APIRouter(prefix="/things")  # as every service declares its routes

    @router.get("")
    async def list_things() -> dict:
        return {}

    @router.post("")
    async def add_thing(body: Body) -> dict:
        return {"text": body.text}

    @router.get("/special")
    async def special_thing() -> dict:
        return {}

    @router.delete("/{thing_id}")
    async def remove_thing(thing_id: str) -> None:
        return None

    app.include_router(router)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        undecodable = await client.post("/things", content=b'{"text": "\xff"}',
                                        headers={"content-type": "application/json"})
        not_allowed = await client.delete("/things")
        not_allowed_one = await client.put("/things/7")
        not_allowed_special = await client.put("/things/special")  # not /things/{thing_id}'s DELETE
        unknown = await client.get("/nothing-here")
        invalid = await client.post("/things", json={"text": 1})

    assert undecodable.status_code == 400
    assert undecodable.json()["detail"]["code"] == "invalid_body"
    assert set(undecodable.json()["detail"]) == {"code", "message"}
    assert not_allowed.status_code == 405
    assert not_allowed.json()["detail"]["code"] == "method_not_allowed"
    assert set(not_allowed.headers["allow"].split(", ")) == {"GET", "POST"}  # both routes of the path
    assert not_allowed_one.status_code == 405 and not_allowed_one.headers["allow"] == "DELETE"
    assert not_allowed_special.status_code == 405 and not_allowed_special.headers["allow"] == "GET"
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": {"code": "not_found", "message": "Not Found"}}
    assert invalid.status_code == 422 and isinstance(invalid.json()["detail"], list)


def test_error_responses_declare_the_error_model_and_its_headers() -> None:
    from parley_observability import ErrorResponse, error_responses

    declared = error_responses({401: "no token", 503: "later", 404: "none"})
    assert all(entry["model"] is ErrorResponse for entry in declared.values())
    assert "WWW-Authenticate" in declared[401]["headers"]
    assert "Retry-After" in declared[503]["headers"]
    assert "headers" not in declared[404]


class Login(BaseModel):
    password: str
    count: int = 0
    ratio: float = 1.0


@pytest.mark.parametrize("raw", [
    '{"password": "x\\ud800", "count": "many"}',  # a lone surrogate: no UTF-8 for it
    '{"password": "x", "ratio": NaN, "count": "many"}',  # Python's json takes NaN; JSON cannot say it
    '{"password": "x", "count": -Infinity}',
    '{"password": "hunter2-secret", "count": "many"}',
])
async def test_invalid_input_is_a_422_list_that_never_writes_the_input_back(raw: str) -> None:
    app = FastAPI()
    install_api_error_handler(app)

    @app.post("/login")
    async def login(body: Login) -> dict:
        return {}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.post("/login", content=raw.encode(), headers={"content-type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    detail = json.loads(response.content.decode("ascii"))["detail"]
    assert detail and all(set(error) == {"type", "loc", "msg"} for error in detail)
    assert detail[0]["loc"][0] == "body"
    assert b"hunter2" not in response.content


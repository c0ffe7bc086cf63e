"""A webhook receiver for the tests: a Starlette app served by uvicorn on 127.0.0.1 (an
ephemeral port) that records every request and answers 500 to the first ``fail_first``
requests of the webhook types in ``failing``, 200 otherwise."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it, and the status it answered."""

    headers: dict[str, str]
    body: str
    status: int

    @property
    def type(self) -> str:
        return json.loads(self.body)["type"]


@dataclass
class Receiver:
    url: str = ""
    failing: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.type == event_type]

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        event_type = json.loads(body)["type"]
        status = 200
        if self.failing.get(event_type, 0) > 0:
            self.failing[event_type] -= 1
            status = 500
        self.received.append(Received(dict(request.headers), body, status))
        return Response(status_code=status)


@asynccontextmanager
async def receiving(failing: dict[str, int] | None = None) -> AsyncIterator[Receiver]:
    """A running receiver at ``receiver.url`` (``http://127.0.0.1:<port>/hook``)."""
    receiver = Receiver(failing=dict(failing or {}))
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await serving

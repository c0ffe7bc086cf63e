"""The bare python-socketio peer of ``bench/signaling_relay.py``: the Node peer's relay
(``peers/node-relay/server.mjs``: ``join`` answers ``room_created``, ``room_joined`` or
``full_room``; ``webrtc_ice_candidate`` goes to the other socket of the room, without
acknowledgement) on python-socketio with nothing of Parley's: no token, no validation, no
rate limit, no Kafka, no log line per event.

It tells apart what a relay costs in the Python stack under Parley from what Parley's handlers
add, and what the web server costs: ``--server asgi`` runs it under uvicorn with signaling's
options (``deploy/local/components.py``: no permessage-deflate, no uvicorn pings, the sans-I/O
websockets implementation; uvloop), ``--server aiohttp`` under aiohttp's own server and
WebSocket (python-engineio's ``aiohttp`` mode, permessage-deflate off as well; uvloop).

Run: ``.venv/bin/python bench/peers/bare_socketio.py --port 25901 --server asgi|aiohttp``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools

import socketio
import uvloop


def relay(async_mode: str) -> socketio.AsyncServer:
    """The relay's server: socket.io's defaults but the async mode (pings every 25 s)."""
    sio = socketio.AsyncServer(async_mode=async_mode, cors_allowed_origins="*")

    @sio.on("join")
    async def join(sid: str, room_id: str) -> None:
        size = len(sio.manager.rooms.get("/", {}).get(room_id, {}))
        if size >= 2:
            await sio.emit("full_room", room_id, to=sid)
            return
        await sio.enter_room(sid, room_id)
        await sio.emit("room_created" if size == 0 else "room_joined", room_id, to=sid)

    @sio.on("webrtc_ice_candidate")
    async def ice_candidate(sid: str, event: dict) -> None:
        await sio.emit("webrtc_ice_candidate", event, room=event.get("roomId"), skip_sid=sid)

    return sio


def run_asgi(host: str, port: int) -> None:
    import uvicorn

    app = socketio.ASGIApp(relay("asgi"))
    uvicorn.run(app, host=host, port=port, loop="uvloop", ws="websockets-sansio", ws_per_message_deflate=False,
                ws_ping_interval=None, access_log=False, log_level="warning")


def run_aiohttp(host: str, port: int) -> None:
    from aiohttp import web
    from engineio.async_drivers import aiohttp as engineio_aiohttp

    # python-engineio makes aiohttp's WebSocketResponse with its defaults, permessage-deflate on;
    # the other two targets run without it
    engineio_aiohttp.WebSocketResponse = functools.partial(web.WebSocketResponse, compress=False)
    app = web.Application()
    relay("aiohttp").attach(app)

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        await asyncio.Event().wait()

    uvloop.run(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=("asgi", "aiohttp"), required=True)
    args = parser.parse_args()
    (run_asgi if args.server == "asgi" else run_aiohttp)(args.host, args.port)


if __name__ == "__main__":
    main()

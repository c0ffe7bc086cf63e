"""Receive Parley webhooks and verify their signatures (docs/webhooks.md).

Registers a webhook endpoint with an API key that has the scope ``webhooks:manage`` (and
``meetings:write`` to schedule the meeting that triggers it), serves the endpoint, schedules
a meeting, and prints each message whose Standard Webhooks signature verifies:

    PARLEY_API_KEY=parley_sk_... python docs/examples/webhook_receiver.py --base-url http://127.0.0.1:18000

In local development Parley may call ``http://127.0.0.1:<port>``; against a deployment, run it
where Parley can reach it over https and pass that address as ``--public-url`` (a private or
loopback address is refused there). Needs ``httpx`` and ``standardwebhooks``.
"""

import argparse
import json
import os
import queue
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from schedule_meeting import fail


def serve(listen: str, verified: "queue.Queue[dict]", secret: list[str]) -> ThreadingHTTPServer:
    """An HTTP server on ``listen`` (host:port) that verifies each POST with ``secret[0]``
    (set once the endpoint is registered) and puts what verifies into ``verified``."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                # the raw bytes, never a re-serialised body; the headers' names in any case
                message = Webhook(secret[0]).verify(raw, dict(self.headers.items()))
            except (WebhookVerificationError, IndexError):
                self.send_response(400)  # not from Parley (or not yet registered): drop it
                self.end_headers()
                return
            self.send_response(204)  # answer at once, work afterwards
            self.end_headers()
            verified.put({"id": self.headers["webhook-id"], **message})

        def log_message(self, *args: object) -> None:
            pass

    host, port = listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:18000", help="Parley's public URL")
    parser.add_argument("--listen", default="127.0.0.1:8765", help="where this receiver listens")
    parser.add_argument("--public-url", help="the receiver's address as Parley reaches it (default: http://LISTEN/hook)")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for meeting.created")
    args = parser.parse_args()
    key = os.environ.get("PARLEY_API_KEY")
    if not key:
        sys.exit("set PARLEY_API_KEY to an API key (parley_sk_...) with webhooks:manage and meetings:write")

    verified: queue.Queue[dict] = queue.Queue()
    secret: list[str] = []
    server = serve(args.listen, verified, secret)
    with httpx.Client(base_url=args.base_url, headers={"X-API-Key": key}, timeout=10) as http:
        url = args.public_url or f"http://{args.listen}/hook"
        registered = http.post("/api/webhooks", json={"url": url, "event_types": ["meeting.created", "meeting.ended"], "description": "example"})
        if registered.status_code != 201:
            fail(registered)
        endpoint = registered.json()
        secret.append(endpoint["secret"])  # shown only now: a real receiver stores it safely
        print(f"registered {endpoint['endpoint_id']} -> {url}")
        try:
            start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
            created = http.post(
                "/api/meetings",
                json={"title": "Webhook example", "scheduled_start": start.isoformat(), "duration_minutes": 30, "time_zone": "UTC"},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            if created.status_code != 201:
                fail(created)
            meeting_id = created.json()["meeting_id"]
            print(f"scheduled {meeting_id}; waiting for its meeting.created webhook")
            try:
                message = verified.get(timeout=args.wait)
            except queue.Empty:
                log = http.get(f"/api/webhooks/{endpoint['endpoint_id']}/deliveries").json()
                sys.exit(f"no verified webhook within {args.wait:.0f} s; the delivery log says: {json.dumps(log)}")
            print(f"verified {message['type']} {message['id']}: {json.dumps(message['data'])}")
            http.post(f"/api/meetings/{meeting_id}/cancel")
        finally:
            http.delete(f"/api/webhooks/{endpoint['endpoint_id']}")
            server.shutdown()


if __name__ == "__main__":
    main()

"""Schedule, reschedule and cancel a Parley meeting with an API key (docs/http-api.md, "API keys").

Create a key with the scopes ``meetings:read`` and ``meetings:write`` on the web client's
Developer page (``/developer``), then:

    PARLEY_API_KEY=parley_sk_... python docs/examples/schedule_meeting.py --base-url https://parley.example.com

It prints each step and the meeting's invite link. Needs only ``httpx``. Its sibling
``webhook_receiver.py`` registers a webhook endpoint, schedules a meeting and verifies the
signature of the ``meeting.created`` message it receives (docs/webhooks.md).
"""

import argparse
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta

import httpx


def fail(answer: httpx.Response) -> None:
    """Print the API's error (``{"detail": {"code", "message"}}``, or a 422 list) and exit."""
    print(f"HTTP {answer.status_code}: {answer.text}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:18000", help="Parley's public URL")
    parser.add_argument("--title", default="Call with a customer")
    parser.add_argument("--cancel", action=argparse.BooleanOptionalAction, default=True, help="cancel it at the end")
    args = parser.parse_args()
    key = os.environ.get("PARLEY_API_KEY")
    if not key:
        sys.exit("set PARLEY_API_KEY to an API key (parley_sk_...)")

    with httpx.Client(base_url=args.base_url, headers={"X-API-Key": key}, timeout=10) as http:
        start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        body = {"title": args.title, "scheduled_start": start.isoformat(), "duration_minutes": 30, "time_zone": "Europe/Paris"}
        # The same Idempotency-Key makes a retry after a timeout safe: the meeting is created once.
        idempotency_key = str(uuid.uuid4())
        for _attempt in range(3):
            try:
                created = http.post("/api/meetings", json=body, headers={"Idempotency-Key": idempotency_key})
                break
            except httpx.TransportError as exc:
                print(f"retrying after {exc!r}", file=sys.stderr)
        else:
            sys.exit("Parley could not be reached")
        if created.status_code != 201:
            fail(created)
        meeting = created.json()
        print(f"scheduled {meeting['meeting_id']} at {meeting['scheduled_start']}: {meeting['invite_url']}")

        moved = http.put(f"/api/meetings/{meeting['meeting_id']}/schedule", json={"scheduled_start": (start + timedelta(hours=2)).isoformat()})
        if moved.status_code != 200:
            fail(moved)
        print(f"rescheduled to {moved.json()['scheduled_start']}")

        if args.cancel:
            cancelled = http.post(f"/api/meetings/{meeting['meeting_id']}/cancel")
            if cancelled.status_code != 200:
                fail(cancelled)
            print(f"cancelled ({cancelled.json()['end_reason']})")


if __name__ == "__main__":
    main()

"""The store's side of an outbox backlog: how fast a relay drains hundreds of pending meetings,
and what one expiry sweep costs, on the test stack's store (FerretDB 1.13 over PostgreSQL).

Why: set up 1,000 meetings of ten members through the API and meetings has ~9,000 events
pending in ~850 documents of 5-11 KB. FerretDB pushes only equalities down to PostgreSQL and
decodes every other candidate in Go, so a relay query with a sort or an ``$in``, or a sweep
filtered by ``expires_at <= now``, decoded every pending or active meeting each time
(bench/README.md, "The outbox with hundreds of documents pending").

Set-up, in a scratch database of the stack's store (dropped at the end): ``--documents``
meeting-shaped documents (a roster and members of ``--members`` each), the first
``--pending`` of them with ``--entries`` outbox entries of ``--entry-bytes`` each, and
``--expiring`` of them with an empty room's deadline in the future (so a sweep finds none due,
as most sweeps do).

Measured, ``--rounds`` times each:

- ``drain``: one :meth:`parley_events.OutboxRelay.flush` of the whole backlog with a ``send``
  that acknowledges at once, so the figure is the store's part only (Kafka's is measured in
  ``kafka_round_trip.py``): ``seconds``, ``events_per_s``.
- ``sweep_ms``: :meth:`parley_meetings.repository.MeetingRepository.due` over the set-up.

The last line of stdout is one JSON object: ``{"benchmark": "outbox_backlog", "documents",
"pending", "expiring", "entries", "load_average": {"start", "end"}, "rounds": [{"drain":
{"published", "seconds", "events_per_s"}, "sweep_ms"}]}``.

Usage: ``../.venv/bin/python outbox_backlog.py --stack-file ../.stack/test/stack.json``.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import AsyncMongoClient

from parley_events import MeetingCreated, OutboxRelay, outbox_entry, staged
from parley_events.envelope import OutgoingEvent
from parley_meetings.repository import EXPIRING, MeetingRepository

from signaling_relay import DEFAULT_STACK_FILE


def meeting_doc(i: int, members: int, entries: int, entry_bytes: int, expires_at: datetime | None) -> dict:
    """A meeting-shaped document; with ``entries``, staged as the API's writes stage them."""
    now = datetime.now(UTC)
    people = [uuid.uuid4().hex for _ in range(members)]
    doc = {
        "_id": f"bench-{i:06d}",
        "title": f"bench meeting {i}",
        "host_id": people[0],
        "status": "active",
        "created_at": now,
        "participants": [{"user_id": p, "display_name": f"user {p[:6]}", "role": "member", "joined_at": now} for p in people],
        "roster": [{"sid": uuid.uuid4().hex, "user_id": p, "display_name": f"user {p[:6]}", "replica_id": "signaling-1",
                    "joined_at": now} for p in people],
        "empty_since": now if expires_at else None,
        "expires_at": expires_at,
        EXPIRING: expires_at is not None,
    }
    if entries:
        title = "x" * entry_bytes
        doc.update(staged([outbox_entry(MeetingCreated(meeting_id=doc["_id"], host_id=people[0], title=title,
                                                       created_at=now), source="/bench") for _ in range(entries)]))
    return doc


async def acked(event: OutgoingEvent) -> "asyncio.Future[object]":
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


async def one_round(database, args: argparse.Namespace) -> dict:
    collection = database["meetings"]
    await collection.drop()
    repository = MeetingRepository(database)
    await repository.ensure_indexes()
    later = datetime.now(UTC) + timedelta(hours=1)
    docs = [
        meeting_doc(i, args.members, args.entries if i < args.pending else 0, args.entry_bytes,
                    later if i >= args.documents - args.expiring else None)
        for i in range(args.documents)
    ]
    for start in range(0, len(docs), 100):
        await collection.insert_many(docs[start : start + 100])
    started = time.perf_counter()
    due = await repository.due(datetime.now(UTC), 100)
    sweep_ms = (time.perf_counter() - started) * 1000
    assert not due, "the set-up's deadlines are an hour away"
    relay = OutboxRelay([collection], acked)
    started = time.perf_counter()
    published = await relay.flush()
    seconds = time.perf_counter() - started
    left = await collection.count_documents({"outbox_pending": True})
    assert published == args.pending * args.entries and left == 0, (published, left)
    return {"drain": {"published": published, "seconds": round(seconds, 2), "events_per_s": round(published / seconds)},
            "sweep_ms": round(sweep_ms, 1)}


async def bench(args: argparse.Namespace) -> dict:
    stack = json.loads(Path(args.stack_file).read_text())
    client: AsyncMongoClient = AsyncMongoClient(stack["mongo_uri"], serverSelectionTimeoutMS=10_000)
    database = client[f"bench_outbox_{uuid.uuid4().hex[:8]}"]
    load_start = os.getloadavg()
    rounds = []
    try:
        for n in range(args.rounds):
            rounds.append(await one_round(database, args))
            print(f"[bench] round {n + 1}: {rounds[-1]}", file=sys.stderr, flush=True)
    finally:
        await client.drop_database(database.name)
        await client.close()
    return {"benchmark": "outbox_backlog", "documents": args.documents, "pending": args.pending,
            "expiring": args.expiring, "entries": args.entries,
            "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]},
            "rounds": rounds}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-file", default=str(DEFAULT_STACK_FILE))
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--pending", type=int, default=850)
    parser.add_argument("--expiring", type=int, default=100)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--entries", type=int, default=9)
    parser.add_argument("--entry-bytes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not 0 <= args.pending <= args.documents or not 0 <= args.expiring <= args.documents:
        parser.error("--pending and --expiring are at most --documents")
    print(json.dumps(asyncio.run(bench(args))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

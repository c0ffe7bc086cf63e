"""Is a Mongo-wire server atomic per document? And how fast are the writes Parley does?

    .venv/bin/python bench/store_atomicity.py --mongo-uri mongodb://127.0.0.1:18030/ \
        [--concurrency 50] [--rounds 20] [--latency-ops 500] [--retried]

Measures, on one server, with N concurrent PyMongo async operations per round:

- ``inc``: N concurrent ``$inc: {n: 1}`` on one document; reports the lost increments
  (N minus the final value) and the rounds that lost any;
- ``conditional``: N concurrent ``update_one({_id, state: "fresh"}, {$set: {state: <mine>}})``
  on one document (a compare-and-set, what refresh-token rotation needs); reports how many
  reported ``modified_count == 1`` per round (one is right) and how many errors;
- ``inc_retried``: the same, each refused ``$inc`` run again as Parley's code does
  (``parley_events.retry_write_conflicts``): the final value must be N;
- ``claim``: N concurrent ``insert_one({_id: <same>})``: the number of inserts that did not get
  a duplicate-key error (one is right);
- ``delete``: N concurrent ``delete_one({_id: <same>})``: how many report ``deleted_count == 1``;
- latency (sequential, one client): ``update_one`` by ``_id`` and ``find_one`` on an indexed
  field of a 2,000-document collection; p50, p95 and max in milliseconds.

Prints progress on stderr and one JSON object as the last line of stdout. Uses a database of
its own (``bench_atomicity_<random>``) and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from percentiles import distribution  # noqa: E402


async def _gather(coros: list) -> list[Any]:
    return await asyncio.gather(*coros, return_exceptions=True)


async def inc_round(coll, n: int) -> dict[str, int]:
    doc_id = uuid.uuid4().hex
    await coll.insert_one({"_id": doc_id, "n": 0})
    results = await _gather([coll.update_one({"_id": doc_id}, {"$inc": {"n": 1}}) for _ in range(n)])
    errors = sum(isinstance(r, BaseException) for r in results)
    acknowledged = sum(not isinstance(r, BaseException) and r.modified_count == 1 for r in results)
    final = (await coll.find_one({"_id": doc_id}))["n"]
    return {"final": final, "acknowledged": acknowledged, "errors": errors, "lost": acknowledged - final}


async def inc_retried_round(coll, n: int) -> dict[str, int]:
    from parley_events import retry_write_conflicts

    doc_id = uuid.uuid4().hex
    await coll.insert_one({"_id": doc_id, "n": 0})
    attempts = 0

    @retry_write_conflicts
    async def increment() -> None:
        nonlocal attempts
        attempts += 1
        await coll.update_one({"_id": doc_id}, {"$inc": {"n": 1}})

    t0 = time.perf_counter()
    results = await _gather([increment() for _ in range(n)])
    elapsed_ms = (time.perf_counter() - t0) * 1000
    errors = sum(isinstance(r, BaseException) for r in results)
    final = (await coll.find_one({"_id": doc_id}))["n"]
    return {"final": final, "errors": errors, "attempts": attempts, "ms": round(elapsed_ms)}


async def conditional_round(coll, n: int) -> dict[str, int]:
    doc_id = uuid.uuid4().hex
    await coll.insert_one({"_id": doc_id, "state": "fresh"})
    results = await _gather([
        coll.update_one({"_id": doc_id, "state": "fresh"}, {"$set": {"state": f"taken-by-{i}"}})
        for i in range(n)
    ])
    errors = sum(isinstance(r, BaseException) for r in results)
    winners = sum(not isinstance(r, BaseException) and r.modified_count == 1 for r in results)
    return {"winners": winners, "errors": errors}


async def claim_round(coll, n: int) -> dict[str, int]:
    doc_id = uuid.uuid4().hex
    results = await _gather([coll.insert_one({"_id": doc_id, "by": i}) for i in range(n)])
    duplicates = sum(isinstance(r, DuplicateKeyError) for r in results)
    other_errors = sum(isinstance(r, BaseException) and not isinstance(r, DuplicateKeyError) for r in results)
    stored = await coll.count_documents({"_id": doc_id})
    return {"winners": n - duplicates - other_errors, "errors": other_errors, "stored": stored}


async def delete_round(coll, n: int) -> dict[str, int]:
    doc_id = uuid.uuid4().hex
    await coll.insert_one({"_id": doc_id})
    results = await _gather([coll.delete_one({"_id": doc_id}) for _ in range(n)])
    errors = sum(isinstance(r, BaseException) for r in results)
    winners = sum(not isinstance(r, BaseException) and r.deleted_count == 1 for r in results)
    return {"winners": winners, "errors": errors}


async def latency(coll, ops: int) -> dict[str, Any]:
    await coll.create_index("key")
    await coll.insert_many([{"_id": f"d{i}", "key": f"k{i}", "n": 0} for i in range(2000)])
    updates, finds = [], []
    for i in range(ops):
        t0 = time.perf_counter()
        await coll.update_one({"_id": f"d{i % 2000}"}, {"$inc": {"n": 1}})
        updates.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await coll.find_one({"key": f"k{(i * 7) % 2000}"})
        finds.append((time.perf_counter() - t0) * 1000)
    return {"update_by_id_ms": distribution(updates), "indexed_find_ms": distribution(finds)}


def _tally(rounds: list[dict[str, int]], key: str) -> dict[str, int]:
    return {str(k): v for k, v in sorted(Counter(r[key] for r in rounds).items())}


def _one_winner_summary(rounds: list[dict], also: Callable[[dict], bool] = lambda r: True) -> dict:
    """Winners per round, rounds without exactly one winner (or failing ``also``), errors."""
    return {
        "winners_per_round": _tally(rounds, "winners"),
        "rounds_not_exactly_one": sum(r["winners"] != 1 or not also(r) for r in rounds),
        "errors_total": sum(r["errors"] for r in rounds),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    client: AsyncMongoClient = AsyncMongoClient(args.mongo_uri, maxPoolSize=args.concurrency + 5)
    db = client[f"bench_atomicity_{uuid.uuid4().hex[:8]}"]
    n, rounds = args.concurrency, args.rounds
    out: dict[str, Any] = {"mongo_uri": args.mongo_uri, "concurrency": n, "rounds": rounds}
    try:
        info = await client.server_info()
        out["server_version"] = info.get("version")
        out["ferretdb"] = info.get("ferretdb")  # FerretDB names itself and its backend here
        coll = db["atomicity"]
        await coll.insert_one({"_id": "warm-up"})  # creates the collection
        inc = [await inc_round(coll, n) for _ in range(rounds)]
        out["inc"] = {
            "lost_total": sum(r["lost"] for r in inc),
            "rounds_with_loss": sum(r["lost"] > 0 for r in inc),
            "errors_total": sum(r["errors"] for r in inc),
            "final_values": [r["final"] for r in inc],
        }
        print(f"inc: {out['inc']}", file=sys.stderr)
        if args.retried:
            retried = [await inc_retried_round(coll, n) for _ in range(rounds)]
            out["inc_retried"] = {
                "lost_total": sum(n - r["final"] for r in retried),
                "errors_total": sum(r["errors"] for r in retried),
                "attempts_per_increment": round(sum(r["attempts"] for r in retried) / (n * rounds), 2),
                "round_ms": distribution([r["ms"] for r in retried]),
            }
            print(f"inc_retried: {out['inc_retried']}", file=sys.stderr)
        conditional = [await conditional_round(coll, n) for _ in range(rounds)]
        out["conditional"] = _one_winner_summary(conditional)
        print(f"conditional: {out['conditional']}", file=sys.stderr)
        claims = [await claim_round(coll, n) for _ in range(rounds)]
        out["claim_insert"] = _one_winner_summary(claims, lambda r: r["stored"] == 1)
        print(f"claim: {out['claim_insert']}", file=sys.stderr)
        deletes = [await delete_round(coll, n) for _ in range(rounds)]
        out["delete"] = _one_winner_summary(deletes)
        print(f"delete: {out['delete']}", file=sys.stderr)
        out["latency"] = await latency(db["latency"], args.latency_ops)
        print(f"latency: {out['latency']}", file=sys.stderr)
    except PyMongoError as exc:
        out["error"] = repr(exc)
    finally:
        await client.drop_database(db.name)
        await client.close()
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongo-uri", default="mongodb://127.0.0.1:18030/")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--latency-ops", type=int, default=500)
    parser.add_argument("--retried", action="store_true",
                        help="also N concurrent $inc retried on write conflicts (parley_events)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args()))))

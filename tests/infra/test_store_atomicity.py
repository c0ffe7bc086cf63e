"""The Mongo-wire store of the test stack is atomic per document, under concurrency.

What every replica of every service relies on, measured against the real store (PyMongo
only, no Parley code): N concurrent ``$inc`` of one document lose no acknowledged increment;
of N concurrent compare-and-sets of one document exactly one wins; of N concurrent inserts of
one ``_id`` exactly one is stored. The local store (FerretDB 1.13 on PostgreSQL at
``repeatable read``) may *refuse* a write that collided with a concurrent one instead of
applying it (the error carries SQLSTATE 40001; MongoDB would retry it itself): a refused
write changed nothing, and is run again here as Parley's code does
(``parley_events.retry_write_conflicts``). FerretDB 1.24 on SQLite, the store before,
acknowledges lost writes and lets several compare-and-sets win (deploy/local/README.md).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, OperationFailure

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

N = 40


def refused_for_a_concurrent_write(exc: BaseException) -> bool:
    return isinstance(exc, OperationFailure) and (exc.code == 112 or "SQLSTATE 40001" in str(exc))


@pytest.fixture
async def collection(stack, unique_name):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongo_uri, maxPoolSize=N + 5)
    docs = client[unique_name]["docs"]
    # open N connections first, so the N operations of a test really run at once
    await asyncio.gather(*(docs.find_one({"_id": "warm-up"}) for _ in range(N)))
    try:
        yield docs
    finally:
        await client.drop_database(unique_name)
        await client.close()


async def test_concurrent_increments_of_one_document_lose_nothing(collection) -> None:
    doc_id = uuid.uuid4().hex
    await collection.insert_one({"_id": doc_id, "n": 0})

    async def increment() -> int:
        """Increments once; returns how many times the store refused it first."""
        refused = 0
        while True:
            try:
                result = await collection.update_one({"_id": doc_id}, {"$inc": {"n": 1}})
            except OperationFailure as exc:
                assert refused_for_a_concurrent_write(exc), exc
                refused += 1
                await asyncio.sleep(0.002 * refused)
                continue
            assert result.modified_count == 1
            return refused

    refusals = await asyncio.gather(*(increment() for _ in range(N)))
    final = (await collection.find_one({"_id": doc_id}))["n"]
    assert final == N, f"{N} increments acknowledged, {final} applied ({sum(refusals)} refused and retried)"


async def test_no_acknowledged_increment_is_lost_even_without_retries(collection) -> None:
    doc_id = uuid.uuid4().hex
    await collection.insert_one({"_id": doc_id, "n": 0})
    results = await asyncio.gather(
        *(collection.update_one({"_id": doc_id}, {"$inc": {"n": 1}}) for _ in range(N)),
        return_exceptions=True,
    )
    acknowledged = sum(not isinstance(r, BaseException) and r.modified_count == 1 for r in results)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(refused_for_a_concurrent_write(r) for r in refused), refused[:1]
    final = (await collection.find_one({"_id": doc_id}))["n"]
    assert final == acknowledged, f"{acknowledged} increments acknowledged, {final} applied"


async def test_of_concurrent_compare_and_sets_exactly_one_wins(collection) -> None:
    for _round in range(10):
        doc_id = uuid.uuid4().hex
        await collection.insert_one({"_id": doc_id, "state": "fresh"})

        async def take(i: int) -> bool:
            while True:
                try:
                    result = await collection.update_one(
                        {"_id": doc_id, "state": "fresh"}, {"$set": {"state": f"taken-by-{i}"}}
                    )
                except OperationFailure as exc:
                    assert refused_for_a_concurrent_write(exc), exc
                    await asyncio.sleep(0.002)
                    continue
                return result.modified_count == 1

        won = await asyncio.gather(*(take(i) for i in range(N)))
        winners = [i for i, w in enumerate(won) if w]
        assert len(winners) == 1, f"{len(winners)} of {N} compare-and-sets reported success"
        stored = await collection.find_one({"_id": doc_id})
        assert stored["state"] == f"taken-by-{winners[0]}"


async def test_of_concurrent_inserts_of_one_id_exactly_one_is_stored(collection) -> None:
    doc_id = uuid.uuid4().hex
    results = await asyncio.gather(
        *(collection.insert_one({"_id": doc_id, "by": i}) for i in range(N)), return_exceptions=True
    )
    stored = [r for r in results if not isinstance(r, BaseException)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, DuplicateKeyError)]
    assert (len(stored), others) == (1, [])
    assert await collection.count_documents({"_id": doc_id}) == 1

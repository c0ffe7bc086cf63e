"""The test store: dropping a test's database.

The test stack's store is FerretDB 1.x on PostgreSQL. It drops a database in a PostgreSQL
transaction that also takes locks on FerretDB's shared metadata. With the suite on two workers,
one worker may drop a database while the other creates one. PostgreSQL can then pick the drop
as a deadlock victim. FerretDB returns that as ``InternalError``
(``ERROR: deadlock detected (SQLSTATE 40P01)``), and nothing was dropped. This made a
meetings test fixture fail at teardown in a fresh run of the suite. :func:`drop_database`
retries exactly that error.
"""

from typing import Any

from pymongo.errors import OperationFailure
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random

#: How PostgreSQL names a deadlock (SQLSTATE 40P01), as FerretDB passes it on.
DEADLOCK = "deadlock detected"


def _deadlock(exc: BaseException) -> bool:
    return isinstance(exc, OperationFailure) and DEADLOCK in str(exc)


async def drop_database(mongo: Any, name: str) -> None:
    """Drop database ``name`` through ``mongo`` (a ``pymongo.AsyncMongoClient``). A drop that
    PostgreSQL refused as a deadlock is retried after a short random pause, up to 5 attempts.
    Any other error is raised at once."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_deadlock), stop=stop_after_attempt(5), wait=wait_random(0.05, 0.5), reraise=True
    ):
        with attempt:
            await mongo.drop_database(name)

"""Retry a single-document write that the store refused because of a concurrent write.

MongoDB applies each single-document write atomically and, when two collide, retries the
loser itself: the application never sees the collision. The local Mongo-wire store (FerretDB
1.13's transactional PostgreSQL handler at ``repeatable read``, deploy/local/README.md, "The
store") is atomic too, but it *refuses* the losing write instead of retrying it: an
``OperationFailure`` or ``WriteError`` whose message carries PostgreSQL's SQLSTATE 40001
("could not serialize access due to concurrent update"). Nothing of a refused write was
applied, so running the same write again is safe, and its filter is evaluated again against
the winner's result (a compare-and-set that lost now matches nothing).

:func:`retry_write_conflicts` decorates an async function made of such writes (a repository
method) and runs it again, with a short jittered back-off, while it fails with a write
conflict. MongoDB's own ``WriteConflict`` (code 112) is treated the same way.
"""

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from pymongo.errors import OperationFailure
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

#: MongoDB's error code for a write that lost to a concurrent one
WRITE_CONFLICT_CODE = 112
#: PostgreSQL's serialization failure, as FerretDB reports it in the error message
SERIALIZATION_FAILURE = "SQLSTATE 40001"
#: enough for dozens of writers on one document; each attempt lets at least one win
MAX_ATTEMPTS = 60

P = ParamSpec("P")
T = TypeVar("T")


def is_write_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is the store refusing a write because a concurrent one won."""
    if not isinstance(exc, OperationFailure):
        return False
    return exc.code == WRITE_CONFLICT_CODE or SERIALIZATION_FAILURE in str(exc)


def retry_write_conflicts(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run ``func`` again while it raises a write conflict (at most :data:`MAX_ATTEMPTS`
    times, waiting 2 ms doubling up to 100 ms, jittered, between attempts); any other
    exception, or the last conflict, propagates."""
    return retry(
        retry=retry_if_exception(is_write_conflict),
        wait=wait_random_exponential(multiplier=0.002, max=0.1),
        stop=stop_after_attempt(MAX_ATTEMPTS),
        reraise=True,
    )(func)

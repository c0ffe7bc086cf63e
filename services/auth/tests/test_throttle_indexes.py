"""``MongoThrottleStorage.ensure_indexes`` runs the TTL index's creation again when the store
refused it for a concurrent write (FerretDB's SQLSTATE 40001), and only logs a server that has
no TTL indexes (a unit test with a fake collection)."""

from typing import Any

import pytest
from pymongo.errors import OperationFailure

from parley_auth.throttle import MongoThrottleStorage

REFUSED = "ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)"


class Refusing:
    """A collection whose ``create_index`` fails with ``errors`` in turn, then succeeds."""

    name = "throttle"

    def __init__(self, *errors: OperationFailure) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    async def create_index(self, keys: Any, **options: Any) -> str:
        self.calls.append(options)
        if self.errors:
            raise self.errors.pop(0)
        return options["name"]


async def test_a_conflicting_index_creation_is_run_again() -> None:
    collection = Refusing(OperationFailure(REFUSED, code=1))
    await MongoThrottleStorage(collection).ensure_indexes()  # type: ignore[arg-type]
    assert len(collection.calls) == 2


async def test_a_server_without_ttl_indexes_is_logged_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    collection = Refusing(OperationFailure("unsupported index option expireAfterSeconds", code=2))
    with caplog.at_level("INFO"):
        await MongoThrottleStorage(collection).ensure_indexes()  # type: ignore[arg-type]
    assert len(collection.calls) == 1
    assert "no TTL index on throttle" in caplog.text

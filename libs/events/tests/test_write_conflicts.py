"""retry_write_conflicts: runs a write again only while the store refused it for a collision."""

import pytest
from pymongo.errors import DuplicateKeyError, OperationFailure, WriteError

from parley_events import is_write_conflict, retry_write_conflicts

REFUSED = "ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)"


def test_what_counts_as_a_write_conflict() -> None:
    assert is_write_conflict(OperationFailure(f"[msg_update.go:162] {REFUSED}", code=1))
    assert is_write_conflict(WriteError(f"delete: ns not found: {REFUSED}", code=26))
    assert is_write_conflict(OperationFailure("WriteConflict", code=112))  # MongoDB's own
    assert not is_write_conflict(DuplicateKeyError("E11000 duplicate key", code=11000))
    assert not is_write_conflict(OperationFailure("not authorized", code=13))
    assert not is_write_conflict(ValueError(REFUSED))


async def test_a_refused_write_is_run_again_until_it_is_applied() -> None:
    calls = []

    @retry_write_conflicts
    async def write(value: int) -> int:
        calls.append(value)
        if len(calls) < 4:
            raise OperationFailure(REFUSED, code=1)
        return value * 2

    assert await write(21) == 42
    assert calls == [21, 21, 21, 21]


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    @retry_write_conflicts
    async def write() -> None:
        nonlocal calls
        calls += 1
        raise DuplicateKeyError("E11000 duplicate key", code=11000)

    with pytest.raises(DuplicateKeyError):
        await write()
    assert calls == 1

"""drop_database: a drop that PostgreSQL refused as a deadlock (through FerretDB) is retried;
any other error is not."""

import pytest
from pymongo.errors import OperationFailure

from parley_testing import drop_database

DEADLOCK = OperationFailure(
    "[msg_dropdatabase.go:69 pg.(*Handler).MsgDropDatabase] ERROR: deadlock detected (SQLSTATE 40P01)", code=1
)


class Store:
    """A client whose drops fail with ``errors`` first, in order, then succeed."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts: list[str] = []

    async def drop_database(self, name: str) -> None:
        self.attempts.append(name)
        if self.errors:
            raise self.errors.pop(0)


async def test_a_drop_refused_as_a_deadlock_is_retried_until_it_is_done() -> None:
    store = Store(DEADLOCK, DEADLOCK)
    await drop_database(store, "t1")
    assert store.attempts == ["t1", "t1", "t1"]


async def test_another_error_is_raised_at_once_and_a_lasting_deadlock_after_five_attempts() -> None:
    other = Store(OperationFailure("not authorized", code=13))
    with pytest.raises(OperationFailure, match="not authorized"):
        await drop_database(other, "t2")
    assert other.attempts == ["t2"]
    lasting = Store(*[DEADLOCK] * 6)
    with pytest.raises(OperationFailure, match="deadlock detected"):
        await drop_database(lasting, "t3")
    assert len(lasting.attempts) == 5

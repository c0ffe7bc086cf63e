"""The call-room writes of :class:`MeetingRepository` run again when the store refuses them for
a concurrent write (FerretDB's SQLSTATE 40001, e.g. against the outbox relay's ``$pull`` on the
same meeting), instead of answering the caller 503 (a unit test with a fake collection)."""

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from parley_meetings.repository import MeetingRepository

REFUSED = "ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)"


class RefusingOnce:
    """A collection whose first ``update_one`` loses to a concurrent write; later ones apply."""

    def __init__(self) -> None:
        self.updates: list[tuple[dict[str, Any], dict[str, Any]]] = []

    async def update_one(self, query: dict[str, Any], update: dict[str, Any]) -> SimpleNamespace:
        self.updates.append((query, update))
        if len(self.updates) == 1:
            raise OperationFailure(REFUSED, code=1)
        return SimpleNamespace(modified_count=1)


@pytest.mark.parametrize("write", ["attach_call", "detach_call"])
async def test_a_call_room_write_that_lost_to_a_concurrent_one_is_applied_again(write: str) -> None:
    collection = RefusingOnce()
    repository = MeetingRepository(defaultdict(lambda: collection))  # type: ignore[arg-type]

    assert await getattr(repository, write)("m-1", "c-1") is True
    assert len(collection.updates) == 2 and collection.updates[0] == collection.updates[1]

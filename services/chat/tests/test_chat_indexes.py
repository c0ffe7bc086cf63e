"""Index creation at start-up collides with another replica's (or relay's) on the local store."""

from typing import Any

from pymongo.errors import OperationFailure

from parley_chat.repository import MessageRepository


class RefusingCollection:
    """Refuses the first ``conflicts`` index creations as the store refuses a collision."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.created: list[Any] = []

    async def create_index(self, keys: Any) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise OperationFailure("ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)", code=1)
        self.created.append(keys)


async def test_an_index_creation_refused_for_a_collision_is_retried() -> None:
    collection = RefusingCollection(conflicts=2)
    repository = MessageRepository({"messages": collection})  # type: ignore[arg-type]
    await repository.ensure_indexes()
    assert len(collection.created) == 1

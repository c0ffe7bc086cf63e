"""Index creation at start-up collides with another replica's (or relay's) on the local store."""

from typing import Any

from pymongo.errors import OperationFailure

from parley_chat.repository import MessageRepository


class RefusingCollection:
    """Refuses the first ``conflicts`` index creations as the store refuses a collision."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.created: list[Any] = []

    async def create_index(self, keys: Any, **options: Any) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise OperationFailure("ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)", code=1)
        self.created.append(keys)

    def find(self, query: Any) -> "RefusingCollection":
        return self  # no documents (heads without a watermark: none)

    def __aiter__(self) -> "RefusingCollection":
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


class NumberedMarker:
    """``chat_meta`` of a store whose messages are all numbered already."""

    async def find_one(self, query: Any) -> dict[str, Any]:
        return {"_id": query["_id"], "done": True}


async def test_an_index_creation_refused_for_a_collision_is_retried() -> None:
    collection, heads = RefusingCollection(conflicts=2), RefusingCollection(conflicts=0)
    database = {"messages": collection, "message_heads": heads, "chat_meta": NumberedMarker()}
    repository = MessageRepository(database)  # type: ignore[arg-type]
    await repository.ensure_indexes()
    assert len(collection.created) == 2  # (meeting_id, seq) unique, (block, seq)
    assert heads.created == [[("behind", 1)]]

"""MongoDB storage of direct calls, of the users' lines and of the contact projection.

- ``calls``: one document per call, ``_id`` = call id::

      {_id, caller_id, caller_name, callee_id, callee_name, room_id, state, created_at,
       ring_deadline, answered_at, ended_at, ended_by, empty_deadline, outbox: [...],
       outbox_pending}

  Each state change is one conditional write (``state`` in the filter, so of concurrent
  writers on any replica exactly one wins) with its event in the same write's outbox
  (:mod:`parley_events.outbox`). The ring sweeper finds ``ringing`` calls past
  ``ring_deadline`` (indexed) and moves each with the same conditional write; it finds the
  ``accepted`` calls past ``empty_deadline`` (indexed) the same way.
- ``call_lines``: ``{_id: user_id, call_id, taken_at}``, the call a user is busy with. Taking
  a line is an insert (the store's unique ``_id`` decides between concurrent callers) or, when
  the line is held by a call that is no longer live (or was never stored, its placement having
  failed more than a grace period ago), a compare-and-set on its ``call_id``. A call frees
  both lines when it leaves the live states; a line a crash left behind is taken over the
  same way.
- ``contact_pairs``: ``{_id: contact_id, accepted, blocked_by}``, the projection of
  ``parley.contacts``, read and written by :class:`parley_events.contact_pairs.ContactPairs`.
"""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_events import OUTBOX_FIELD, PENDING_FIELD, retry_write_conflicts, stage, staged
from parley_meetings.domain.call_models import Call

CALLS = "calls"
CALL_LINES = "call_lines"
CONTACT_PAIRS = "contact_pairs"


def _from_doc(doc: dict[str, Any]) -> Call:
    fields = {k: v for k, v in doc.items() if k not in ("_id", OUTBOX_FIELD, PENDING_FIELD)}
    return Call(call_id=doc["_id"], **fields)


class CallRepository:
    """Reads and single-document writes of calls and lines in ``database`` (``pairs``: the
    contact projection's collection, :class:`parley_events.contact_pairs.ContactPairs`)."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.calls: AsyncCollection = database[CALLS]
        self.lines: AsyncCollection = database[CALL_LINES]
        self.pairs: AsyncCollection = database[CONTACT_PAIRS]

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        await self.calls.create_index([("caller_id", 1), ("created_at", DESCENDING)])
        await self.calls.create_index([("callee_id", 1), ("created_at", DESCENDING)])
        await self.calls.create_index([("state", 1), ("ring_deadline", 1)])
        await self.calls.create_index([("state", 1), ("empty_deadline", 1)])
        await self.calls.create_index("room_id")

    # calls -------------------------------------------------------------------------------
    @retry_write_conflicts
    async def insert(self, call: Call, outbox: dict[str, Any]) -> None:
        doc = call.model_dump(mode="python")
        doc["_id"] = doc.pop("call_id")
        await self.calls.insert_one({**doc, **staged([outbox])})

    async def get(self, call_id: str) -> Call | None:
        doc = await self.calls.find_one({"_id": call_id}, {OUTBOX_FIELD: 0})
        return _from_doc(doc) if doc else None

    async def by_room(self, room_id: str) -> Call | None:
        doc = await self.calls.find_one({"room_id": room_id}, {OUTBOX_FIELD: 0})
        return _from_doc(doc) if doc else None

    @retry_write_conflicts
    async def move(self, call_id: str, from_state: str, changes: dict[str, Any], outbox: dict[str, Any]) -> bool:
        """Set ``changes`` (with the new ``state``) on the call if it is still in
        ``from_state``, with its event, in one write; False when it no longer was."""
        result = await self.calls.update_one(
            {"_id": call_id, "state": from_state}, stage({"$set": changes}, outbox)
        )
        return result.modified_count == 1

    async def of_user(self, user_id: str, limit: int) -> list[Call]:
        """The user's calls (caller or callee), newest first, at most ``limit``."""
        found: list[Call] = []
        for field in ("caller_id", "callee_id"):
            cursor = self.calls.find({field: user_id}, {OUTBOX_FIELD: 0}).sort("created_at", DESCENDING).limit(limit)
            found.extend([_from_doc(doc) async for doc in cursor])
        found.sort(key=lambda call: call.created_at, reverse=True)
        return found[:limit]

    async def due(self, now: datetime, limit: int = 100) -> list[Call]:
        """Ringing calls whose ``ring_deadline`` is not after ``now``, oldest deadline first."""
        cursor = self.calls.find({"state": "ringing", "ring_deadline": {"$lte": now}}, {OUTBOX_FIELD: 0})
        return [_from_doc(doc) async for doc in cursor.sort("ring_deadline", 1).limit(limit)]

    async def empty_due(self, now: datetime, limit: int = 100) -> list[Call]:
        """Accepted calls whose ``empty_deadline`` is not after ``now``, oldest first."""
        cursor = self.calls.find({"state": "accepted", "empty_deadline": {"$lte": now}}, {OUTBOX_FIELD: 0})
        return [_from_doc(doc) async for doc in cursor.sort("empty_deadline", 1).limit(limit)]

    @retry_write_conflicts
    async def clear_empty_deadline(self, call_id: str) -> None:
        """Clear the accepted call's ``empty_deadline`` (someone is in its room)."""
        await self.calls.update_one({"_id": call_id, "state": "accepted"}, {"$set": {"empty_deadline": None}})

    # lines -------------------------------------------------------------------------------
    async def line_holder(self, user_id: str) -> tuple[str, datetime] | None:
        """The call id holding the user's line and when it took it, or None."""
        doc = await self.lines.find_one({"_id": user_id})
        return (doc["call_id"], doc["taken_at"]) if doc else None

    @retry_write_conflicts
    async def take_free_line(self, user_id: str, call_id: str, now: datetime) -> bool:
        """Take the user's line for ``call_id`` if nobody holds it (insert); False when held."""
        try:
            await self.lines.insert_one({"_id": user_id, "call_id": call_id, "taken_at": now})
        except DuplicateKeyError:
            return False
        return True

    @retry_write_conflicts
    async def take_over_line(self, user_id: str, held_by: str, call_id: str, now: datetime) -> bool:
        """Move the user's line from ``held_by`` (a call no longer live) to ``call_id``: a
        compare-and-set; False when another call took it meanwhile."""
        result = await self.lines.update_one(
            {"_id": user_id, "call_id": held_by}, {"$set": {"call_id": call_id, "taken_at": now}}
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def free_line(self, user_id: str, call_id: str) -> None:
        """Free the user's line if ``call_id`` holds it."""
        await self.lines.delete_one({"_id": user_id, "call_id": call_id})

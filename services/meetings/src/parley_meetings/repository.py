"""MongoDB storage of meetings (collection ``meetings``) and of processed event ids.

One document per meeting, ``_id`` = meeting id::

    {_id, title, host_id, scheduled_start, status, created_at, ended_at,
     participants: [{user_id, display_name, role, joined_at}],
     roster: [{sid, user_id, display_name, replica_id, joined_at}],
     outbox: [pending events], outbox_pending: true while any}

Every state change is one single-document write, atomic in the store, with its event (if
any) pushed into the ``outbox`` array of the same write (see :mod:`parley_events.outbox`).
Its filter carries the precondition ("active", "not yet in the roster"), so of concurrent
writers in any replicas exactly the ones the precondition admits succeed; nothing in this
process serializes them. A write the store refuses for colliding with a concurrent one is run
again (:func:`parley_events.retry_write_conflicts`). Written for the FerretDB 1.x query
subset too: "not already in the array" is expressed with ``$nor`` (``$ne`` on an
array-of-documents path misbehaves there) and roster entries are removed by ``$pull`` of the
exact stored sub-document.
"""

from datetime import datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from parley_events import OUTBOX_FIELD, PENDING_FIELD, ProcessedEvents, retry_write_conflicts, stage, staged
from parley_meetings.domain.models import Meeting, Participant, RosterEntry

MEETINGS = "meetings"
PROCESSED_EVENTS = "processed_events"


def _to_doc(meeting: Meeting) -> dict[str, Any]:
    doc = meeting.model_dump(mode="python")
    doc["_id"] = doc.pop("meeting_id")
    doc["participants"] = list(doc["participants"])
    doc["roster"] = list(doc["roster"])
    return doc


def _from_doc(doc: dict[str, Any]) -> Meeting:
    fields = {k: v for k, v in doc.items() if k not in ("_id", OUTBOX_FIELD, PENDING_FIELD)}
    return Meeting(meeting_id=doc["_id"], **fields)


class MeetingRepository:
    """Reads and single-document writes of meetings in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.meetings: AsyncCollection = database[MEETINGS]
        self.processed = ProcessedEvents(database[PROCESSED_EVENTS])

    @retry_write_conflicts  # idempotent; collides with another replica (or relay) creating indexes
    async def ensure_indexes(self) -> None:
        """Index the "my meetings" query (by participant, newest first)."""
        await self.meetings.create_index([("participants.user_id", 1), ("created_at", DESCENDING)])

    @retry_write_conflicts
    async def insert(self, meeting: Meeting, outbox: list[dict[str, Any]]) -> None:
        """Store a new meeting together with its pending events."""
        await self.meetings.insert_one({**_to_doc(meeting), **staged(outbox)})

    async def get(self, meeting_id: str) -> Meeting | None:
        doc = await self.meetings.find_one({"_id": meeting_id}, {OUTBOX_FIELD: 0})
        return _from_doc(doc) if doc else None

    async def list_for_user(self, user_id: str) -> list[Meeting]:
        """Meetings ``user_id`` hosts or joined, newest first."""
        cursor = self.meetings.find({"participants.user_id": user_id}, {OUTBOX_FIELD: 0})
        return [_from_doc(doc) async for doc in cursor.sort("created_at", DESCENDING)]

    @retry_write_conflicts
    async def add_participant(self, meeting_id: str, participant: Participant) -> Meeting | None:
        """Add ``participant`` to an active meeting they have not joined, in one round trip
        (``findAndModify`` by ``_id``, answering the meeting as written); None when nothing was
        added (no such meeting, ended, or a participant already)."""
        doc = await self.meetings.find_one_and_update(
            {
                "_id": meeting_id,
                "status": "active",
                "$nor": [{"participants.user_id": participant.user_id}],
            },
            {"$push": {"participants": participant.model_dump(mode="python")}},
            return_document=ReturnDocument.AFTER,  # no projection: FerretDB 1.13 has none here
        )
        return _from_doc(doc) if doc else None

    @retry_write_conflicts
    async def end(
        self, meeting_id: str, host_id: str, ended_at: datetime, outbox: dict[str, Any]
    ) -> bool:
        """End an active meeting hosted by ``host_id``: status, time, empty roster and event
        in one write. True when it ended now; False when no such active meeting of that host."""
        result = await self.meetings.update_one(
            {"_id": meeting_id, "host_id": host_id, "status": "active"},
            stage({"$set": {"status": "ended", "ended_at": ended_at, "roster": []}}, outbox),
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def add_to_roster(self, meeting_id: str, entry: RosterEntry) -> bool:
        """Add a socket to an active meeting's roster unless its sid is there; True when added."""
        result = await self.meetings.update_one(
            {"_id": meeting_id, "status": "active", "$nor": [{"roster.sid": entry.sid}]},
            {"$push": {"roster": entry.model_dump(mode="python")}},
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def remove_from_roster(self, meeting_id: str, sid: str) -> bool:
        """Remove the socket ``sid`` from the roster; True when it was there.

        Reads the stored entry and pulls that exact value (FerretDB 1.x ``$pull`` matches
        values, not conditions). A concurrent write between the read and the pull cannot
        lose: the pull removes that value whatever else changed, and a concurrent removal of
        the same entry makes this one modify nothing (False).
        """
        doc = await self.meetings.find_one({"_id": meeting_id}, {"roster": 1})
        entries = [e for e in (doc or {}).get("roster", []) if e.get("sid") == sid]
        removed = False
        for entry in entries:
            result = await self.meetings.update_one({"_id": meeting_id}, {"$pull": {"roster": entry}})
            removed = removed or result.modified_count == 1
        return removed

"""MongoDB storage of meetings (collection ``meetings``) and of processed event ids.

One document per meeting, ``_id`` = meeting id::

    {_id, title, host_id, scheduled_start, status, created_at, ended_at,
     participants: [{user_id, display_name, role, joined_at}],
     roster: [{sid, user_id, display_name, replica_id, joined_at}],
     outbox: [pending events], outbox_pending: true while any, roster_rev: n}

Every state change is one single-document write, atomic in the store, with its event (if
any) pushed into the ``outbox`` array of the same write (see :mod:`parley_events.outbox`).
Its filter carries the precondition ("active", "not yet in the roster"), so of concurrent
writers in any replicas exactly the ones the precondition admits succeed; nothing in this
process serializes them. A write the store refuses for colliding with a concurrent one is run
again (:func:`parley_events.retry_write_conflicts`). Written for the FerretDB 1.x query
subset too: "not already in the array" is expressed with ``$nor`` (``$ne`` on an
array-of-documents path misbehaves there). The roster consumer writes a meeting's whole
roster once per batch of events, by compare-and-set on ``roster_rev`` (bumped by each of its
writes); ending a meeting (``status`` in the filter) makes a concurrent roster write miss.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from parley_events import OUTBOX_FIELD, PENDING_FIELD, ProcessedEvents, retry_write_conflicts, stage, staged
from parley_meetings.domain.models import Meeting, MeetingSummary, Participant, RosterEntry

MEETINGS = "meetings"
#: a counter bumped by every roster write of the consumer: its compare-and-set token
ROSTER_REV = "roster_rev"
PROCESSED_EVENTS = "processed_events"


@dataclass(frozen=True)
class RosterState:
    """A meeting's roster as read, with the revision a write must find unchanged."""

    status: str
    roster: tuple[RosterEntry, ...]
    rev: int | None


def _to_doc(meeting: Meeting) -> dict[str, Any]:
    doc = meeting.model_dump(mode="python")
    doc["_id"] = doc.pop("meeting_id")
    doc["participants"] = list(doc["participants"])
    doc["roster"] = list(doc["roster"])
    return doc


def _from_doc(doc: dict[str, Any]) -> Meeting:
    fields = {k: v for k, v in doc.items() if k not in ("_id", OUTBOX_FIELD, PENDING_FIELD, ROSTER_REV)}
    return Meeting(meeting_id=doc["_id"], **fields)


#: The projection of :meth:`MeetingRepository.summary`.
_SUMMARY_FIELDS = {name: 1 for name in MeetingSummary.model_fields if name != "meeting_id"}


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

    async def summary(self, meeting_id: str) -> MeetingSummary | None:
        """The meeting without members and roster (neither is read from the store)."""
        doc = await self.meetings.find_one({"_id": meeting_id}, _SUMMARY_FIELDS)
        if doc is None:
            return None
        return MeetingSummary(meeting_id=doc.pop("_id"), **doc)

    async def list_for_user(self, user_id: str) -> list[Meeting]:
        """Meetings ``user_id`` hosts or joined, newest first."""
        cursor = self.meetings.find({"participants.user_id": user_id}, {OUTBOX_FIELD: 0})
        return [_from_doc(doc) async for doc in cursor.sort("created_at", DESCENDING)]

    @retry_write_conflicts
    async def add_participant(self, meeting_id: str, participant: Participant, outbox: dict[str, Any]) -> Meeting | None:
        """Add ``participant`` to an active meeting they have not joined, with its event
        (``outbox``) in the same write, in one round trip (``findAndModify`` by ``_id``,
        answering the meeting as written); None when nothing was added (no such meeting,
        ended, or a participant already), and then no event is staged."""
        doc = await self.meetings.find_one_and_update(
            {
                "_id": meeting_id,
                "status": "active",
                "$nor": [{"participants.user_id": participant.user_id}],
            },
            stage({"$push": {"participants": participant.model_dump(mode="python")}}, outbox),
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

    async def roster_state(self, meeting_id: str) -> RosterState | None:
        """The meeting's status, roster and roster revision (None: no such meeting)."""
        doc = await self.meetings.find_one({"_id": meeting_id}, {"status": 1, "roster": 1, ROSTER_REV: 1})
        if doc is None:
            return None
        return RosterState(
            status=doc.get("status", "active"),
            roster=tuple(RosterEntry(**entry) for entry in doc.get("roster", [])),
            rev=doc.get(ROSTER_REV),
        )

    @retry_write_conflicts
    async def replace_roster(self, meeting_id: str, seen: RosterState, roster: Sequence[RosterEntry]) -> bool:
        """Set the roster of an active meeting to ``roster`` if it is still the one read as
        ``seen`` (its revision unchanged: a compare-and-set); True when written. False: the
        meeting ended, or another writer changed the roster since (read it again)."""
        rev_filter: Any = seen.rev if seen.rev is not None else {"$exists": False}
        result = await self.meetings.update_one(
            {"_id": meeting_id, "status": "active", ROSTER_REV: rev_filter},
            # $inc last: FerretDB 1.13 stores an update only when its last operator changed it
            {"$set": {"roster": [e.model_dump(mode="python") for e in roster]}, "$inc": {ROSTER_REV: 1}},
        )
        return result.modified_count == 1

"""MongoDB storage of meetings (collection ``meetings``) and of processed event ids.

One document per meeting, ``_id`` = meeting id::

    {_id, title, host_id, scheduled_start, duration_minutes, time_zone, sequence, status,
     end_reason, created_at, ended_at, empty_timeout_seconds, empty_since, expires_at,
     expiring: true while expires_at is set, admission, cohost_ids: [user_id],
     participants: [{user_id, display_name, role, joined_at}],
     roster: [{sid, user_id, display_name, replica_id, joined_at}],
     lobby: [{user_id, display_name, guest, requested_at}],
     barred: [{user_id, display_name, reason, by, at}],
     outbox: [pending events], outbox_pending: true while any, roster_rev: n, members_rev: n,
     call_id (a call's room), arrived: [user_id] (a call's room: who has been in it)}

Every state change is one single-document write, atomic in the store, with its event (if
any) pushed into the ``outbox`` array of the same write (see :mod:`parley_events.outbox`).
Its filter carries the precondition ("active", "not yet in the roster"), so of concurrent
writers in any replicas exactly the ones the precondition admits succeed; nothing in this
process serializes them. A write the store refuses for colliding with a concurrent one is run
again (:func:`parley_events.retry_write_conflicts`). Written for the FerretDB 1.x query
subset too: "not already in the array" is expressed with ``$nor`` (``$ne`` on an
array-of-documents path misbehaves there). The roster consumer writes a meeting's whole
roster once per batch of events, by compare-and-set on ``roster_rev`` (bumped by each of its
writes) and on the empty timeout its deadline was computed with; ending a meeting (``status``
in the filter) makes a concurrent roster write miss. The consumer writes from the roster it
wrote last without reading it first (``Meetings._apply_to_roster``): a stream of joins and
leaves costs one store operation per meeting and batch, and a miss reads the store.
In a call's room the same write adds who joined to ``arrived``: the call ends when its room
empties only once both have been in it (:meth:`parley_meetings.domain.calls.Calls.room_emptied`).
The same write sets ``empty_since`` / ``expires_at`` (and the ``expiring`` marker) when it
leaves the roster empty and clears them otherwise; :meth:`MeetingRepository.due` finds due
deadlines among the marked meetings (an equality FerretDB 1.13 pushes down to PostgreSQL,
where ``expires_at <= now`` alone had it decode every active meeting on every sweep), and
:meth:`MeetingRepository.expire` ends one only if its deadline is still the one read (one
winner among replicas; a join that cleared it meanwhile wins).
Who belongs (``participants``, ``lobby``, ``barred``, ``cohost_ids``) is written whole by
:meth:`MeetingRepository.change_members`, a compare-and-set on ``members_rev``, which
:meth:`MeetingRepository.add_participant` raises too: a lobby decision read before a join
(or another decision) misses and is computed again.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from parley_events import OUTBOX_FIELD, PENDING_FIELD, ProcessedEvents, retry_write_conflicts, stage, staged
from parley_meetings.domain.models import Meeting, MeetingSummary, Participant, RosterEntry

MEETINGS = "meetings"
#: a counter bumped by every roster write of the consumer: its compare-and-set token
ROSTER_REV = "roster_rev"
PROCESSED_EVENTS = "processed_events"
#: a counter bumped by every write of who belongs: :meth:`MeetingRepository.change_members`' token
MEMBERS_REV = "members_rev"
#: true while the meeting's empty room has a deadline (``expires_at``): the expiry sweep's filter
EXPIRING = "expiring"
#: a call's room: the users who have been in it
ARRIVED = "arrived"


@dataclass(frozen=True)
class RosterState:
    """A meeting's roster as read, with the revision a write must find unchanged."""

    status: str
    roster: tuple[RosterEntry, ...]
    rev: int | None
    #: the meeting's own empty timeout (None: the service's default)
    empty_timeout_seconds: int | None = None
    #: the call whose room this is (None: an ordinary meeting)
    call_id: str | None = None
    #: a call's room: the users who have been in it
    arrived: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EmptyRoom:
    """Since when a meeting's room is empty and when the meeting expires (UTC)."""

    since: datetime
    expires_at: datetime


@dataclass(frozen=True)
class DueMeeting:
    """An active meeting whose empty room's deadline has passed, as :meth:`MeetingRepository.due` read it."""

    meeting_id: str
    empty_since: datetime
    expires_at: datetime
    empty_timeout_seconds: int | None


def _to_doc(meeting: Meeting) -> dict[str, Any]:
    doc = meeting.model_dump(mode="python")
    doc["_id"] = doc.pop("meeting_id")
    for name in ("participants", "roster", "lobby", "barred", "cohost_ids"):
        doc[name] = list(doc[name])
    if doc.get(MEMBERS_REV) is None:
        doc.pop(MEMBERS_REV, None)
    return doc


def _from_doc(doc: dict[str, Any]) -> Meeting:
    internal = ("_id", OUTBOX_FIELD, PENDING_FIELD, ROSTER_REV, EXPIRING, ARRIVED)
    fields = {k: v for k, v in doc.items() if k not in internal}
    return Meeting(meeting_id=doc["_id"], **fields)


def due_filter(now: datetime) -> dict[str, Any]:
    """The active meetings whose empty room's deadline is at or before ``now``; the marker
    first, an equality the store can answer from an index (:meth:`MeetingRepository.due`)."""
    return {EXPIRING: True, "status": "active", "expires_at": {"$lte": now}}


def _admission_is(admission: str) -> dict[str, Any]:
    """A filter: the meeting's admission mode is ``admission`` (a meeting stored without one is ``open``)."""
    if admission != "open":
        return {"admission": admission}
    return {"$nor": [{"admission": "lobby"}, {"admission": "locked"}]}


#: The projection of :meth:`MeetingRepository.summary`.
_SUMMARY_FIELDS = {name: 1 for name in MeetingSummary.model_fields if name != "meeting_id"}


class MeetingRepository:
    """Reads and single-document writes of meetings in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.meetings: AsyncCollection = database[MEETINGS]
        self.processed = ProcessedEvents(database[PROCESSED_EVENTS])

    @retry_write_conflicts  # idempotent; collides with another replica (or relay) creating indexes
    async def ensure_indexes(self) -> None:
        """Index the "my meetings" query (by participant, newest first) and the expiry
        sweeper's query of due deadlines (:meth:`due`); mark the deadlines stored before the
        ``expiring`` marker existed."""
        await self.meetings.create_index([("participants.user_id", 1), ("created_at", DESCENDING)])
        await self.meetings.create_index([(EXPIRING, ASCENDING), ("expires_at", ASCENDING)])
        await self.meetings.update_many(
            {"status": "active", "expires_at": {"$type": "date"}, EXPIRING: {"$exists": False}}, {"$set": {EXPIRING: True}}
        )

    @retry_write_conflicts
    async def insert(self, meeting: Meeting, outbox: list[dict[str, Any]]) -> None:
        """Store a new meeting together with its pending events."""
        await self.meetings.insert_one({**_to_doc(meeting), **staged(outbox)})

    @retry_write_conflicts
    async def insert_if_absent(self, meeting: Meeting, outbox: list[dict[str, Any]]) -> bool:
        """:meth:`insert` unless a meeting with this id exists (then nothing is written and no
        event staged); True when inserted."""
        try:
            await self.meetings.insert_one({**_to_doc(meeting), **staged(outbox)})
        except DuplicateKeyError:
            return False
        return True

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
        """Meetings ``user_id`` hosts or joined, newest first; not the private rooms of direct
        calls (their call history is ``GET /api/calls``)."""
        cursor = self.meetings.find({"participants.user_id": user_id}, {OUTBOX_FIELD: 0})
        found = [_from_doc(doc) async for doc in cursor.sort("created_at", DESCENDING)]
        return [meeting for meeting in found if meeting.call_id is None]

    async def page_for_user(
        self, user_id: str, limit: int, after: tuple[datetime, str] | None
    ) -> list[Meeting]:
        """Up to ``limit`` meetings ``user_id`` hosts or joined, newest first (by ``created_at``,
        then id), after the meeting ``after`` names (its ``created_at`` and id)."""
        query: dict[str, Any] = {"participants.user_id": user_id}
        if after is not None:
            created_at, meeting_id = after
            query["$or"] = [
                {"created_at": {"$lt": created_at}},
                {"created_at": created_at, "_id": {"$lt": meeting_id}},
            ]
        cursor = self.meetings.find(query, {OUTBOX_FIELD: 0}).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        return [_from_doc(doc) async for doc in cursor.limit(limit)]

    @retry_write_conflicts
    async def add_participant(self, meeting_id: str, participant: Participant, outbox: dict[str, Any]) -> Meeting | None:
        """Add ``participant`` to an active ``open`` meeting they have not joined, with its event
        (``outbox``) in the same write, in one round trip (``findAndModify`` by ``_id``,
        answering the meeting as written); None when nothing was added (no such meeting,
        ended, not open, a participant already, waiting in the lobby or barred), and then no
        event is staged."""
        user_id = participant.user_id
        doc = await self.meetings.find_one_and_update(
            {
                "_id": meeting_id,
                "status": "active",
                "$nor": [
                    {"admission": "lobby"},
                    {"admission": "locked"},
                    {"participants.user_id": user_id},
                    {"lobby.user_id": user_id},
                    {"barred.user_id": user_id},
                ],
            },
            stage(
                {"$inc": {MEMBERS_REV: 1}, "$push": {"participants": participant.model_dump(mode="python")}}, outbox
            ),
            return_document=ReturnDocument.AFTER,  # no projection: FerretDB 1.13 has none here
        )
        return _from_doc(doc) if doc else None

    @retry_write_conflicts
    async def change_members(self, seen: Meeting, changes: dict[str, Any], outbox: dict[str, Any]) -> bool:
        """Set ``changes`` (whole ``participants``, ``lobby``, ``barred``, ``cohost_ids``) of the
        active meeting ``seen`` and stage ``outbox``, in one write, if nobody changed who
        belongs since ``seen`` was read and its admission mode is still ``seen``'s (a
        compare-and-set on ``members_rev`` and ``admission``). False: read it again."""
        rev: Any = seen.members_rev if seen.members_rev is not None else {"$exists": False}
        dumped = {
            name: [v.model_dump(mode="python") if hasattr(v, "model_dump") else v for v in value]
            for name, value in changes.items()
        }
        result = await self.meetings.update_one(
            {"_id": seen.meeting_id, "status": "active", MEMBERS_REV: rev, **_admission_is(seen.admission)},
            stage({"$inc": {MEMBERS_REV: 1}, "$set": dumped}, outbox),
        )
        return result.modified_count == 1

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
    async def detach_call(self, meeting_id: str, call_id: str) -> bool:
        """Make the room of call ``call_id`` an ordinary meeting (its ``call_id`` removed). True
        when it changed now; False when it is not that call's room (any more)."""
        result = await self.meetings.update_one({"_id": meeting_id, "call_id": call_id}, {"$unset": {"call_id": ""}})
        return result.modified_count == 1

    @retry_write_conflicts
    async def attach_call(self, meeting_id: str, call_id: str) -> bool:
        """Make meeting ``meeting_id`` the private room of call ``call_id`` again (undoes
        :meth:`detach_call`). True when it changed now; False when it already is, or is another
        call's room."""
        result = await self.meetings.update_one(
            {"_id": meeting_id, "call_id": {"$exists": False}}, {"$set": {"call_id": call_id}}
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def change_calendar(self, seen: Meeting, changes: dict[str, Any], outbox: dict[str, Any]) -> bool:
        """Set ``changes`` on the active meeting ``seen`` and raise its ``sequence`` by one,
        with its event, in one write; a compare-and-set on ``sequence`` (a meeting stored
        before it had one counts as 0). False when the meeting changed since it was read, or
        is no longer active (read it again)."""
        unchanged: dict[str, Any] = (
            {"sequence": seen.sequence}
            if seen.sequence
            else {"$or": [{"sequence": 0}, {"sequence": {"$exists": False}}]}
        )
        result = await self.meetings.update_one(
            {"_id": seen.meeting_id, "host_id": seen.host_id, "status": "active", **unchanged},
            stage({"$set": {**changes, "sequence": seen.sequence + 1}}, outbox),
        )
        return result.modified_count == 1

    async def roster_state(self, meeting_id: str) -> RosterState | None:
        """The meeting's status, roster and roster revision (None: no such meeting)."""
        doc = await self.meetings.find_one(
            {"_id": meeting_id},
            {"status": 1, "roster": 1, ROSTER_REV: 1, "empty_timeout_seconds": 1, "call_id": 1, ARRIVED: 1},
        )
        if doc is None:
            return None
        return RosterState(
            status=doc.get("status", "active"),
            roster=tuple(RosterEntry(**entry) for entry in doc.get("roster", [])),
            rev=doc.get(ROSTER_REV),
            empty_timeout_seconds=doc.get("empty_timeout_seconds"),
            call_id=doc.get("call_id"),
            arrived=frozenset(doc.get(ARRIVED, ())),
        )

    @retry_write_conflicts
    async def replace_roster(
        self,
        meeting_id: str,
        seen: RosterState,
        roster: Sequence[RosterEntry],
        empty: EmptyRoom | None = None,
        arrived: Sequence[str] = (),
    ) -> bool:
        """Set the roster of an active meeting to ``roster`` if it is still the one read as
        ``seen`` (its revision unchanged: a compare-and-set), with its empty room's deadline
        (``empty``; None clears it) and ``arrived`` (user ids) added to those who have been in
        it; True when written. False: the meeting ended, another writer changed the roster
        since, or its empty timeout (which ``empty`` was computed with) changed: read it again."""
        rev_filter: Any = seen.rev if seen.rev is not None else {"$exists": False}
        update: dict[str, Any] = {
            "$set": {
                "roster": [e.model_dump(mode="python") for e in roster],
                "empty_since": empty.since if empty else None,
                "expires_at": empty.expires_at if empty else None,
                EXPIRING: empty is not None,
            },
        }
        if arrived:
            update["$addToSet"] = {ARRIVED: {"$each": list(arrived)}}
        update["$inc"] = {ROSTER_REV: 1}  # last: FerretDB 1.13 stores an update only when its last operator changed it
        result = await self.meetings.update_one(
            {
                "_id": meeting_id,
                "status": "active",
                ROSTER_REV: rev_filter,
                "empty_timeout_seconds": seen.empty_timeout_seconds,
            },
            update,
        )
        return result.modified_count == 1

    async def due(self, now: datetime, limit: int) -> list[DueMeeting]:
        """Up to ``limit`` active meetings whose ``expires_at`` is at or before ``now``, the
        earliest first (meetings without a deadline are not read: see the module docstring)."""
        cursor = self.meetings.find(
            due_filter(now),
            {"empty_since": 1, "expires_at": 1, "empty_timeout_seconds": 1},
        )
        return [
            DueMeeting(
                meeting_id=doc["_id"],
                empty_since=doc.get("empty_since") or doc["expires_at"],
                expires_at=doc["expires_at"],
                empty_timeout_seconds=doc.get("empty_timeout_seconds"),
            )
            async for doc in cursor.sort("expires_at", ASCENDING).limit(limit)
        ]

    @retry_write_conflicts
    async def expire(self, due: DueMeeting, expired_at: datetime, outbox: dict[str, Any]) -> bool:
        """End the meeting ``due`` (``end_reason`` ``expired``, roster and deadline cleared)
        with its event, in one write, if it is still active with the deadline read; True
        when it expired now. False: another replica expired it, someone joined meanwhile
        (the deadline changed), or it ended otherwise."""
        result = await self.meetings.update_one(
            {"_id": due.meeting_id, "status": "active", "expires_at": due.expires_at},
            stage(
                {
                    "$set": {
                        "status": "ended",
                        "end_reason": "expired",
                        "ended_at": expired_at,
                        "roster": [],
                        "expires_at": None,
                        EXPIRING: False,
                    }
                },
                outbox,
            ),
        )
        return result.modified_count == 1

    @retry_write_conflicts
    async def change_settings(
        self, seen: Meeting, changes: dict[str, Any], outbox: dict[str, Any]
    ) -> bool:
        """Set ``changes`` (settings: ``empty_timeout_seconds``, ``allow_guests``, ``admission``)
        of the active meeting ``seen`` and stage ``outbox`` in the same write, if its settings
        are still as ``seen`` had them (compare-and-set: the event states the settings after
        the change); False when the meeting ended or its settings changed since."""
        result = await self.meetings.update_one(
            {
                "_id": seen.meeting_id,
                "host_id": seen.host_id,
                "status": "active",
                "empty_timeout_seconds": seen.empty_timeout_seconds,
                "allow_guests": seen.allow_guests if seen.allow_guests else {"$ne": True},
                **_admission_is(seen.admission),
            },
            stage({"$set": changes}, outbox),
        )
        return result.matched_count == 1


CALENDAR_FEEDS = "calendar_feeds"


class CalendarFeedRepository:
    """Each user's calendar feed secret, hashed: ``{_id: user_id, token_hash, created_at}`` in
    collection ``calendar_feeds`` (one per user; the hash is unique)."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.feeds: AsyncCollection = database[CALENDAR_FEEDS]

    @retry_write_conflicts
    async def ensure_indexes(self) -> None:
        await self.feeds.create_index("token_hash", unique=True)

    @retry_write_conflicts
    async def put(self, user_id: str, token_hash: str, created_at: datetime) -> None:
        """The user's feed is now ``token_hash`` (the previous one, if any, stops working)."""
        # ``_id`` repeated in the replacement: FerretDB 1.13 gives an upserted replacement a new
        # ObjectId instead of the filter's ``_id``
        await self.feeds.replace_one(
            {"_id": user_id}, {"_id": user_id, "token_hash": token_hash, "created_at": created_at}, upsert=True
        )

    async def created_at(self, user_id: str) -> datetime | None:
        """When the user's current feed was created, or None when they have none."""
        doc = await self.feeds.find_one({"_id": user_id}, {"created_at": 1})
        return doc["created_at"] if doc else None

    async def owner(self, token_hash: str) -> str | None:
        """The user whose feed this is, or None."""
        doc = await self.feeds.find_one({"token_hash": token_hash}, {"_id": 1})
        return doc["_id"] if doc else None

    @retry_write_conflicts
    async def delete(self, user_id: str) -> bool:
        """Revoke the user's feed; False when there was none."""
        return (await self.feeds.delete_one({"_id": user_id})).deleted_count == 1

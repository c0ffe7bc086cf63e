"""MongoDB storage of chat messages (collections ``messages`` and ``message_heads``) and notes
(collection ``notes``).

Collection ``chat_meta`` holds one marker: messages stored before ``seq`` existed were numbered
at start-up (:meth:`MessageRepository.ensure_indexes`).

A meeting's messages carry a sequence number ``seq`` (1, 2, 3, … without gaps, unique per
meeting): history pages by it and the relay publishes by it, so history order and topic order
are the same (docs/events.md, "Order of chat messages"). One document per message::

    {_id: "{meeting_id}:{message_id}", meeting_id, message_id, seq, block, sender_id,
     sender_name, text, posted_at, outbox: [...], outbox_pending}

``_id`` makes a client-chosen ``message_id`` unique per meeting (idempotent posts); a unique
index on ``(meeting_id, seq)`` makes a sequence number taken at most once. ``block`` is
``"{meeting_id}:{seq // BLOCK}"``: a page reads the one to three blocks that hold it by
equality, which FerretDB 1.13 filters in PostgreSQL, so only those (≤ 50 each) documents are
decoded and sorted, instead of every message of the meeting (FerretDB 1.13 sorts in Go after
fetching every row matching the pushed-down filter; deploy/local/README.md, "The outbox on this
store"). On MongoDB the ``(block, seq)`` index serves the same query. (Locally, PostgreSQL serves that
equality from an index too: see deploy/local/README.md, "Indexes FerretDB can use".)

A post takes the next number optimistically: it reads the meeting's head (``message_heads``),
inserts the message with ``head + 1`` in one ``insert_one``, and on a duplicate key either
finds its own ``message_id`` already stored (a retry: nothing new) or tries the next number.
Then it advances the head. A number is taken only by a committed insert, and an insert of
``n + 1`` happens only after ``n`` was seen taken, so the taken numbers of a meeting are always
``1..N``: a reader (or the relay) that sees ``n`` sees every message before it. The head is a
hint that can lag behind the stored messages (a crash between the insert and the head update,
or a post still between the two): writers step past it, and a first page also reads the
block after it.

The messages are chat's outbox (:mod:`parley_chat.relay`): a message's ``chat.message.posted``
is a function of its document, so a post writes nothing else, and the head also says how far
the meeting's events were published::

    {_id: meeting_id, seq, published, behind}

``seq`` is the highest number known taken, ``published`` the highest number up to which every
message's event was acknowledged by Kafka (the watermark), and ``behind: true`` is set by every
head advance and cleared by the relay once ``published`` reached ``seq`` (an indexed marker
the relay's sweep lists, :meth:`MessageRepository.lagging`).

Notes: one document per (meeting, owner), ``_id`` = ``"{meeting_id}:{owner_id}"`` (user ids
are auth's hex UUIDs, without ``:``, so the id is unambiguous)::

    {_id, meeting_id, owner_id, text, updated_at}

Saved by an upsert that replaces ``text`` and ``updated_at``; no outbox (notes publish no
event).

Heads written before the watermark existed get ``published = seq`` at start-up
(:meth:`MessageRepository.ensure_indexes`): the former per-document outbox cleared each entry
within milliseconds of its post, so an entry a crash left pending in such a document (it
keeps its ``outbox`` fields, hidden) is not published again.

Every write is one atomic MongoDB operation, retried when the store refuses it for colliding
with a concurrent write (:func:`parley_events.retry_write_conflicts`).
"""

import asyncio
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from parley_chat.domain.models import Message, Notes
from parley_events import OUTBOX_FIELD, PENDING_FIELD, is_write_conflict, retry_write_conflicts

MESSAGES = "messages"
HEADS = "message_heads"
NOTES = "notes"
#: Schema markers: ``{_id: "messages_numbered"}`` once every message has a ``seq``.
META = "chat_meta"
_NUMBERED = "messages_numbered"
#: Posts of one meeting stored by one ``insert_many`` at most.
MAX_BATCH = 100
#: Posts of one meeting inserted (in one or more ``insert_many``) before one head write, at most.
MAX_HELD = 200
DUPLICATE_KEY = 11000
#: Messages per block (see the module docstring); a page of up to 100 spans at most 3 blocks.
BLOCK = 50
#: Fields of a message document that are not the message's (the outbox ones only in documents
#: stored before the watermark, see the module docstring).
_HIDDEN = ("_id", OUTBOX_FIELD, PENDING_FIELD, "block")
#: The marker of a head whose ``published`` may be below its ``seq``.
BEHIND = "behind"


class Head(NamedTuple):
    """A meeting's head: the highest ``seq`` known taken and the published watermark."""

    meeting_id: str
    seq: int
    published: int


def doc_id(meeting_id: str, message_id: str) -> str:
    """The document id of a message."""
    return f"{meeting_id}:{message_id}"


def block_of(meeting_id: str, seq: int) -> str:
    """The block (see the module docstring) holding message ``seq`` of ``meeting_id``."""
    return f"{meeting_id}:{seq // BLOCK}"


@dataclass
class _Queued:
    """A post waiting for its meeting's writer."""

    message: Message
    waiter: "asyncio.Future[Message | None]"


def _doc_of(message: Message) -> dict[str, Any]:
    return {
        "_id": doc_id(message.meeting_id, message.message_id),
        **message.model_dump(),
        "block": block_of(message.meeting_id, message.seq),
    }


def _from_doc(doc: dict[str, Any]) -> Message:
    return Message(**{k: v for k, v in doc.items() if k not in _HIDDEN})


class MessageRepository:
    """Messages of every meeting in ``database`` (collections ``messages`` and ``heads``;
    direct messages use the same storage in their own collections,
    :mod:`parley_chat.conversations_repository`)."""

    def __init__(self, database: AsyncDatabase, *, messages: str = MESSAGES, heads: str = HEADS) -> None:
        self.messages: AsyncCollection = database[messages]
        self.heads: AsyncCollection = database[heads]
        self.meta: AsyncCollection = database[META]
        self._queued: dict[str, list[_Queued]] = {}
        self._writers: dict[str, asyncio.Task[None]] = {}
        self._next: dict[str, int] = {}  # per meeting, the number this process would try next

    async def ensure_indexes(self) -> None:
        """Number the messages stored before ``seq`` existed (once), then create the unique
        ``(meeting_id, seq)`` index, the ``(block, seq)`` index of pages and the heads'
        ``behind`` index; give heads from before the watermark one."""
        if await self.meta.find_one({"_id": _NUMBERED}) is None:
            await self._number_unnumbered()
            await self._mark_numbered()
        await self._create_indexes()
        await self._adopt_legacy_heads()

    @retry_write_conflicts  # idempotent; collides with another replica (or relay) creating indexes
    async def _create_indexes(self) -> None:
        await self.messages.create_index([("meeting_id", ASCENDING), ("seq", ASCENDING)], unique=True)
        await self.messages.create_index([("block", ASCENDING), ("seq", ASCENDING)])
        await self.heads.create_index([(BEHIND, ASCENDING)])

    async def _number_unnumbered(self) -> None:
        """Give every message without a ``seq`` one, per meeting in the former history order
        (``posted_at``, ``_id``), after the meeting's head, and raise the head. Deterministic,
        so two replicas doing it at once write the same numbers."""
        unnumbered: dict[str, list[dict[str, Any]]] = {}
        async for doc in self.messages.find({"seq": {"$exists": False}}, {"meeting_id": 1, "posted_at": 1}):
            unnumbered.setdefault(doc["meeting_id"], []).append(doc)
        for meeting_id, docs in unnumbered.items():
            docs.sort(key=lambda d: (d["posted_at"], d["_id"]))
            head = await self.head(meeting_id)
            for seq, doc in enumerate(docs, start=head + 1):
                await self._number(doc["_id"], meeting_id, seq)
            await self._advance_head(meeting_id, head + len(docs))

    @retry_write_conflicts
    async def _number(self, message_doc_id: str, meeting_id: str, seq: int) -> None:
        await self.messages.update_one(
            {"_id": message_doc_id}, {"$set": {"seq": seq, "block": block_of(meeting_id, seq)}}
        )

    @retry_write_conflicts
    async def _mark_numbered(self) -> None:
        await self.meta.update_one({"_id": _NUMBERED}, {"$set": {"done": True}}, upsert=True)

    async def head(self, meeting_id: str) -> int:
        """The highest ``seq`` known taken in the meeting (0 for none); may lag (see above)."""
        doc = await self.heads.find_one({"_id": meeting_id})
        return int(doc["seq"]) if doc else 0

    async def insert(self, message: Message) -> Message | None:
        """Store ``message`` as the meeting's next ``seq`` and raise the head (marked
        ``behind``: its event is to be published); returns the stored message (with its
        ``seq``), or ``None`` and stores nothing when its ``message_id`` is already used in the
        meeting.

        Concurrent calls for one meeting in this process are stored together (group commit):
        ordered ``insert_many`` calls of consecutive numbers (the posts queued when one starts,
        then those queued while it ran), then one head update. Raises what
        the store raised when the outcome is unknown (the message may be stored, its head not
        raised: a retry of the post is idempotent by ``message_id`` and :meth:`cover` then
        raises the head)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Message | None] = loop.create_future()
        self._queued.setdefault(message.meeting_id, []).append(_Queued(message, waiter))
        if message.meeting_id not in self._writers:
            self._writers[message.meeting_id] = asyncio.create_task(self._write_queued(message.meeting_id))
        return await waiter

    async def _write_queued(self, meeting_id: str) -> None:
        """Store the meeting's queued posts until none is left: insert what is queued, then
        what queued meanwhile (up to ``MAX_HELD`` posts), then raise the head once for all of
        them and answer them (one head write per round instead of one per insert: on FerretDB
        1.13 a head write costs about twice what storing a message does, bench/README.md)."""
        try:
            while self._queued.get(meeting_id):
                taken: list[_Queued] = []
                answers: list[tuple[_Queued, Message | None]] = []
                try:
                    while len(taken) < MAX_HELD and (queued := self._queued.pop(meeting_id, [])):
                        batch, rest = queued[:MAX_BATCH], queued[MAX_BATCH:]
                        if rest:
                            self._queued[meeting_id] = rest + self._queued.get(meeting_id, [])
                        taken += batch
                        answers += await self._insert(meeting_id, batch)
                    stored_seqs = [m.seq for _, m in answers if m is not None]
                    if stored_seqs:
                        await self._advance_head(meeting_id, max(stored_seqs))
                except Exception as exc:  # noqa: BLE001 - handed to every waiting post
                    self._next.pop(meeting_id, None)
                    for post in taken:
                        if not post.waiter.done():
                            post.waiter.set_exception(exc)
                    continue
                for post, message in answers:
                    post.waiter.set_result(message)
        finally:
            del self._writers[meeting_id]

    async def _insert(self, meeting_id: str, batch: list[_Queued]) -> list[tuple[_Queued, Message | None]]:
        """Insert ``batch`` at consecutive numbers from the next free one, in order; returns
        each post with its stored message (``None``: a retry of a stored post). The head is
        not raised here (the caller raises it before answering the posts). Raises when the
        store does (the caller answers every post taken with it)."""
        seq = self._next.get(meeting_id) or await self.head(meeting_id) + 1
        answers: list[tuple[_Queued, Message | None]] = []
        while batch:
            stored = [post.message.model_copy(update={"seq": seq + i}) for i, post in enumerate(batch)]
            try:
                await self.messages.insert_many([_doc_of(m) for m in stored], ordered=True)
                done, error = len(stored), None
            except BulkWriteError as exc:
                # ordered: every document before the first error was inserted (its index;
                # FerretDB 1.13 answers nInserted 0 whenever there is an error)
                error = exc.details["writeErrors"][0]
                done = int(error["index"])
            answers += zip(batch[:done], stored[:done], strict=True)
            seq, batch = seq + done, batch[done:]
            self._next[meeting_id] = seq
            if error is None:
                break
            failure = OperationFailure(error.get("errmsg", "insert failed"), error.get("code"), error)
            if error.get("code") == DUPLICATE_KEY:
                if await self.get(meeting_id, batch[0].message.message_id) is not None:
                    answers.append((batch.pop(0), None))  # a retry of a stored post: nothing new
                    continue
                seq = await self._next_free(meeting_id, seq)  # taken by another replica
            elif is_write_conflict(failure):
                await asyncio.sleep(random.uniform(0.002, 0.02))  # refused, nothing stored: again
            else:
                raise failure
        return answers

    async def _next_free(self, meeting_id: str, taken: int) -> int:
        """The first free number after ``taken`` (numbers are taken without gaps, so it is one
        past the highest of the blocks from ``taken`` or the head on)."""
        seq = max(taken + 1, await self.head(meeting_id) + 1)
        while True:
            present = await self.messages.find({"block": block_of(meeting_id, seq)}, {"seq": 1}).to_list()
            highest = max((doc["seq"] for doc in present), default=0)
            if highest < seq:
                return seq
            seq = highest + 1
            if seq % BLOCK:  # the block was not full: the next number is free
                return seq

    @retry_write_conflicts
    async def _advance_head(self, meeting_id: str, seq: int) -> None:
        """Raise the head to ``seq``, marked ``behind``, unless it is already there or beyond
        (then whoever raised it marked it)."""
        raise_to = {"$set": {BEHIND: True, "seq": seq}}
        result = await self.heads.update_one({"_id": meeting_id, "seq": {"$lt": seq}}, raise_to)
        if result.matched_count:
            return
        try:
            await self.heads.insert_one({"_id": meeting_id, "seq": seq, "published": 0, BEHIND: True})
        except DuplicateKeyError:  # the head exists: at or beyond seq, or raised just now
            await self.heads.update_one({"_id": meeting_id, "seq": {"$lt": seq}}, raise_to)

    async def cover(self, message: Message) -> None:
        """Raise the head to a stored ``message`` if it is not there yet (a retried post whose
        first attempt stored the message and then failed to raise the head)."""
        if await self.head(message.meeting_id) < message.seq:
            await self._advance_head(message.meeting_id, message.seq)

    async def watermark(self, meeting_id: str) -> int:
        """The meeting's ``published`` watermark (0 for none)."""
        doc = await self.heads.find_one({"_id": meeting_id}, {"published": 1})
        return int(doc.get("published", 0)) if doc else 0

    async def lagging(self) -> list[Head]:
        """Every head marked ``behind`` (an indexed equality)."""
        docs = await self.heads.find({BEHIND: True}).to_list()
        return [Head(doc["_id"], int(doc["seq"]), int(doc.get("published", 0))) for doc in docs]

    @retry_write_conflicts
    async def mark_published(self, meeting_id: str, published: int) -> None:
        """Raise the watermark to ``published`` (every message up to it was acknowledged by
        Kafka), clearing ``behind`` when the head is not beyond it; never lowers it."""
        # $set last: FerretDB 1.13 stores an update only when its last operator changed the
        # document (parley_events.outbox.stage), and the filter makes this $set a change;
        # "not >=" also matches a head without a watermark (one a former version created)
        below = {"$not": {"$gte": published}}
        result = await self.heads.update_one(
            {"_id": meeting_id, "seq": {"$lte": published}, "published": below},
            {"$unset": {BEHIND: ""}, "$set": {"published": published}},
        )
        if not result.matched_count:  # the head is beyond (still behind) or it was raised already
            await self.heads.update_one({"_id": meeting_id, "published": below}, {"$set": {"published": published}})

    @retry_write_conflicts
    async def unmark(self, head: Head) -> None:
        """Clear ``behind`` of a head that reached its watermark (still as ``head`` says)."""
        await self.heads.update_one(
            {"_id": head.meeting_id, "seq": head.seq, "published": head.published, BEHIND: True},
            {"$unset": {BEHIND: ""}},
        )

    async def _adopt_legacy_heads(self) -> None:
        """Give every head without a watermark ``published = seq`` (see the module docstring)."""
        async for doc in self.heads.find({"published": {"$exists": False}}):
            await self._adopt(doc["_id"], int(doc["seq"]))

    @retry_write_conflicts
    async def _adopt(self, meeting_id: str, seq: int) -> None:
        await self.heads.update_one(
            {"_id": meeting_id, "published": {"$exists": False}}, {"$set": {"published": seq}}
        )

    async def get(self, meeting_id: str, message_id: str) -> Message | None:
        doc = await self.messages.find_one({"_id": doc_id(meeting_id, message_id)}, {OUTBOX_FIELD: 0})
        return _from_doc(doc) if doc else None

    async def between(self, meeting_id: str, first: int, last: int) -> list[Message]:
        """The messages with ``first <= seq <= last``, in any order (one query per block)."""
        if last < first:
            return []
        blocks = range(first // BLOCK, last // BLOCK + 1)
        # the whole block (≤ BLOCK documents) by equality alone: FerretDB 1.13 evaluates a range
        # in Go, which measured slower than handing back the few extra documents
        found = await asyncio.gather(
            *(self.messages.find({"block": f"{meeting_id}:{b}"}, {OUTBOX_FIELD: 0}).to_list() for b in blocks)
        )
        return [_from_doc(doc) for docs in found for doc in docs if first <= doc["seq"] <= last]

    async def page(self, meeting_id: str, *, limit: int, before: int | None) -> list[Message]:
        """Up to ``limit`` messages of the meeting, newest first (``seq`` descending), those
        with ``seq < before`` when ``before`` is given (a cursor: the ``seq`` of the last
        message of the previous page)."""
        if before is None:
            head = await self.head(meeting_id)
            # one more than the head: a lagging head (a post between its two writes, or a
            # crash there) shows up as message head + 1, and then the block after is read
            rows = await self.between(meeting_id, max(1, head - limit + 1), head + 1)
            if any(m.seq > head for m in rows):
                rows += await self.between(meeting_id, head + 2, (head // BLOCK + 2) * BLOCK - 1)
        else:
            rows = await self.between(meeting_id, max(1, before - limit), before - 1)
        rows.sort(key=lambda m: m.seq, reverse=True)
        rows = rows[:limit]
        return rows


def notes_id(meeting_id: str, owner_id: str) -> str:
    """The document id of one user's notes of one meeting."""
    return f"{meeting_id}:{owner_id}"


class NotesRepository:
    """Every user's notes of every meeting in ``database``."""

    def __init__(self, database: AsyncDatabase) -> None:
        self.notes: AsyncCollection = database[NOTES]

    async def get(self, meeting_id: str, owner_id: str) -> Notes | None:
        doc = await self.notes.find_one({"_id": notes_id(meeting_id, owner_id)})
        if doc is None:
            return None
        return Notes(meeting_id=doc["meeting_id"], owner_id=doc["owner_id"], text=doc["text"], updated_at=doc["updated_at"])

    @retry_write_conflicts
    async def put(self, notes: Notes) -> None:
        """Create or replace the notes of ``(notes.meeting_id, notes.owner_id)``.

        Two first saves at once both try to insert; the loser gets a duplicate-key error (as
        MongoDB may answer too) and then updates the document the winner created."""
        key = notes_id(notes.meeting_id, notes.owner_id)
        try:
            await self.notes.update_one({"_id": key}, {"$set": notes.model_dump()}, upsert=True)
        except DuplicateKeyError:
            await self.notes.update_one({"_id": key}, {"$set": notes.model_dump()})

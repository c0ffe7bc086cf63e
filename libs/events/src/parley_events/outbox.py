"""Transactional outbox: an event is written in the same single-document write as the state
change it describes, and a relay publishes it to Kafka afterwards.

Pending events ride in the aggregate's own document, in an ``outbox`` array field, and the
same write sets the document's ``outbox_pending`` marker (:func:`staged`, :func:`stage`).
MongoDB writes to one document are atomic, so the state change and its event are stored
together or not at all, without multi-document transactions (which the local Mongo-wire
server, FerretDB 1.13, lacks): a separate outbox collection would need a second write that a
crash can lose. The marker is what the relay queries (indexed; see :mod:`.relay` and
deploy/local/README.md, "The outbox"); the relay clears it with the entries it published.
"""

from collections.abc import Iterable
from typing import Any

from bson import Binary

from parley_events.envelope import OutgoingEvent, encode
from parley_events.schemas import EventData

OUTBOX_FIELD = "outbox"
#: ``True`` while the document may hold pending entries; absent once the relay cleared them.
PENDING_FIELD = "outbox_pending"


def outbox_entry(data: EventData, *, source: str) -> dict[str, Any]:
    """Encode ``data`` as an outbox entry (a BSON sub-document) to store with its aggregate.

    Store it in the aggregate's write: ``{**doc, **staged([entry])}`` on insert, or
    ``stage(update, entry)`` for the ``update_one`` of the state change.
    """
    event = encode(data, source=source)
    return {
        "id": event.id,
        "type": event.type,
        "topic": event.topic,
        "key": Binary(event.key),
        "value": Binary(event.value),
        "headers": {name: value.decode() for name, value in event.headers.items()},
    }


def staged(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The fields of a new document that stages ``entries`` (the outbox and its marker)."""
    entries = list(entries)
    return {OUTBOX_FIELD: entries, PENDING_FIELD: True} if entries else {OUTBOX_FIELD: []}


def stage(update: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """``update`` (an update document) extended to push ``entry`` and set the marker.

    ``$push`` comes last: FerretDB 1.13 stores an update only when its *last* operator
    changed the document (``{"$push": …, "$set": {"outbox_pending": true}}`` on a document
    already marked is acknowledged with ``nModified: 0`` and nothing is written), and a push
    always changes it.
    """
    result = {op: value for op, value in update.items() if op not in ("$set", "$push")}
    result["$set"] = {**update.get("$set", {}), PENDING_FIELD: True}
    result["$push"] = {**update.get("$push", {}), OUTBOX_FIELD: entry}
    return result


def outgoing(entry: dict[str, Any]) -> OutgoingEvent:
    """The event a stored outbox entry describes."""
    return OutgoingEvent(
        id=entry["id"],
        type=entry["type"],
        topic=entry["topic"],
        key=bytes(entry["key"]),
        value=bytes(entry["value"]),
        headers={name: value.encode() for name, value in entry["headers"].items()},
    )

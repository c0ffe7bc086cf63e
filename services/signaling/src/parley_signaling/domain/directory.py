"""The room directory: which socket is in which meeting room, on which replica.

python-socketio rooms live in one process. The directory is the cluster-wide view every
replica keeps, fed by the announcements on the fan-out topic (see
:mod:`parley_signaling.fanout`). It is a plain in-memory index; it does no I/O.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PeerEntry:
    """A participant in a meeting room: ``sid`` is its participant id (the sid of the socket
    that joined first; stable across resumptions), ``socket_sid`` the socket that holds it now
    (``None``: the same as ``sid``), on replica ``replica_id``. ``resumable`` participants are
    held for resumption when their socket drops (docs/signaling.md, "Resumable participants").
    ``moved``: this socket took the participant over from another socket of the same user that
    was still in the room (another window or device; docs/signaling.md, "One participant per
    user"), not by a resumption.

    A slotted dataclass, not a Pydantic model: every replica holds one per participant of the
    cluster (10,000 sockets in rooms: 10,000 entries), and a model instance weighs about 600
    bytes more. The fan-out messages that carry entries are Pydantic models, which validate
    and serialize it as a field (unknown keys ignored)."""

    sid: str
    meeting_id: str
    user_id: str
    display_name: str
    replica_id: str
    socket_sid: str | None = None
    resumable: bool = False
    moved: bool = False

    @property
    def socket(self) -> str:
        """The sid of the socket to emit to."""
        return self.socket_sid or self.sid


@dataclass
class Replacement:
    """What :meth:`RoomDirectory.replace_replica` changed: entries that disappeared."""

    removed: list[PeerEntry]


class RoomDirectory:
    """Entries by participant id, indexed by meeting and by replica. A participant is in at
    most one room."""

    def __init__(self) -> None:
        self._by_sid: dict[str, PeerEntry] = {}
        self._by_meeting: dict[str, dict[str, PeerEntry]] = defaultdict(dict)
        self._by_replica: dict[str, dict[str, PeerEntry]] = defaultdict(dict)
        #: called with each entry removed (a participant that left its room, was dropped with
        #: its replica, expired or was moved to another room by :meth:`add`), not with one
        #: replaced by a newer entry of the same participant in the same room (a resume): room
        #: state of the participant (a raised hand, a recording, the spotlight) goes with it,
        #: also when the same participant id joins again later
        self.on_removed: list[Callable[[PeerEntry], None]] = []

    def __len__(self) -> int:
        return len(self._by_sid)

    def room_count(self) -> int:
        """Meetings with at least one socket in the directory (any replica's)."""
        return len(self._by_meeting)

    def get(self, sid: str) -> PeerEntry | None:
        return self._by_sid.get(sid)

    def in_room(self, meeting_id: str, sid: str) -> PeerEntry | None:
        """The entry of participant ``sid`` if it is in ``meeting_id``'s room, else None."""
        entry = self._by_sid.get(sid)
        return entry if entry is not None and entry.meeting_id == meeting_id else None

    def add(self, entry: PeerEntry) -> None:
        """Add or replace the entry of ``entry.sid``. Moving it out of another room is a removal
        from that room (:attr:`on_removed` is called with the old entry); a replacement in the
        same room is not."""
        previous = self._detach(entry.sid)
        if previous is not None and previous.meeting_id != entry.meeting_id:
            self._removed(previous)
        self._by_sid[entry.sid] = entry
        self._by_meeting[entry.meeting_id][entry.sid] = entry
        self._by_replica[entry.replica_id][entry.sid] = entry

    def remove(self, sid: str) -> PeerEntry | None:
        """Remove and return the entry of ``sid`` (then call :attr:`on_removed`); None when
        there is none."""
        entry = self._detach(sid)
        if entry is not None:
            self._removed(entry)
        return entry

    def _removed(self, entry: PeerEntry) -> None:
        for listener in self.on_removed:
            listener(entry)

    def _detach(self, sid: str) -> PeerEntry | None:
        entry = self._by_sid.pop(sid, None)
        if entry is None:
            return None
        room = self._by_meeting.get(entry.meeting_id)
        if room is not None:
            room.pop(sid, None)
            if not room:
                del self._by_meeting[entry.meeting_id]
        replica = self._by_replica.get(entry.replica_id)
        if replica is not None:
            replica.pop(sid, None)
            if not replica:
                del self._by_replica[entry.replica_id]
        return entry

    def peers(self, meeting_id: str, *, exclude: str | None = None) -> list[PeerEntry]:
        """The entries in ``meeting_id``'s room, without ``exclude``, in insertion order."""
        room = self._by_meeting.get(meeting_id, {})
        return [entry for sid, entry in room.items() if sid != exclude]

    def entries_of(self, replica_id: str) -> list[PeerEntry]:
        """Every entry held by ``replica_id``."""
        return list(self._by_replica.get(replica_id, {}).values())

    def replicas(self) -> set[str]:
        """Replica ids that hold at least one entry."""
        return set(self._by_replica)

    def drop_replica(self, replica_id: str, *, keep_resumable: bool = False) -> list[PeerEntry]:
        """Remove and return every entry of ``replica_id`` (but its resumable ones with ``keep_resumable``)."""
        entries = [e for e in self.entries_of(replica_id) if not (keep_resumable and e.resumable)]
        for entry in entries:
            self.remove(entry.sid)
        return entries

    def replace_replica(self, replica_id: str, entries: list[PeerEntry]) -> Replacement:
        """Make ``entries`` the whole set held by ``replica_id`` (a snapshot of that replica)."""
        keep = {entry.sid for entry in entries}
        removed = [entry for entry in self.entries_of(replica_id) if entry.sid not in keep]
        for entry in removed:
            self.remove(entry.sid)
        for entry in entries:
            if entry.replica_id == replica_id:
                self.add(entry)
        return Replacement(removed=removed)

"""Room state that every replica keeps from the fan-out topic (raised hands, recordings): per
meeting, one entry per participant, in the order the topic applied them, of participants in
the room (the directory holds them). An entry is taken only for a participant in the room, and
it goes when the directory removes the participant (:attr:`RoomDirectory.on_removed`), so a
socket that leaves and joins again, with the same participant id, comes back without it; a
room with no entry left is forgotten."""

from typing import Generic, TypeVar

from parley_signaling.domain.directory import PeerEntry, RoomDirectory

E = TypeVar("E")


class RoomEntries(Generic[E]):
    """Entries by meeting, then participant id, in the order they were put."""

    def __init__(self, directory: RoomDirectory) -> None:
        self._directory = directory
        self._rooms: dict[str, dict[str, E]] = {}
        directory.on_removed.append(self._forget)

    def of(self, meeting_id: str) -> list[E]:
        """The room's entries in the order they were put."""
        return list(self._rooms.get(meeting_id, {}).values())

    def holds(self, meeting_id: str, sid: str) -> bool:
        """Whether participant ``sid`` has an entry in the room."""
        return sid in self._rooms.get(meeting_id, {})

    def put(self, meeting_id: str, sid: str, entry: E) -> bool:
        """Add ``sid``'s entry at the end; False (nothing changes) when it has one or is not in
        the room (it left before its entry was read back from the topic)."""
        if self._directory.in_room(meeting_id, sid) is None:
            return False
        room = self._rooms.setdefault(meeting_id, {})
        if sid in room:
            return False
        room[sid] = entry
        return True

    def remove(self, meeting_id: str, sid: str) -> bool:
        """Remove ``sid``'s entry; False (nothing changes) when it has none."""
        room = self._rooms.get(meeting_id)
        if room is None or sid not in room:
            return False
        del room[sid]
        if not room:
            del self._rooms[meeting_id]
        return True

    def _forget(self, entry: PeerEntry) -> None:
        self.remove(entry.meeting_id, entry.sid)

"""Room state that every replica keeps from the fan-out topic (raised hands, recordings): per
meeting, one entry per participant, in the order the topic applied them, of participants
still in the room (the directory holds them). A participant's entry goes when the directory
removes the participant (so a socket that leaves and joins again, with the same participant
id, comes back without it); rooms nobody is in any more are forgotten."""

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
        """The room's entries in the order they were put, of participants still in it."""
        room = self._rooms.get(meeting_id)
        if not room:
            return []
        present = {entry.sid for entry in self._directory.peers(meeting_id)}
        for sid in [sid for sid in room if sid not in present]:
            del room[sid]
        if not room:
            del self._rooms[meeting_id]
        return list(room.values())

    def holds(self, meeting_id: str, sid: str) -> bool:
        """Whether participant ``sid`` (still in the room) has an entry."""
        self.of(meeting_id)
        return sid in self._rooms.get(meeting_id, {})

    def put(self, meeting_id: str, sid: str, entry: E) -> bool:
        """Add ``sid``'s entry at the end; False (nothing changes) when it has one."""
        self._forget_empty_rooms()
        room = self._rooms.setdefault(meeting_id, {})
        if sid in room:
            return False
        room[sid] = entry
        return True

    def remove(self, meeting_id: str, sid: str) -> bool:
        """Remove ``sid``'s entry; False (nothing changes) when it has none."""
        self._forget_empty_rooms()
        room = self._rooms.get(meeting_id, {})
        if sid not in room:
            return False
        del room[sid]
        return True

    def _forget_empty_rooms(self) -> None:
        for meeting_id in [m for m in self._rooms if not self._directory.peers(m)]:
            del self._rooms[meeting_id]

    def _forget(self, entry: PeerEntry) -> None:
        room = self._rooms.get(entry.meeting_id)
        if room is not None and room.pop(entry.sid, None) is not None and not room:
            del self._rooms[entry.meeting_id]

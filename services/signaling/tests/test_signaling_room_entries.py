"""Unit tests of the room state kept per participant (raised hands, recordings)."""

from parley_signaling.domain.directory import PeerEntry, RoomDirectory
from parley_signaling.room_entries import RoomEntries


def entry(sid: str, meeting: str = "m1") -> PeerEntry:
    return PeerEntry(sid=sid, meeting_id=meeting, user_id=f"u-{sid}", display_name=sid, replica_id="r1")


def test_an_entry_is_taken_only_for_a_participant_in_the_room() -> None:
    directory = RoomDirectory()
    entries: RoomEntries[str] = RoomEntries(directory)
    directory.add(entry("a"))
    assert entries.put("m1", "a", "hand of a")
    assert not entries.put("m1", "a", "again")
    assert not entries.put("m1", "gone", "hand of nobody")  # not in the directory
    assert not entries.put("m2", "a", "elsewhere")  # in another room
    assert entries.of("m1") == ["hand of a"] and entries.of("m2") == []


def test_entries_go_with_the_participant() -> None:
    directory = RoomDirectory()
    entries: RoomEntries[str] = RoomEntries(directory)
    for sid in ("a", "b", "c"):
        directory.add(entry(sid))
        entries.put("m1", sid, f"hand of {sid}")
    directory.remove("a")
    directory.add(entry("b", meeting="m2"))  # moved to another room
    assert entries.of("m1") == ["hand of c"] and not entries.holds("m1", "b")
    directory.add(entry("a"))  # the same participant id joins again: without its old hand
    assert not entries.holds("m1", "a")
    assert entries.remove("m1", "c") and not entries.remove("m1", "c")
    assert entries._rooms == {}  # a room with no entry left is forgotten

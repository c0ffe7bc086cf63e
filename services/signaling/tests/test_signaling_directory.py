"""Unit tests of the replicated room directory's index."""

from dataclasses import replace

from parley_signaling.domain.directory import PeerEntry, RoomDirectory


def entry(sid: str, meeting: str = "m1", replica: str = "r1") -> PeerEntry:
    return PeerEntry(sid=sid, meeting_id=meeting, user_id=f"u-{sid}", display_name=sid, replica_id=replica)


def test_add_peers_and_remove() -> None:
    directory = RoomDirectory()
    directory.add(entry("a"))
    directory.add(entry("b", replica="r2"))
    directory.add(entry("c", meeting="m2"))
    assert [e.sid for e in directory.peers("m1")] == ["a", "b"]
    assert [e.sid for e in directory.peers("m1", exclude="a")] == ["b"]
    assert directory.remove("a") == entry("a")
    assert directory.remove("a") is None
    assert [e.sid for e in directory.peers("m1")] == ["b"]
    assert len(directory) == 2


def test_a_sid_is_in_one_room() -> None:
    directory = RoomDirectory()
    directory.add(entry("a", meeting="m1"))
    directory.add(entry("a", meeting="m2"))
    assert directory.peers("m1") == []
    assert directory.get("a") == entry("a", meeting="m2")
    assert directory.in_room("m2", "a") == entry("a", meeting="m2")
    assert directory.in_room("m1", "a") is None and directory.in_room("m2", "nobody") is None


def test_drop_replica() -> None:
    directory = RoomDirectory()
    directory.add(entry("a", replica="r1"))
    directory.add(entry("b", replica="r2"))
    directory.add(entry("c", replica="r2", meeting="m2"))
    dropped = directory.drop_replica("r2")
    assert {e.sid for e in dropped} == {"b", "c"}
    assert directory.replicas() == {"r1"}
    assert directory.peers("m2") == []


def test_replace_replica_reports_what_disappeared() -> None:
    directory = RoomDirectory()
    directory.add(entry("a", replica="r2"))
    directory.add(entry("b", replica="r2"))
    directory.add(entry("x", replica="r1"))
    replaced = directory.replace_replica("r2", [entry("b", replica="r2"), entry("c", replica="r2", meeting="m3")])
    assert [e.sid for e in replaced.removed] == ["a"]
    assert {e.sid for e in directory.entries_of("r2")} == {"b", "c"}
    assert directory.get("x") is not None
    # entries claiming another replica are not taken from a snapshot
    directory.replace_replica("r2", [entry("y", replica="r1")])
    assert directory.get("y") is None


def test_removals_are_reported_but_not_a_resume() -> None:
    directory = RoomDirectory()
    removed: list[PeerEntry] = []
    directory.on_removed.append(removed.append)
    directory.add(entry("a", meeting="m1"))
    directory.add(replace(entry("a", meeting="m1"), socket_sid="a2"))  # a resume
    assert removed == []
    directory.add(entry("a", meeting="m2"))  # moved to another room: gone from m1
    assert [(e.sid, e.meeting_id) for e in removed] == [("a", "m1")]
    directory.add(entry("b", replica="r2"))
    directory.replace_replica("r2", [entry("b", replica="r2", meeting="m3")])  # a snapshot's move
    directory.remove("a")
    assert [(e.sid, e.meeting_id) for e in removed] == [("a", "m1"), ("b", "m1"), ("a", "m2")]

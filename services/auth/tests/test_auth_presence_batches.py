"""Unit tests of the presence projection's batches (a fake store: the Kafka and FerretDB path is
tests/test_auth_contacts.py::test_presence_projection_from_kafka)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from parley_auth.contacts_repository import VersionConflict
from parley_auth.domain.presence import PresenceProjection
from parley_events import PresenceChanged, PresenceReplicaLost, PresenceSocket

T0 = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


class FakePresence:
    """MongoPresenceStore's methods over dicts; counts writes and keeps the staged events."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.lost: dict[str, datetime] = {}
        self.writes = 0
        self.reads = 0
        self.staged: list[dict[str, Any]] = []

    async def get(self, user_id: str) -> dict[str, Any] | None:
        self.reads += 1
        doc = self.docs.get(user_id)
        return None if doc is None else {**doc, "sockets": list(doc["sockets"])}

    async def write(self, user_id: str, version: int | None, fields: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        current = self.docs.get(user_id)
        if (current["version"] if current else None) != version:
            raise VersionConflict(user_id)
        self.docs[user_id] = {**fields, "version": (version or 0) + 1}
        self.writes += 1
        self.staged.extend(entries)

    async def replica_lost_at(self, replica_id: str) -> datetime | None:
        return self.lost.get(replica_id)

    async def mark_replica_lost(self, replica_id: str, lost_at: datetime) -> None:
        self.lost[replica_id] = max(lost_at, self.lost.get(replica_id, lost_at))

    async def not_offline(self) -> list[dict[str, Any]]:
        return [{"_id": user_id, **doc} for user_id, doc in self.docs.items() if doc["state"] != "offline"]


class NoContacts:
    async def of_user(self, user_id: str) -> list[dict[str, Any]]:
        return []


def socket(user: str, sid: str, state: str, seconds: float, replica: str = "r1") -> PresenceSocket:
    meeting_id = "m1" if state == "in_call" else None
    return PresenceSocket(user_id=user, sid=sid, replica_id=replica, state=state, meeting_id=meeting_id, at=T0 + timedelta(seconds=seconds))


def changes(store: FakePresence) -> list[tuple[str, str]]:
    """(user id, state) of each staged ``presence.changed``, in order."""
    found = []
    for entry in store.staged:
        assert entry["type"] == PresenceChanged.event_type
        data = json.loads(bytes(entry["value"]))["data"]
        found.append((data["user_id"], data["state"]))
    return found


async def test_a_users_records_of_one_fetch_are_one_write_in_their_order() -> None:
    store = FakePresence()
    projection = PresenceProjection(store, NoContacts())  # type: ignore[arg-type]
    burst = [socket("ada", f"s{i}", "online", i) for i in range(500)]
    burst += [socket("ada", f"s{i}", "offline", 500 + i) for i in range(499)]
    burst += [socket("ada", "s499", "in_call", 1000), socket("bob", "b1", "online", 3)]
    await projection.apply(burst)
    assert store.writes == 2  # one per user, not 1,001 rewrites of Ada's growing list
    ada = store.docs["ada"]
    assert [s["sid"] for s in ada["sockets"]] == ["s499"]
    assert ada["state"] == "in_call" and ada["last_seen"] == T0 + timedelta(seconds=1000)
    # Ada's online -> in_call within the fetch comes out as its last state
    assert changes(store) == [("ada", "in_call"), ("bob", "online")]

    await projection.apply([socket("ada", "s499", "offline", 1001)])
    assert store.docs["ada"]["sockets"] == [] and changes(store)[-1] == ("ada", "offline")


async def test_a_replica_loss_in_the_same_fetch_makes_its_earlier_records_stale() -> None:
    store = FakePresence()
    projection = PresenceProjection(store, NoContacts())  # type: ignore[arg-type]
    await projection.apply([socket("ada", "a1", "online", 0, replica="r1")])
    lost = PresenceReplicaLost(replica_id="r1", reason="silent", lost_at=T0 + timedelta(seconds=5))
    # the loss comes after the stale record in the fetch (different keys: any order)
    await projection.apply([
        socket("ada", "a2", "online", 4, replica="r1"),  # before the loss: stale
        socket("ada", "a3", "online", 6, replica="r1"),  # after it: a restarted replica's socket
        lost,
    ])
    assert [s["sid"] for s in store.docs["ada"]["sockets"]] == ["a3"]
    assert store.docs["ada"]["state"] == "online"


async def test_a_users_next_write_starts_from_the_last_one_and_reads_after_another_writer() -> None:
    store = FakePresence()
    projection = PresenceProjection(store, NoContacts())  # type: ignore[arg-type]
    await projection.apply([socket("ada", "s1", "online", 1)])
    await projection.apply([socket("ada", "s1", "in_call", 2)])
    await projection.apply([socket("ada", "s2", "online", 3)])
    assert (store.reads, store.writes) == (1, 3)  # the first fetch read the store, the others did not

    other = PresenceProjection(store, NoContacts())  # type: ignore[arg-type]  # another replica, after a rebalance
    await other.apply([socket("ada", "s1", "offline", 4)])
    await projection.apply([socket("ada", "s3", "online", 5)])  # from memory: misses, then reads
    assert [s["sid"] for s in store.docs["ada"]["sockets"]] == ["s2", "s3"]
    assert store.docs["ada"]["state"] == "online"
    assert changes(store) == [("ada", "online"), ("ada", "in_call"), ("ada", "online")]

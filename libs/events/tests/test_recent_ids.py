"""RecentIds: a process's memory of the event ids it handled last."""

from parley_events import RecentIds


def test_a_repeat_is_not_the_first_time_and_the_least_recent_id_goes_first() -> None:
    recent = RecentIds(capacity=2)
    assert recent.first_time("a") and recent.first_time("b")
    assert not recent.first_time("a")  # a repeat, and now the most recent
    recent.record("c")  # "b" is the least recent: forgotten
    assert "a" in recent and "c" in recent and "b" not in recent
    assert recent.first_time("b")

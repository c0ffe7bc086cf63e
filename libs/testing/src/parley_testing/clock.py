"""A clock that tests move by hand, for code that takes a ``clock`` callable."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class FakeClock(Generic[T]):
    """Returns ``now`` when called; a test moves it with ``clock.now += step``.

    ``now`` is whatever the code under test reads: seconds (``float``, like
    ``time.monotonic``) or a ``datetime``."""

    def __init__(self, now: T) -> None:
        self.now = now

    def __call__(self) -> T:
        return self.now

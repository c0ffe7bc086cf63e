"""FastStream's batch subscriber waits for records once per poll, not twice.

FastStream 0.7.8's ``BatchSubscriber.get_msg`` (``faststream/kafka/subscriber/usecase.py``)
asks aiokafka for records with ``consumer.getmany(timeout_ms=batch_timeout_ms)``. That call
already waits: it returns as soon as a fetch brought records, or empty once ``timeout_ms``
passed. On an empty answer FastStream then sleeps ``batch_timeout_ms`` more before it asks
again. So an idle subscriber wakes twice per period, and a record that arrives during the
sleep waits for the sleep's end: up to ``batch_timeout_ms`` between the broker's fetch
response and the handler.

Parley's feeds (:data:`parley_events.kafka.FEED_BATCHES`) are read by every replica of every
service, most of them idle most of the time: with a short period (25 ms, to bound that wait)
each idle subscriber cost 3–4 ms of CPU per second, 25–33 ms/s for a signaling replica's
eight (bench/README.md, "Idle subscribers").

:func:`install` replaces ``get_msg`` with one whose empty poll sleeps only what is left of
the period, which is nothing once ``getmany`` waited it out. It still pauses when ``getmany``
comes back empty early (``batch_timeout_ms`` 0, a consumer stopping), so the loop never spins.
A record then reaches the handler when its fetch does, whatever the period, and the period
only sets how often an idle subscriber wakes.

The override is written against FastStream's internals of the versions in ``UNFIXED`` (the
lock file pins FastStream to them). On any other version :func:`install` leaves FastStream
alone and logs a warning; ``libs/events/tests/test_batch_poll.py`` then shows whether that
version still needs it. The upstream change: docs/upstream/faststream-batch-poll.md.
"""

from __future__ import annotations

import functools
import logging
import time
from importlib.metadata import version
from itertools import chain
from typing import Any

import anyio
from faststream.kafka.subscriber.usecase import BatchSubscriber

log = logging.getLogger(__name__)

#: FastStream releases whose batch subscriber sleeps a whole period after an empty poll.
UNFIXED = frozenset({"0.7.8"})

_MARK = "_parley_batch_poll"


def _get_msg(original: Any) -> Any:
    @functools.wraps(original)
    async def get_msg(self: BatchSubscriber, consumer: Any) -> tuple[Any, ...]:
        period_s = self.batch_timeout_ms / 1000
        started = time.monotonic()
        messages = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
        if messages:
            return tuple(chain(*messages.values()))
        await anyio.sleep(max(0.0, period_s - (time.monotonic() - started)))
        return ()

    setattr(get_msg, _MARK, True)
    return get_msg


def installed() -> bool:
    """Whether FastStream's ``BatchSubscriber.get_msg`` is the override (the original stays
    reachable as its ``__wrapped__``)."""
    return getattr(BatchSubscriber.get_msg, _MARK, False)


def install() -> bool:
    """Make FastStream's batch subscribers wait once per empty poll; idempotent.

    Call it before the broker starts its subscribers (:func:`parley_events.service_router`
    does, for every service). Returns True when the override is in place (now or already), False when the
    installed FastStream is not one of ``UNFIXED`` (then it is left untouched and a warning
    logged).
    """
    if installed():
        return True
    release = version("faststream")
    if release not in UNFIXED:
        log.warning(
            "faststream %s is not one of %s: its batch subscriber's poll is left as it is "
            "(see parley_events.batch_poll)",
            release,
            ", ".join(sorted(UNFIXED)),
        )
        return False
    BatchSubscriber.get_msg = _get_msg(BatchSubscriber.get_msg)  # type: ignore[method-assign]
    return True

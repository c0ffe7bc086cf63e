"""Awaiting a condition in a test instead of sleeping a guessed time."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(probe: Callable[[], Awaitable[Any]], *, timeout_s: float = 15.0, interval_s: float = 0.1) -> Any:
    """Call ``probe`` until it returns a truthy value (returned); fail the test on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (value := await probe()):
        assert loop.time() < deadline, f"condition not met within {timeout_s}s"
        await asyncio.sleep(interval_s)
    return value

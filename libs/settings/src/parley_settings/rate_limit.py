"""A rate limit as a setting: ``N/period`` in the notation of the ``limits`` library (PyPI),
e.g. ``"20/hour"``, ``"30/10 seconds"``; anything else is refused when the settings are built."""

from typing import Annotated

from limits import parse
from pydantic import AfterValidator


def _rate_limit(value: str) -> str:
    parse(value)  # raises ValueError for anything but "N/period"
    return value


RateLimit = Annotated[str, AfterValidator(_rate_limit)]

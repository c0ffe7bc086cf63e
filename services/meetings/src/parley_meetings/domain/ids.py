"""Meeting ids: short, URL-safe and unguessable."""

import secrets
import string

_ALPHABET = string.ascii_lowercase
_GROUPS = (4, 4, 4)


def new_meeting_id() -> str:
    """A fresh id like ``abcd-efgh-ijkl``: 12 letters from ``secrets`` (about 56 bits)."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(n)) for n in _GROUPS)

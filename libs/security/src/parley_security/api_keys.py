"""Parley API keys: the secret's format, its checksum, its stored hash and the scopes.

A secret is ``parley_sk_`` followed by 49 base62 characters: 43 encode 256 random bits
(:func:`secrets.token_bytes`), the last 6 the CRC32 of those 43 (base62, zero-padded), after
GitHub's token format (github.blog, "Behind GitHub's new authentication token formats", 2021).
The fixed prefix lets secret scanners find a leaked key with one regular expression
(:data:`SECRET_PATTERN`), and the checksum lets them, and us, tell a real-looking key from a
typo without a lookup.

Only :func:`secret_hash` (SHA-256, hex) of a secret is stored, by auth and by the services
that learn keys from its events. A slow password hash (argon2id, what passwords get) buys
nothing here: it exists to make guessing a *low-entropy* secret expensive, and a 256-bit
random secret cannot be guessed at any speed; it would instead cost tens of milliseconds and
megabytes of memory on every API request, a denial-of-service lever, and forbid looking a key
up by its hash. A plain digest of a uniformly random secret is what GitHub, Stripe and
PyPI-style tokens use.
"""

import hashlib
import re
import secrets
import zlib
from typing import Literal, get_args

#: The scopes a key may hold. ``meetings:read``: read meetings (get, list, invitation,
#: roster, membership); ``meetings:write``: create, schedule, reschedule, cancel, join, end;
#: ``webhooks:manage``: the webhook endpoints of the key's owner.
Scope = Literal["meetings:read", "meetings:write", "webhooks:manage"]
SCOPES: tuple[str, ...] = get_args(Scope)

PREFIX = "parley_sk_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LENGTH = 43  # ceil(256 / log2(62))
_CHECKSUM_LENGTH = 6  # ceil(32 / log2(62))
#: What a secret scanner looks for (and what :func:`is_well_formed` accepts).
SECRET_PATTERN = re.compile(rf"{PREFIX}[0-9A-Za-z]{{{_BODY_LENGTH + _CHECKSUM_LENGTH}}}")
#: How many characters of a secret are shown back in lists, to tell keys apart (never enough
#: to use one: the prefix and 4 characters of the random part).
SHOWN_LENGTH = len(PREFIX) + 4


def _base62(number: int, length: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits)).rjust(length, "0")


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), _CHECKSUM_LENGTH)


def new_secret() -> str:
    """A new secret: ``parley_sk_`` + 43 base62 characters of 256 random bits + 6 of checksum."""
    body = _base62(int.from_bytes(secrets.token_bytes(32), "big"), _BODY_LENGTH)
    return f"{PREFIX}{body}{_checksum(body)}"


def is_well_formed(secret: str) -> bool:
    """True when ``secret`` has the prefix, the length, the alphabet and a matching checksum."""
    if not SECRET_PATTERN.fullmatch(secret):
        return False
    body = secret[len(PREFIX) : len(PREFIX) + _BODY_LENGTH]
    return secrets.compare_digest(secret[-_CHECKSUM_LENGTH:], _checksum(body))


def secret_hash(secret: str) -> str:
    """The stored form of a secret: its SHA-256, 64 hex characters."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def shown(secret: str) -> str:
    """The part of a secret lists show: ``parley_sk_`` and 4 characters (e.g. ``parley_sk_7QxA``)."""
    return secret[:SHOWN_LENGTH]

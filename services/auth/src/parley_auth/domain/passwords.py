"""Password hashing with argon2id (RFC 9106) through argon2-cffi, off the event loop.

argon2-cffi's :class:`~argon2.PasswordHasher` defaults are RFC 9106's second recommended
(low-memory) profile: argon2id, t=3, m=64 MiB, p=4. Hashing takes tens of milliseconds of CPU,
so it runs in a worker thread (``asyncio.to_thread``) and never blocks the event loop.
"""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: Minimum and maximum password length, in characters.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


class Passwords:
    """Hashes and verifies passwords; ``hasher`` defaults to argon2id with RFC 9106 parameters."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The PHC-format argon2id hash of ``password`` (``$argon2id$v=19$...``)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches ``password_hash``; False otherwise (never raises)."""

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, for an unknown account (no timing oracle)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("parley-dummy-password")
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when ``password_hash`` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

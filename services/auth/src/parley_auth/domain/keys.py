"""The Ed25519 signing key of access tokens, the other published keys, and the JWKS
(RFC 8037, RFC 7517).

The key id (``kid``) is the key's JWK thumbprint (RFC 7638, SHA-256), so every replica that
loads the same PEM file announces the same ``kid`` and a new key gets a new one.

Key rotation (docs/operations.md, "Rotating the token signing key"). Auth signs with one key
and *publishes* a :class:`KeySet`: the signing key plus the keys of
``PARLEY_JWT_PUBLISHED_KEY_FILES`` — the *next* key, published before any replica signs with
it, and the *previous* one, published until the last token it signed has expired. Auth (and
every verifier, through the JWKS) accepts a token signed by any key of the set.
"""

import base64
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PublicKey:
    """An Ed25519 public key with its JWK and ``kid``: a published key that does not sign."""

    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self.public_key = public_key
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._x = _b64url(raw)
        # RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"))
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())

    def public_jwk(self) -> dict[str, str]:
        """``{kty: OKP, crv: Ed25519, x, kid, alg: EdDSA, use: sig}``."""
        return {"kty": "OKP", "crv": "Ed25519", "x": self._x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}


class SigningKey:
    """An Ed25519 private key with its public JWK and ``kid``."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public = PublicKey(private_key.public_key())
        self.public_key: Ed25519PublicKey = self.public.public_key
        self.kid = self.public.kid

    def public_jwk(self) -> dict[str, str]:
        """``{kty: OKP, crv: Ed25519, x, kid, alg: EdDSA, use: sig}``; never the private part."""
        return self.public.public_jwk()

    def jwks(self) -> dict[str, Any]:
        """The JWK Set document (RFC 7517 §5): ``{"keys": [public JWK]}``."""
        return {"keys": [self.public_jwk()]}


class KeySet:
    """The key that signs, and every key published and accepted: the signing key first, then
    the others (the next and the previous key during a rotation), without duplicates."""

    def __init__(self, signing: SigningKey, published: Iterable[PublicKey] = ()) -> None:
        self.signing = signing
        self._accepted: dict[str, Ed25519PublicKey] = {signing.kid: signing.public_key}
        self._jwks = [signing.public_jwk()]
        for key in published:
            if key.kid not in self._accepted:
                self._accepted[key.kid] = key.public_key
                self._jwks.append(key.public_jwk())

    @property
    def kids(self) -> list[str]:
        """The ``kid`` of every published key, the signing key's first."""
        return list(self._accepted)

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The published key ``kid``, or None."""
        return self._accepted.get(kid)

    def jwks(self) -> dict[str, Any]:
        """The JWK Set document (RFC 7517 §5) of every published key."""
        return {"keys": list(self._jwks)}


def parse_signing_key(pem: bytes) -> SigningKey:
    """Parse an unencrypted PEM private key; raises ``ValueError`` unless it is Ed25519."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the signing key must be Ed25519, not {type(key).__name__}")
    return SigningKey(key)


def parse_public_key(pem: bytes) -> PublicKey:
    """A published key from a PEM file holding either the private key or only its public key
    (SubjectPublicKeyInfo); raises ``ValueError`` unless Ed25519."""
    if b"PRIVATE KEY" in pem:
        return PublicKey(parse_signing_key(pem).public_key)
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"a published key must be Ed25519, not {type(key).__name__}")
    return PublicKey(key)


def load_key_set(signing_file: Path, published_files: Iterable[Path], *, generate_if_missing: bool) -> KeySet:
    """The signing key of ``signing_file`` (see :func:`load_signing_key`) and the published
    keys of ``published_files`` (private or public PEM; each must exist)."""
    signing = load_signing_key(signing_file, generate_if_missing=generate_if_missing)
    return KeySet(signing, [parse_public_key(path.read_bytes()) for path in published_files])


def generate_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_signing_key(path: Path, *, generate_if_missing: bool) -> SigningKey:
    """Load the key at ``path``.

    When the file is missing and ``generate_if_missing`` (local development only), a new key
    is written there first (mode 0600; if another process wrote it meanwhile, that one is
    used). Raises ``FileNotFoundError`` when missing otherwise, ``ValueError`` when not Ed25519.
    """
    if not path.is_file():
        if not generate_if_missing:
            raise FileNotFoundError(f"signing key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as file:
                file.write(generate_pem())
            log.warning("generated a new Ed25519 signing key at %s (local development only)", path)
    return parse_signing_key(path.read_bytes())

"""The Ed25519 signing key of access tokens and its public JWKS (RFC 8037, RFC 7517).

The key id (``kid``) is the key's JWK thumbprint (RFC 7638, SHA-256), so every replica that
loads the same PEM file announces the same ``kid`` and a new key gets a new one.
"""

import base64
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    """An Ed25519 private key with its public JWK and ``kid``."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._x = _b64url(raw)
        # RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"))
        self.kid = _b64url(hashlib.sha256(canonical.encode()).digest())

    def public_jwk(self) -> dict[str, str]:
        """``{kty: OKP, crv: Ed25519, x, kid, alg: EdDSA, use: sig}``; never the private part."""
        return {"kty": "OKP", "crv": "Ed25519", "x": self._x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        """The JWK Set document (RFC 7517 §5): ``{"keys": [public JWK]}``."""
        return {"keys": [self.public_jwk()]}


def parse_signing_key(pem: bytes) -> SigningKey:
    """Parse an unencrypted PEM private key; raises ``ValueError`` unless it is Ed25519."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"the signing key must be Ed25519, not {type(key).__name__}")
    return SigningKey(key)


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

"""Per-stack generated secrets, created once and kept under ``.stack/<name>/secrets/``.

Local development only: every value is random and never leaves the stack directory.
"""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from pathlib import Path

from layout import Stack


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def turn_secret_file(stack: Stack) -> Path:
    return stack.secrets / "turn-secret"


def jwt_key_file(stack: Stack) -> Path:
    return stack.secrets / "jwt-ed25519.pem"


def kafka_cluster_id_file(stack: Stack) -> Path:
    return stack.secrets / "kafka-cluster-id"


def ensure(stack: Stack) -> None:
    """Generate whatever secret of the stack does not exist yet."""
    if not turn_secret_file(stack).exists():
        _write_private(turn_secret_file(stack), secrets.token_hex(32).encode())
    if not jwt_key_file(stack).exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        )
        _write_private(jwt_key_file(stack), pem)
    cluster_id = kafka_cluster_id_file(stack)
    if cluster_id.exists() and cluster_id.read_text().startswith("-"):
        cluster_id.unlink()  # made before this rule: Kafka never formatted its storage with it
    if not cluster_id.exists():
        _write_private(cluster_id, new_kafka_cluster_id().encode())


def new_kafka_cluster_id() -> str:
    """A random Kafka cluster id: a UUID in unpadded base64url, as ``kafka-storage random-uuid``
    prints it, and like Kafka's ``Uuid.randomUuid`` never starting with "-" (the storage tool
    reads such an id as an option and refuses it: about one stack in 64 never started)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def turn_secret(stack: Stack) -> str:
    return turn_secret_file(stack).read_text().strip()


def kafka_cluster_id(stack: Stack) -> str:
    return kafka_cluster_id_file(stack).read_text().strip()

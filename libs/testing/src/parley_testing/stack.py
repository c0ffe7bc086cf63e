"""The test stack that ``./taskw test`` started, described by ``$PARLEY_STACK_FILE``."""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Stack:
    """Addresses of a running stack (see deploy/local/stack.py for the file's writer)."""

    raw: dict[str, Any]

    @property
    def kafka_bootstrap_servers(self) -> str:
        return self.raw["kafka_bootstrap_servers"]

    @property
    def mongo_uri(self) -> str:
        return self.raw["mongo_uri"]

    @property
    def base_url(self) -> str:
        """Traefik's public entry point, e.g. ``http://127.0.0.1:28000``."""
        return self.raw["base_url"]

    def service_url(self, name: str) -> str:
        """The own port of service ``name`` (``auth``) or of one replica (``auth-2``): a name
        that runs as replicas answers with its first, e.g. ``http://127.0.0.1:28010``."""
        services = self.raw["services"]
        return (services.get(name) or services[f"{name}-1"])["url"]


def load_stack() -> Stack:
    """Read ``$PARLEY_STACK_FILE``; raises ``RuntimeError`` naming what is missing."""
    path = os.environ.get("PARLEY_STACK_FILE")
    if not path:
        raise RuntimeError(
            "PARLEY_STACK_FILE is not set: integration tests need the test stack; run ./taskw test"
        )
    file = Path(path)
    if not file.is_file():
        raise RuntimeError(f"PARLEY_STACK_FILE={path} does not exist: is the test stack running?")
    return Stack(json.loads(file.read_text()))

"""Signing as the Standard Webhooks specification says, with its reference implementation
(``standardwebhooks`` on PyPI, docs/webhooks.md "Verifying a signature").

Each request carries ``webhook-id`` (the delivery id, the same in every attempt),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,`` + base64 of HMAC-SHA256 over ``{id}.{timestamp}.{body}`` with the endpoint's secret,
the base64 after ``whsec_``).
"""

import base64
import secrets
from datetime import UTC, datetime
from math import floor

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(secret: str, delivery_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers of ``body`` sent at ``at`` (UTC)."""
    at = at.astimezone(UTC)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery_id, at, body),
    }

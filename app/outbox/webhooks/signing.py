"""Standard Webhooks signing (https://www.standardwebhooks.com/).

Receivers verify with `standardwebhooks.Webhook(secret).verify(body, headers)`.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import secrets as _secrets
from collections.abc import Sequence

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
SECRET_BYTES = 32


def generate_secret() -> str:
    """A new endpoint secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign_headers(
    *, msg_id: str, body: bytes, secrets: Sequence[str], timestamp: dt.datetime
) -> dict[str, str]:
    """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for one attempt.

    `timestamp` is the real sending time of this attempt (receivers refuse timestamps more than
    5 minutes away from their clock), so sign again at every retry. One `v1,<sig>` per secret:
    during a rotation both the old and the new secret sign, and the receiver accepts either.
    """
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    # Whole seconds in UTC: Webhook.sign() does `replace(tzinfo=utc)`, which would shift a
    # non-UTC aware datetime by its offset, so hand it a UTC one.
    unix_seconds = math.floor(timestamp.timestamp())
    signed_at = dt.datetime.fromtimestamp(unix_seconds, tz=dt.UTC)
    # Standard Webhooks signs the body as text; our bodies are UTF-8 JSON (strict: a body that
    # is not UTF-8 could not be verified by the receiver either).
    payload = body.decode("utf-8")
    signatures = [Webhook(secret).sign(msg_id, signed_at, payload) for secret in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(unix_seconds),
        "webhook-signature": " ".join(signatures),
    }

"""Signing secrets and signatures, as the Standard Webhooks specification defines them (the `standardwebhooks`
reference implementation signs).

A secret is `whsec_` + base64 of 24 random bytes (Svix's size: no padding, so every verifier reads it). It is
shown once, when made, and kept sealed to its row. A message carries one `v1,` signature per secret that still
signs, space-separated (spec s"Signature scheme": receivers accept any one of them), so a rotation never breaks a
receiver that has either secret.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from math import floor

from standardwebhooks import Webhook

from obank.crypto import KeyRing, seal, unseal

SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix Standard Webhooks gives secrets)
SECRET_BYTES = 24
_PURPOSE = "notifications.webhook_secrets.secret"


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def shown(secret: bytes) -> str:
    """The secret as integrators configure it: `whsec_` + base64."""
    return SECRET_PREFIX + base64.b64encode(secret).decode("ascii")


def seal_secret(keyring: KeyRing, secret_id: uuid.UUID, secret: bytes) -> bytes:
    return seal(keyring, secret_id, _PURPOSE, secret)


def unseal_secret(keyring: KeyRing, secret_id: uuid.UUID, sealed: bytes) -> bytes:
    return unseal(keyring, secret_id, _PURPOSE, sealed)


def signed_headers(
    webhook_id: str, body: str, signers: Sequence[Webhook], at: datetime | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: its id, the attempt's time, a signature per secret."""
    timestamp = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": " ".join(signer.sign(webhook_id, timestamp, body) for signer in signers),
    }

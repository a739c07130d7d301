"""Personal data at rest: each field sealed to its customer and field name, the email found by keyed hash."""

from __future__ import annotations

from obank.crypto import KeyRing, lookup_hashes

EMAIL_HASH_PURPOSE = "customer-email"


def normalise_email(email: str) -> str:
    """The form an email is looked up by: trimmed and lower-cased."""
    return email.strip().lower()


def email_hashes(keyring: KeyRing, email: str) -> list[bytes]:
    """The email's keyed hash under every key held, so lookups survive key rotation."""
    return lookup_hashes(keyring, EMAIL_HASH_PURPOSE, normalise_email(email).encode())


def email_hash(keyring: KeyRing, email: str) -> bytes:
    """The keyed hash stored for a new customer (active key)."""
    return keyring.keyed_hash(EMAIL_HASH_PURPOSE, normalise_email(email).encode())

"""Personal data at rest: each field sealed to its customer and field name, the email and name found by keyed hash."""

from __future__ import annotations

import unicodedata

from obank.crypto import KeyRing, lookup_hashes

EMAIL_HASH_PURPOSE = "customer-email"
NAME_HASH_PURPOSE = "customer-full-name"


def normalise_email(email: str) -> str:
    """The form an email is looked up by: trimmed and lower-cased."""
    return email.strip().lower()


def email_hashes(keyring: KeyRing, email: str) -> list[bytes]:
    """The email's keyed hash under every key held, so lookups survive key rotation."""
    return lookup_hashes(keyring, EMAIL_HASH_PURPOSE, normalise_email(email).encode())


def email_hash(keyring: KeyRing, email: str) -> bytes:
    """The keyed hash stored for a new customer (active key)."""
    return keyring.keyed_hash(EMAIL_HASH_PURPOSE, normalise_email(email).encode())


def normalise_name(name: str) -> str:
    """The form a name is looked up by: Unicode NFKC, case-folded, runs of whitespace as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def name_hashes(keyring: KeyRing, name: str) -> list[bytes]:
    """The name's keyed hash under every key held (staff search by exact name, whatever its case and spacing)."""
    return lookup_hashes(keyring, NAME_HASH_PURPOSE, normalise_name(name).encode())


def name_hash(keyring: KeyRing, name: str) -> bytes:
    """The keyed hash stored with a customer's name (active key)."""
    return keyring.keyed_hash(NAME_HASH_PURPOSE, normalise_name(name).encode())

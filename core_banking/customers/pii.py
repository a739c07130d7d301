"""Column-level protection of personal data: one envelope per field, bound to its customer and field name."""

from __future__ import annotations

import uuid

from obank.crypto import Envelope, KeyRing

EMAIL_HASH_PURPOSE = "customer-email"
_FORMAT_VERSION = 1
_NONCE_LENGTH = 12


def _associated_data(customer_id: uuid.UUID, field: str) -> bytes:
    # Binding the ciphertext to its row and column: a sealed value copied elsewhere does not open.
    return customer_id.bytes + field.encode()


def seal(keyring: KeyRing, customer_id: uuid.UUID, field: str, value: str) -> bytes:
    """Encrypt one field as `version | key id | wrapped data key | nonce | ciphertext`."""
    envelope = keyring.encrypt(value.encode(), associated_data=_associated_data(customer_id, field))
    key_id = envelope.key_id.encode()
    return (
        bytes([_FORMAT_VERSION, len(key_id)])
        + key_id
        + bytes([len(envelope.wrapped_key)])
        + envelope.wrapped_key
        + envelope.nonce
        + envelope.ciphertext
    )


def unseal(keyring: KeyRing, customer_id: uuid.UUID, field: str, sealed: bytes) -> str:
    """Open a field sealed by `seal` for the same customer and field."""
    if not sealed or sealed[0] != _FORMAT_VERSION:
        raise ValueError("unknown sealed-field format")
    key_id_end = 2 + sealed[1]
    key_id = sealed[2:key_id_end].decode()
    wrapped_end = key_id_end + 1 + sealed[key_id_end]
    wrapped_key = sealed[key_id_end + 1 : wrapped_end]
    nonce = sealed[wrapped_end : wrapped_end + _NONCE_LENGTH]
    ciphertext = sealed[wrapped_end + _NONCE_LENGTH :]
    envelope = Envelope(key_id, wrapped_key, nonce, ciphertext)
    return keyring.decrypt(envelope, associated_data=_associated_data(customer_id, field)).decode()


def normalise_email(email: str) -> str:
    """The form an email is looked up by: trimmed and lower-cased."""
    return email.strip().lower()


def email_hashes(keyring: KeyRing, email: str) -> list[bytes]:
    """The email's keyed hash under every key held, so lookups survive key rotation."""
    value = normalise_email(email).encode()
    return [keyring.keyed_hash(EMAIL_HASH_PURPOSE, value, key_id=key_id) for key_id in keyring.key_ids]


def email_hash(keyring: KeyRing, email: str) -> bytes:
    """The keyed hash stored for a new customer (active key)."""
    return keyring.keyed_hash(EMAIL_HASH_PURPOSE, normalise_email(email).encode())

"""Secrets at rest: one AES-256-GCM envelope per value, bound to its owner and purpose."""

from __future__ import annotations

import uuid

from obank.crypto import Envelope, KeyRing

_FORMAT_VERSION = 1
_NONCE_LENGTH = 12


def _associated_data(owner_id: uuid.UUID, purpose: str) -> bytes:
    # A sealed value copied to another row or column does not open there.
    return owner_id.bytes + purpose.encode()


def seal(keyring: KeyRing, owner_id: uuid.UUID, purpose: str, value: bytes) -> bytes:
    """Encrypt as `version | key id | wrapped data key | nonce | ciphertext`."""
    envelope = keyring.encrypt(value, associated_data=_associated_data(owner_id, purpose))
    key_id = envelope.key_id.encode()
    return (
        bytes([_FORMAT_VERSION, len(key_id)])
        + key_id
        + bytes([len(envelope.wrapped_key)])
        + envelope.wrapped_key
        + envelope.nonce
        + envelope.ciphertext
    )


def unseal(keyring: KeyRing, owner_id: uuid.UUID, purpose: str, sealed: bytes) -> bytes:
    """Open a value sealed by `seal` for the same owner and purpose."""
    if not sealed or sealed[0] != _FORMAT_VERSION:
        raise ValueError("unknown sealed-value format")
    key_id_end = 2 + sealed[1]
    key_id = sealed[2:key_id_end].decode()
    wrapped_end = key_id_end + 1 + sealed[key_id_end]
    envelope = Envelope(
        key_id,
        sealed[key_id_end + 1 : wrapped_end],
        sealed[wrapped_end : wrapped_end + _NONCE_LENGTH],
        sealed[wrapped_end + _NONCE_LENGTH :],
    )
    return keyring.decrypt(envelope, associated_data=_associated_data(owner_id, purpose))


def lookup_hashes(keyring: KeyRing, purpose: str, value: bytes) -> list[bytes]:
    """The value's keyed hash under every key held, so lookups survive key rotation."""
    return [keyring.keyed_hash(purpose, value, key_id=key_id) for key_id in keyring.key_ids]

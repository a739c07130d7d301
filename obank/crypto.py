"""Envelope encryption (AES-256-GCM data keys wrapped by rotating key-encryption keys), sealed values, keyed hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from obank.settings import Settings, parse_key_map

DEV_KEYS_FILE = "dev-keys.json"
_SEALED_FORMAT_VERSION = 1
_NONCE_LENGTH = 12


class UnknownKeyError(KeyError):
    """A ciphertext or MAC names a key id this process does not hold."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A ciphertext with its wrapped data key and the id of the key-encryption key that wrapped it."""

    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes


class KeyRing:
    """Key-encryption keys by id; the active one protects new data, the others still open old data."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} is not among the keys")
        self._keys = dict(keys)
        self.active_key_id = active_key_id
        # Subkeys by (purpose, key id): HKDF is deterministic, and every envelope, MAC and keyed hash needs one.
        self._subkeys: dict[tuple[str, str], bytes] = {}

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def _root(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownKeyError(key_id) from None

    def derive(self, purpose: str, key_id: str | None = None) -> bytes:
        """A 32-byte subkey for one purpose, so one root key never serves two uses (HKDF, RFC 5869); derived once."""
        cache_key = (purpose, key_id or self.active_key_id)
        subkey = self._subkeys.get(cache_key)
        if subkey is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"obank:{purpose}".encode())
            subkey = self._subkeys[cache_key] = hkdf.derive(self._root(cache_key[1]))
        return subkey

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> Envelope:
        """Encrypt under a fresh AES-256-GCM data key, wrapped (RFC 3394) by the active key."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated_data)
        kek = self.derive("envelope-kek")
        return Envelope(self.active_key_id, aes_key_wrap(kek, data_key), nonce, ciphertext)

    def decrypt(self, envelope: Envelope, associated_data: bytes = b"") -> bytes:
        """Unwrap the data key with the key that wrapped it and open the ciphertext."""
        kek = self.derive("envelope-kek", envelope.key_id)
        data_key = aes_key_unwrap(kek, envelope.wrapped_key)
        return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, associated_data)

    def keyed_hash(self, purpose: str, value: bytes, key_id: str | None = None) -> bytes:
        """HMAC-SHA256 under the purpose's subkey: lookups and pseudonyms that reveal nothing alone."""
        return hmac.new(self.derive(purpose, key_id), value, hashlib.sha256).digest()


def _bound_to(owner_id: uuid.UUID, purpose: str) -> bytes:
    # A sealed value copied to another row or column does not open there.
    return owner_id.bytes + purpose.encode()


def seal(keyring: KeyRing, owner_id: uuid.UUID, purpose: str, value: bytes) -> bytes:
    """Encrypt a value at rest as `version | key id | wrapped data key | nonce | ciphertext`, bound to its owner."""
    envelope = keyring.encrypt(value, associated_data=_bound_to(owner_id, purpose))
    key_id = envelope.key_id.encode()
    return (
        bytes([_SEALED_FORMAT_VERSION, len(key_id)])
        + key_id
        + bytes([len(envelope.wrapped_key)])
        + envelope.wrapped_key
        + envelope.nonce
        + envelope.ciphertext
    )


def unseal(keyring: KeyRing, owner_id: uuid.UUID, purpose: str, sealed: bytes) -> bytes:
    """Open a value sealed by `seal` for the same owner and purpose."""
    if not sealed or sealed[0] != _SEALED_FORMAT_VERSION:
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
    return keyring.decrypt(envelope, associated_data=_bound_to(owner_id, purpose))


def lookup_hashes(keyring: KeyRing, purpose: str, value: bytes) -> list[bytes]:
    """The value's keyed hash under every key held, so lookups survive key rotation."""
    return [keyring.keyed_hash(purpose, value, key_id=key_id) for key_id in keyring.key_ids]


def generate_key() -> bytes:
    """A new random 256-bit key."""
    return secrets.token_bytes(32)


def load_keyring(settings: Settings) -> KeyRing:
    """The configured key ring; outside production, development keys generated into the data directory."""
    if settings.encryption_keys:
        keys = parse_key_map(settings.encryption_keys)
        active = settings.active_encryption_key_id or sorted(keys)[-1]
        return KeyRing(keys, active)
    if settings.is_production:
        raise RuntimeError("OBANK_ENCRYPTION_KEYS is required in production")
    return _development_keyring(settings.data_dir / DEV_KEYS_FILE)


def _development_keyring(path: Path) -> KeyRing:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key_id = "dev-1"
        content = {"active": key_id, "keys": {key_id: base64.b64encode(generate_key()).decode()}}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(content, handle)
    content = json.loads(path.read_text())
    keys = parse_key_map(json.dumps(content["keys"]))
    return KeyRing(keys, str(content["active"]))

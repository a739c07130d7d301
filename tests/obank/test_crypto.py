"""Envelope encryption and keyed hashes under rotating keys."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from obank.crypto import KeyRing, UnknownKeyError, load_keyring, seal, unseal
from obank.settings import Settings

OLD, NEW = b"\x11" * 32, b"\x22" * 32
OWNER = uuid.UUID("00000000-0000-4000-8000-000000000001")
# Sealed before the two contexts' copies of the format were folded into one: rows at rest must still open.
SEALED_AT_REST = bytes.fromhex(
    "01026b312842a82f977f6c811c44f2236bd6632b8b38b722c1890af9380a3c666bf1c7527db941873f55f6d593c0ab6725aad8f50489"
    "3a7cf8f84f6ffbc327520dfe260b14520b41c5efda63e989"
)


def test_encrypts_under_the_active_key_and_opens_old_data_after_rotation() -> None:
    before = KeyRing({"k1": OLD}, "k1")
    sealed = before.encrypt(b"balance 100", b"record-1")
    assert b"balance" not in sealed.ciphertext and sealed.key_id == "k1"
    after = KeyRing({"k1": OLD, "k2": NEW}, "k2")
    assert after.decrypt(sealed, b"record-1") == b"balance 100"
    assert after.encrypt(b"x").key_id == "k2"


def test_tampering_wrong_context_or_missing_key_fails() -> None:
    ring = KeyRing({"k1": OLD}, "k1")
    sealed = ring.encrypt(b"secret", b"record-1")
    with pytest.raises(InvalidTag):
        ring.decrypt(sealed, b"record-2")
    with pytest.raises(UnknownKeyError):
        KeyRing({"k2": NEW}, "k2").decrypt(sealed, b"record-1")


def test_sealed_values_keep_their_format_and_open_only_for_their_owner_and_purpose() -> None:
    ring = KeyRing({"k1": OLD, "k2": NEW}, "k2")
    assert unseal(ring, OWNER, "username", SEALED_AT_REST) == b"carol"
    sealed = seal(ring, OWNER, "username", b"carol")
    assert sealed[:4] == b"\x01\x02k2" and b"carol" not in sealed
    assert unseal(ring, OWNER, "username", sealed) == b"carol"
    with pytest.raises(InvalidTag):
        unseal(ring, uuid.uuid4(), "username", sealed)
    with pytest.raises(InvalidTag):
        unseal(ring, OWNER, "email", sealed)


def test_keyed_hash_depends_on_purpose_and_key() -> None:
    ring = KeyRing({"k1": OLD}, "k1")
    assert ring.keyed_hash("ip", b"10.0.0.1") == ring.keyed_hash("ip", b"10.0.0.1")
    assert ring.keyed_hash("ip", b"10.0.0.1") != ring.keyed_hash("email", b"10.0.0.1")
    assert ring.keyed_hash("ip", b"10.0.0.1") != KeyRing({"k1": NEW}, "k1").keyed_hash("ip", b"10.0.0.1")


def test_development_keys_are_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path)
    first = load_keyring(settings)
    again = load_keyring(settings)
    assert first.keyed_hash("x", b"1") == again.keyed_hash("x", b"1")
    key_file = tmp_path / "dev-keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["active"] == first.active_key_id


def test_subkeys_are_derived_once_per_purpose_and_key_and_stay_hkdf() -> None:
    ring = KeyRing({"k1": OLD, "k2": NEW}, "k2")
    first = ring.derive("envelope-kek")
    assert ring.derive("envelope-kek") is first  # cached: every envelope and MAC needs one
    assert ring.derive("envelope-kek", "k2") is first
    assert len({first, ring.derive("audit-chain"), ring.derive("envelope-kek", "k1")}) == 3
    assert first == KeyRing({"k2": NEW}, "k2").derive("envelope-kek")  # what a fresh ring derives

"""decrypt_record: before/after are unreadable in the database and open only with the right keys."""

from __future__ import annotations

import uuid

import pytest

from audit import decrypt_record
from audit.errors import AuditRecordNotFound, AuditRecordUnreadable
from audit.schemas import AppendedRecord
from obank.crypto import KeyRing
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import parse_key_map
from tests.audit.conftest import append_committed, fetch, make_entry, tamper, verify

BEFORE = {"holder": "Wilhelmina Plaintext", "balance_minor": 918273645, "currency": "GBP"}
AFTER = {"holder": "Wilhelmina Plaintext", "status": "frozen-by-investigator"}


async def open_record(platform: Platform, keyring: KeyRing, record_id: uuid.UUID) -> tuple[object, object]:
    async with unit_of_work(platform.sessions) as session:
        changes = await decrypt_record(session, keyring, record_id)
    assert changes.record_id == record_id
    return changes.before, changes.after


def rotated(platform: Platform, active: str) -> KeyRing:
    return KeyRing(parse_key_map(platform.settings.encryption_keys or ""), active)


async def test_before_and_after_are_ciphertext_at_rest(platform: Platform) -> None:
    appended = await append_committed(platform, make_entry(1, before=BEFORE, after=AFTER))

    row_text, ciphertext = fetch(
        platform.database_url,
        "SELECT r::text, changes_ciphertext FROM audit.audit_records r WHERE record_id = %s",
        appended.record_id,
    )[0]
    for secret in ("Wilhelmina Plaintext", "918273645", "frozen-by-investigator"):
        assert secret not in row_text
        assert secret.encode() not in bytes(ciphertext)
        assert secret.encode().hex() not in row_text
    assert await open_record(platform, platform.keyring, appended.record_id) == (BEFORE, AFTER)


async def test_another_key_ring_cannot_decrypt(platform: Platform) -> None:
    appended = await append_committed(platform, make_entry(1, before=BEFORE, after=AFTER))
    impostor = KeyRing({"test-1": b"\x07" * 32}, "test-1")
    stranger = KeyRing({"other": b"\x01" * 32}, "other")

    with pytest.raises(AuditRecordUnreadable, match="wrong key"):
        await open_record(platform, impostor, appended.record_id)
    with pytest.raises(AuditRecordUnreadable, match="not in the key ring"):
        await open_record(platform, stranger, appended.record_id)


async def test_absent_values_decrypt_to_none(platform: Platform) -> None:
    appended = await append_committed(platform, make_entry(1, before=None, after={"status": "open"}))

    assert await open_record(platform, platform.keyring, appended.record_id) == (None, {"status": "open"})


async def test_unknown_record_is_not_found(platform: Platform) -> None:
    with pytest.raises(AuditRecordNotFound):
        await open_record(platform, platform.keyring, uuid.uuid4())


async def test_ciphertext_moved_to_another_record_does_not_open(platform: Platform) -> None:
    first = await append_committed(platform, make_entry(1))
    second = await append_committed(platform, make_entry(2))
    tamper(
        platform.database_url,
        "UPDATE audit.audit_records a SET (changes_key_id, changes_wrapped_key, changes_nonce, "
        "changes_ciphertext) = (SELECT b.changes_key_id, b.changes_wrapped_key, b.changes_nonce, "
        "b.changes_ciphertext FROM audit.audit_records b WHERE b.sequence = 3 - a.sequence)",
    )

    for appended in (first, second):
        with pytest.raises(AuditRecordUnreadable):
            await open_record(platform, platform.keyring, appended.record_id)


async def test_records_under_rotated_keys_all_verify_and_decrypt(platform: Platform) -> None:
    before_rotation, after_rotation = rotated(platform, "test-1"), rotated(platform, "test-2")
    written: list[tuple[AppendedRecord, str]] = []
    for n, keyring in enumerate([before_rotation] * 3 + [after_rotation] * 3):
        entry = make_entry(n, before={"n": n, "key": keyring.active_key_id})
        written.append((await append_committed(platform, entry, keyring), keyring.active_key_id))

    stored = fetch(
        platform.database_url,
        "SELECT mac_key_id, changes_key_id, ip_hash_key_id FROM audit.audit_records ORDER BY sequence",
    )
    assert [row[0] for row in stored] == ["test-1"] * 3 + ["test-2"] * 3
    assert all(row[0] == row[1] == row[2] for row in stored)
    report = await verify(platform, after_rotation)
    assert report.intact
    assert report.records_checked == 6
    for n, (appended, key_id) in enumerate(written):
        before, _ = await open_record(platform, after_rotation, appended.record_id)
        assert before == {"n": n, "key": key_id}

"""Verify the audit chain end to end, and open a record's before/after for investigators."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from contextlib import aclosing

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from sqlalchemy.ext.asyncio import AsyncSession

from audit import repository
from audit.errors import AuditRecordNotFound, AuditRecordUnreadable, SnapshotRequired
from audit.models import GENESIS_MAC
from audit.schemas import (
    ChainHead,
    ChainProblem,
    ChainProblemKind,
    RecordChanges,
    SealedRecord,
    VerificationReport,
)
from audit.writer import CHAIN_MAC_PURPOSE, canonical_content
from obank.crypto import Envelope, KeyRing, UnknownKeyError

ProgressCallback = Callable[[int, int], None]


async def verify_chain(
    session: AsyncSession,
    keyring: KeyRing,
    *,
    progress: ProgressCallback | None = None,
    progress_every: int = 1000,
    batch_size: int = 1000,
) -> VerificationReport:
    """Walk the chain from the genesis MAC in sequence order and name the first record that breaks it."""
    # One REPEATABLE READ snapshot, so concurrent appends neither look like insertions nor hide a
    # truncation; the isolation level can only be chosen before the transaction's first statement.
    level = await repository.begin_snapshot(session)
    if level not in ("repeatable read", "serializable"):
        raise SnapshotRequired(f"verify_chain needs a fresh session; this one is already {level!r}")
    head = await repository.read_chain_head(session)
    total = head.last_sequence if head is not None else 0
    macs = _ChainMacs(keyring)
    expected, prev_mac = 1, GENESIS_MAC
    suspect: SealedRecord | None = None
    async with aclosing(repository.stream_records(session, batch_size)) as records:
        async for record in records:
            if (
                record.sequence != expected
                or (head is not None and record.sequence > head.last_sequence)
                or not hmac.compare_digest(record.prev_mac, prev_mac)
                or macs.verdict(record) is not True
            ):
                suspect = record
                break
            prev_mac = record.mac
            expected += 1
            if progress is not None and (expected - 1) % progress_every == 0:
                progress(expected - 1, total)
    checked = expected - 1
    if progress is not None and checked % progress_every != 0:
        progress(checked, total)
    problem: ChainProblem | None
    if suspect is not None:
        problem = await _diagnose(session, macs, head, suspect, expected, prev_mac)
    else:
        problem = _check_head(head, checked, prev_mac)
    return VerificationReport(
        records_checked=checked,
        head_sequence=None if head is None else head.last_sequence,
        problem=problem,
    )


async def decrypt_record(session: AsyncSession, keyring: KeyRing, record_id: uuid.UUID) -> RecordChanges:
    """The before/after values of one record, opened with the key that sealed them."""
    record = await repository.get_record(session, record_id)
    if record is None:
        raise AuditRecordNotFound(record_id)
    return open_changes(keyring, record)


def open_changes(keyring: KeyRing, record: SealedRecord) -> RecordChanges:
    """Decrypt a record's envelope; its record id is the associated data, so moved ciphertexts fail."""
    envelope = Envelope(
        key_id=record.changes_key_id,
        wrapped_key=record.changes_wrapped_key,
        nonce=record.changes_nonce,
        ciphertext=record.changes_ciphertext,
    )
    try:
        plaintext = keyring.decrypt(envelope, associated_data=record.record_id.bytes)
    except UnknownKeyError:
        raise AuditRecordUnreadable(record.record_id, f"key {record.changes_key_id!r} is not in the key ring") from None
    except (InvalidTag, InvalidUnwrap):
        raise AuditRecordUnreadable(record.record_id, "wrong key, or the ciphertext was altered") from None
    changes = json.loads(plaintext)
    return RecordChanges(record_id=record.record_id, before=changes["before"], after=changes["after"])


class _ChainMacs:
    """Recomputes chain MACs, deriving each key id's subkey once per run."""

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring
        self._subkeys: dict[str, bytes] = {}

    def verdict(self, record: SealedRecord) -> bool | None:
        """True when the MAC matches, False when it does not, None when its key is not in the ring."""
        subkey = self._subkeys.get(record.mac_key_id)
        if subkey is None:
            try:
                subkey = self._keyring.derive(CHAIN_MAC_PURPOSE, record.mac_key_id)
            except UnknownKeyError:
                return None
            self._subkeys[record.mac_key_id] = subkey
        computed = hmac.new(subkey, canonical_content(record), hashlib.sha256).digest()
        return hmac.compare_digest(computed, record.mac)


async def _diagnose(
    session: AsyncSession,
    macs: _ChainMacs,
    head: ChainHead | None,
    record: SealedRecord,
    expected: int,
    prev_mac: bytes,
) -> ChainProblem:
    """Name what happened at the first record that does not continue the chain."""
    seq, rid = record.sequence, record.record_id
    if seq < expected:
        return ChainProblem(ChainProblemKind.INSERTED, seq, rid, f"sequence {seq} appears again (expected {expected})")
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
        return ChainProblem(
            ChainProblemKind.DELETED,
            expected,
            None,
            f"sequence {missing} missing; record {seq} ({rid}) follows record {expected - 1}",
        )
    if head is not None and seq > head.last_sequence:
        return ChainProblem(
            ChainProblemKind.INSERTED,
            seq,
            rid,
            f"record {seq} ({rid}) lies beyond the chain head (sequence {head.last_sequence})",
        )
    if macs.verdict(record) is None:
        return ChainProblem(
            ChainProblemKind.UNKNOWN_KEY,
            seq,
            rid,
            f"record {seq} ({rid}) is sealed with key {record.mac_key_id!r}, which is not in the key ring",
        )
    linked = hmac.compare_digest(record.prev_mac, prev_mac)
    predecessor = None if linked else await repository.find_record_by_mac(session, record.prev_mac)
    if predecessor is not None and predecessor.sequence > seq:
        return ChainProblem(
            ChainProblemKind.REORDERED,
            seq,
            rid,
            f"record {seq} ({rid}) follows record {predecessor.sequence}, which comes after it",
        )
    successor = await repository.find_later_successor(session, prev_mac, seq, rid)
    if successor is not None:
        return ChainProblem(
            ChainProblemKind.INSERTED,
            seq,
            rid,
            f"record {seq} ({rid}) is not part of the chain, which continues at record {successor.sequence}",
        )
    if predecessor is None and not linked:
        return ChainProblem(
            ChainProblemKind.DELETED,
            seq,
            rid,
            f"record {seq} ({rid}) follows a record that is no longer in the chain",
        )
    return ChainProblem(
        ChainProblemKind.MODIFIED,
        seq,
        rid,
        f"record {seq} ({rid}) does not match its MAC: its content or link was altered",
    )


def _check_head(head: ChainHead | None, last_sequence: int, last_mac: bytes) -> ChainProblem | None:
    """After an intact walk, the head row must name the last record walked."""
    if head is None:
        return ChainProblem(
            ChainProblemKind.HEAD_MISSING,
            last_sequence + 1,
            None,
            f"the chain-head row is missing: records up to {last_sequence} verify, but from sequence "
            f"{last_sequence + 1} on a cut tail cannot be told, and nothing can be appended",
        )
    if head.last_sequence > last_sequence:
        missing = (
            f"{head.last_sequence}"
            if head.last_sequence == last_sequence + 1
            else f"{last_sequence + 1} to {head.last_sequence}"
        )
        return ChainProblem(
            ChainProblemKind.TRUNCATED,
            last_sequence + 1,
            None,
            f"the chain ends at record {last_sequence} but its head says {head.last_sequence}: "
            f"sequence {missing} missing",
        )
    if not hmac.compare_digest(head.last_mac, last_mac):
        return ChainProblem(
            ChainProblemKind.TRUNCATED,
            last_sequence + 1,
            None,
            f"the chain head's MAC is not record {last_sequence}'s: "
            f"records from sequence {last_sequence + 1} on were cut and the head rewritten",
        )
    return None

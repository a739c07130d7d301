"""Verify every audit chain end to end, and open a record's before/after for investigators."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from sqlalchemy.ext.asyncio import AsyncSession

from audit import repository
from audit.errors import AuditRecordNotFound, AuditRecordUnreadable, SnapshotRequired
from audit.models import CHAIN_COUNT, GENESIS_MAC
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


@dataclass(slots=True)
class _Walk:
    """One chain's walk so far: the next sequence and MAC it expects, and the first record that broke it."""

    expected: int = 1
    prev_mac: bytes = GENESIS_MAC
    suspect: SealedRecord | None = None


async def verify_chain(
    session: AsyncSession,
    keyring: KeyRing,
    *,
    progress: ProgressCallback | None = None,
    progress_every: int = 1000,
    batch_size: int = 1000,
) -> VerificationReport:
    """Walk every chain from the genesis MAC in sequence order and name the first record that breaks each."""
    # One REPEATABLE READ snapshot, so concurrent appends neither look like insertions nor hide a
    # truncation; the isolation level can only be chosen before the transaction's first statement.
    level = await repository.begin_snapshot(session)
    if level not in ("repeatable read", "serializable"):
        raise SnapshotRequired(f"verify_chain needs a fresh session; this one is already {level!r}")
    heads = await repository.read_chain_heads(session)
    total = sum(head.last_sequence for head in heads.values())
    macs = _ChainMacs(keyring)
    walks: dict[int, _Walk] = {}
    checked = 0
    async with aclosing(repository.stream_records(session, batch_size)) as records:
        async for record in records:
            walk = walks.setdefault(record.chain, _Walk())
            if walk.suspect is not None:
                continue  # this chain is already broken; its other records are not walked
            head = heads.get(record.chain)
            if (
                record.sequence != walk.expected
                or (head is not None and record.sequence > head.last_sequence)
                or not hmac.compare_digest(record.prev_mac, walk.prev_mac)
                or macs.verdict(record) is not True
            ):
                walk.suspect = record
                continue
            walk.prev_mac = record.mac
            walk.expected += 1
            checked += 1
            if progress is not None and checked % progress_every == 0:
                progress(checked, total)
    if progress is not None and checked % progress_every != 0:
        progress(checked, total)
    problems: list[ChainProblem] = []
    for chain in sorted(set(range(CHAIN_COUNT)) | heads.keys() | walks.keys()):
        walk, head = walks.get(chain, _Walk()), heads.get(chain)
        if walk.suspect is not None:
            problems.append(await _diagnose(session, macs, chain, head, walk))
        elif (problem := _check_head(chain, head, walk.expected - 1, walk.prev_mac)) is not None:
            problems.append(problem)
    return VerificationReport(
        records_checked=checked,
        head_sequences={chain: head.last_sequence for chain, head in heads.items()},
        problems=tuple(problems),
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
    session: AsyncSession, macs: _ChainMacs, chain: int, head: ChainHead | None, walk: _Walk
) -> ChainProblem:
    """Name what happened at the first record that does not continue its chain."""
    record, expected, prev_mac = walk.suspect, walk.expected, walk.prev_mac
    assert record is not None
    seq, rid = record.sequence, record.record_id
    at = f"chain {chain} record {seq} ({rid})"
    if seq < expected:
        return ChainProblem(
            ChainProblemKind.INSERTED,
            chain,
            seq,
            rid,
            f"chain {chain} sequence {seq} appears again (expected {expected})",
        )
    if seq > expected:
        missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
        return ChainProblem(
            ChainProblemKind.DELETED,
            chain,
            expected,
            None,
            f"chain {chain} sequence {missing} missing; record {seq} ({rid}) follows record {expected - 1}",
        )
    if head is not None and seq > head.last_sequence:
        return ChainProblem(
            ChainProblemKind.INSERTED,
            chain,
            seq,
            rid,
            f"{at} lies beyond the chain head (sequence {head.last_sequence})",
        )
    if macs.verdict(record) is None:
        return ChainProblem(
            ChainProblemKind.UNKNOWN_KEY,
            chain,
            seq,
            rid,
            f"{at} is sealed with key {record.mac_key_id!r}, which is not in the key ring",
        )
    linked = hmac.compare_digest(record.prev_mac, prev_mac)
    predecessor = None if linked else await repository.find_record_by_mac(session, chain, record.prev_mac)
    if predecessor is not None and predecessor.sequence > seq:
        return ChainProblem(
            ChainProblemKind.REORDERED,
            chain,
            seq,
            rid,
            f"{at} follows record {predecessor.sequence}, which comes after it",
        )
    successor = await repository.find_later_successor(session, chain, prev_mac, seq, rid)
    if successor is not None:
        return ChainProblem(
            ChainProblemKind.INSERTED,
            chain,
            seq,
            rid,
            f"{at} is not part of the chain, which continues at record {successor.sequence}",
        )
    if predecessor is None and not linked:
        return ChainProblem(
            ChainProblemKind.DELETED, chain, seq, rid, f"{at} follows a record that is no longer in the chain"
        )
    return ChainProblem(
        ChainProblemKind.MODIFIED, chain, seq, rid, f"{at} does not match its MAC: its content or link was altered"
    )


def _check_head(chain: int, head: ChainHead | None, last_sequence: int, last_mac: bytes) -> ChainProblem | None:
    """After an intact walk, the chain's head row must name the last record walked."""
    if head is None:
        return ChainProblem(
            ChainProblemKind.HEAD_MISSING,
            chain,
            last_sequence + 1,
            None,
            f"chain {chain}'s head row is missing: records up to {last_sequence} verify, but from sequence "
            f"{last_sequence + 1} on a cut tail cannot be told, and nothing can be appended to it",
        )
    if head.last_sequence > last_sequence:
        missing = (
            f"{head.last_sequence}"
            if head.last_sequence == last_sequence + 1
            else f"{last_sequence + 1} to {head.last_sequence}"
        )
        return ChainProblem(
            ChainProblemKind.TRUNCATED,
            chain,
            last_sequence + 1,
            None,
            f"chain {chain} ends at record {last_sequence} but its head says {head.last_sequence}: "
            f"sequence {missing} missing",
        )
    if not hmac.compare_digest(head.last_mac, last_mac):
        return ChainProblem(
            ChainProblemKind.TRUNCATED,
            chain,
            last_sequence + 1,
            None,
            f"chain {chain}'s head MAC is not record {last_sequence}'s: "
            f"records from sequence {last_sequence + 1} on were cut and the head rewritten",
        )
    return None

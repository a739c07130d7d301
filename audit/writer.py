"""Append encrypted, hash-chained audit records (one or a batch) inside the caller's transaction."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession

from audit import repository
from audit.errors import ChainHeadMissing, InvalidAuditEntry
from audit.models import AuditRecord
from audit.schemas import AppendedRecord, AuditEntry, ChainHead, SealedRecord
from obank.actor import ActorKind
from obank.correlation import current_correlation_id
from obank.crypto import Envelope, KeyRing
from obank.database import Companion

CHAIN_MAC_PURPOSE = "audit-chain"
IP_HASH_PURPOSE = "audit-ip"
_ENCODING_LABEL = b"obank.audit.record.v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# session.info entry: (the transaction, the chain whose head it holds).
_HELD_CHAIN = "audit.held_chain"


async def append_audit_record(session: AsyncSession, keyring: KeyRing, entry: AuditEntry) -> AppendedRecord:
    """Chain `entry` after a chain's head in the caller's transaction; make it the transaction's last write."""
    (appended,) = await append_audit_records(session, keyring, (entry,))
    return appended


async def append_audit_records(
    session: AsyncSession, keyring: KeyRing, entries: Sequence[AuditEntry], companions: Sequence[Companion] = ()
) -> list[AppendedRecord]:
    """Chain `entries`, in order, after one chain's head in the caller's transaction (one lock, one INSERT).

    Each record keeps its own data key, MAC and predecessor link, so each verifies and opens on its own.
    `companions` (the transaction's outbox events) are written in the INSERT's statement.
    """
    if not entries:
        if companions:
            raise ValueError("companions are written with audit records; there are none to write")
        return []
    # Encryption and hashing happen before the lock; the caller's pending writes go out now too,
    # so the chain head is held for as short a time as possible.
    prepared = [_prepare(keyring, entry) for entry in entries]
    mac_key_id = keyring.active_key_id
    mac_key = keyring.derive(CHAIN_MAC_PURPOSE, mac_key_id)
    await session.flush()
    # The chain's head stays locked until this transaction ends, and appenders that find every head
    # busy wait for one: work the caller does after this call lengthens that wait, and row locks it
    # takes afterwards could deadlock with them.
    head = await _lock_head(session)
    # Taken under the lock, so timestamps never run backwards along the chain.
    occurred_at = datetime.now(UTC)
    prev_mac = head.last_mac
    records: list[SealedRecord] = []
    for sequence, entry in enumerate(prepared, start=head.last_sequence + 1):
        unsealed = SealedRecord(
            chain=head.chain,
            sequence=sequence,
            record_id=entry.record_id,
            correlation_id=entry.correlation_id,
            actor_kind=entry.actor_kind,
            actor_id=entry.entry.actor_id,
            client_id=entry.entry.client_id,
            session_id=entry.entry.session_id,
            ip_hash=entry.ip_hash,
            ip_hash_key_id=entry.ip_hash_key_id,
            action=entry.entry.action,
            entity_type=entry.entry.entity_type,
            entity_id=entry.entry.entity_id,
            occurred_at=occurred_at,
            changes_key_id=entry.envelope.key_id,
            changes_wrapped_key=entry.envelope.wrapped_key,
            changes_nonce=entry.envelope.nonce,
            changes_ciphertext=entry.envelope.ciphertext,
            mac_key_id=mac_key_id,
            prev_mac=prev_mac,
            mac=b"",
        )
        prev_mac = hmac.new(mac_key, canonical_content(unsealed), hashlib.sha256).digest()
        records.append(dataclasses.replace(unsealed, mac=prev_mac))
    await repository.append_records(session, records, companions)
    return [
        AppendedRecord(
            record_id=record.record_id,
            chain=record.chain,
            sequence=record.sequence,
            occurred_at=record.occurred_at,
            correlation_id=record.correlation_id,
        )
        for record in records
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class _Prepared:
    """An entry checked and encrypted, waiting for its place in a chain."""

    entry: AuditEntry
    record_id: uuid.UUID
    correlation_id: str
    actor_kind: str
    envelope: Envelope
    ip_hash: bytes | None
    ip_hash_key_id: str | None


def _prepare(keyring: KeyRing, entry: AuditEntry) -> _Prepared:
    actor_kind = _actor_kind(entry.actor_kind)
    correlation_id = entry.correlation_id or current_correlation_id()
    _check_lengths(
        correlation_id=correlation_id,
        actor_id=entry.actor_id,
        client_id=entry.client_id,
        session_id=entry.session_id,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
    )
    record_id = uuid.uuid4()
    # A fresh data key per record: each record opens alone, and disclosing one discloses no other.
    envelope = keyring.encrypt(_changes_plaintext(entry), associated_data=record_id.bytes)
    if entry.ip_address is None:
        return _Prepared(entry, record_id, correlation_id, actor_kind, envelope, None, None)
    ip_key_id = keyring.active_key_id
    ip_hash = ip_address_hash(keyring, entry.ip_address, key_id=ip_key_id)
    return _Prepared(entry, record_id, correlation_id, actor_kind, envelope, ip_hash, ip_key_id)


async def _lock_head(session: AsyncSession) -> ChainHead:
    """The head this transaction already holds, else the first free one, else (all busy) any one, waited for.

    A transaction appends to one chain only: holding two heads, it could deadlock with another
    transaction waiting for a busy head.
    """
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_HELD_CHAIN)
    if transaction is not None and held is not None and held[0] is transaction:
        head = await repository.lock_chain_head(session, held[1])
    else:
        head = await repository.lock_free_chain_head(session) or await repository.lock_any_chain_head(session)
    if head is None:
        raise ChainHeadMissing("audit.chain_head has no row to append to; run the migrations")
    # Read again: a session's transaction begins with its first statement, which may have been the lock.
    session.info[_HELD_CHAIN] = (session.sync_session.get_transaction(), head.chain)
    return head


def ip_address_hash(keyring: KeyRing, ip_address: str, key_id: str | None = None) -> bytes:
    """The keyed hash stored instead of an IP address; the same address always hashes alike per key."""
    try:
        normalised = ipaddress.ip_address(ip_address.strip()).compressed
    except ValueError as exc:
        raise InvalidAuditEntry(f"not an IP address: {ip_address!r}") from exc
    return keyring.keyed_hash(IP_HASH_PURPOSE, normalised.encode(), key_id=key_id)


def canonical_content(record: SealedRecord) -> bytes:
    """One unambiguous byte string per record: every field but the MAC, each typed and length-prefixed."""
    fields: tuple[str | bytes | int | None, ...] = (
        _ENCODING_LABEL,
        record.chain,
        record.sequence,
        record.record_id.bytes,
        record.correlation_id,
        record.actor_kind,
        record.actor_id,
        record.client_id,
        record.session_id,
        record.ip_hash,
        record.ip_hash_key_id,
        record.action,
        record.entity_type,
        record.entity_id,
        (record.occurred_at - _EPOCH) // _MICROSECOND,
        record.changes_key_id,
        record.changes_wrapped_key,
        record.changes_nonce,
        record.changes_ciphertext,
        record.mac_key_id,
        record.prev_mac,
    )
    return b"".join(_encode_field(value) for value in fields)


def _encode_field(value: str | bytes | int | None) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, int):
        data, tag = value.to_bytes(8, "big", signed=True), b"I"
    elif isinstance(value, str):
        data, tag = value.encode(), b"S"
    else:
        data, tag = value, b"B"
    return tag + len(data).to_bytes(4, "big") + data


def _actor_kind(value: ActorKind | str) -> str:
    try:
        return ActorKind(value).value
    except ValueError as exc:
        raise InvalidAuditEntry(f"unknown actor kind {value!r}") from exc


def _changes_plaintext(entry: AuditEntry) -> bytes:
    changes: dict[str, Any] = {"before": entry.before, "after": entry.after}
    try:
        text = json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidAuditEntry(f"before/after must be JSON values: {exc}") from exc
    return text.encode()


def _column_length(name: str) -> int:
    column_type = AuditRecord.__table__.c[name].type
    assert isinstance(column_type, String) and column_type.length is not None
    return column_type.length


# Read once from the model: every record is checked against them.
_LENGTHS = {
    name: _column_length(name)
    for name in ("correlation_id", "actor_id", "client_id", "session_id", "action", "entity_type", "entity_id")
}


def _check_lengths(**values: str | None) -> None:
    for name, value in values.items():
        length = _LENGTHS[name]
        if value is not None and not 0 < len(value) <= length:
            raise InvalidAuditEntry(f"{name} must be 1 to {length} characters")

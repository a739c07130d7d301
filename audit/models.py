"""Audit tables (schema `audit`): append-only records on independent hash chains, one head row per chain, and
staff members' decryptions of records with their reasons."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from obank.database import schema_metadata

ACTOR_KINDS = ("customer", "staff", "client", "system")
# Independent chains, so that up to this many audited transactions commit at once; the migration
# creates one head row per chain (ids 0 to CHAIN_COUNT - 1).
CHAIN_COUNT = 8
GENESIS_MAC = bytes(32)


class Base(DeclarativeBase):
    metadata = schema_metadata("audit")


class AuditRecord(Base):
    """One audited state change; before/after are an AES-256-GCM envelope, the MAC links it to its predecessor."""

    __tablename__ = "audit_records"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(200), nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(200))
    ip_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    ip_hash_key_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(120), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(80), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    changes_key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    changes_wrapped_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    changes_nonce: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    changes_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    mac_key_id: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_mac: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    mac: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    __table_args__ = (
        CheckConstraint(f"actor_kind IN {ACTOR_KINDS!r}", name="actor_kind"),
        Index("ix_audit_records_correlation_id", "correlation_id"),
        Index("ix_audit_records_entity", "entity_type", "entity_id"),
        # What a customer did themselves (the investigation timeline follows them).
        Index("ix_audit_records_actor_id", "actor_id"),
    )


class AuditChainHead(Base):
    """One chain's tip; an append locks its chain's row, so no chain forks or skips a number."""

    __tablename__ = "chain_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    last_sequence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_mac: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (CheckConstraint(f"id >= 0 AND id < {CHAIN_COUNT}", name="chain_id"),)


class AuditDecryption(Base):
    """A staff member opened a record's before/after: who, when and why (the reason sealed to its row)."""

    __tablename__ = "decryptions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # No foreign key: records are append-only (never deleted), and one would make TRUNCATE of the records fail
    # before their trigger refuses it. The service reads the record in the same transaction.
    record_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    staff_id: Mapped[str] = mapped_column(String(200), nullable=False)
    reason_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    decrypted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("ix_decryptions_decrypted_at", "decrypted_at"),
        Index("ix_decryptions_record_id", "record_id", "decrypted_at"),
        Index("ix_decryptions_staff_id", "staff_id", "decrypted_at"),
    )

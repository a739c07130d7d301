"""Shapes of the audit context: the entry callers write, the sealed record, and the verification report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    """Who performed the audited action."""

    CUSTOMER = "customer"
    STAFF = "staff"
    CLIENT = "client"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """What a context reports about one state change; `before`/`after` are encrypted at rest."""

    actor_kind: ActorKind
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    client_id: str | None = None
    session_id: str | None = None
    ip_address: str | None = None
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class AppendedRecord:
    """Where an entry landed in the chain."""

    record_id: uuid.UUID
    sequence: int
    occurred_at: datetime
    correlation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedRecord:
    """An audit record exactly as stored: every field the chain MAC covers, plus the MAC."""

    sequence: int
    record_id: uuid.UUID
    correlation_id: str
    actor_kind: str
    actor_id: str
    client_id: str | None
    session_id: str | None
    ip_hash: bytes | None
    ip_hash_key_id: str | None
    action: str
    entity_type: str
    entity_id: str
    occurred_at: datetime
    changes_key_id: str
    changes_wrapped_key: bytes
    changes_nonce: bytes
    changes_ciphertext: bytes
    mac_key_id: str
    prev_mac: bytes
    mac: bytes


@dataclass(frozen=True, slots=True)
class RecordChanges:
    """The decrypted before/after values of one record, for investigators."""

    record_id: uuid.UUID
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The chain's last sequence and MAC, as the head row records them."""

    last_sequence: int
    last_mac: bytes


class ChainProblemKind(StrEnum):
    """How the chain was found broken."""

    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    HEAD_MISSING = "head_missing"
    UNKNOWN_KEY = "unknown_key"


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first bad position in the chain; `record_id` is the record found there (None when missing)."""

    kind: ChainProblemKind
    sequence: int
    record_id: uuid.UUID | None
    detail: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Outcome of one pass over the chain."""

    records_checked: int
    head_sequence: int | None
    problem: ChainProblem | None

    @property
    def intact(self) -> bool:
        return self.problem is None

"""Shapes of the audit context: the entry callers write, the sealed record, and the verification report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from obank.unit_of_work import AuditEntry

__all__ = ["AppendedRecord", "AuditEntry", "ChainHead", "SealedRecord", "VerificationReport"]


@dataclass(frozen=True, slots=True)
class AppendedRecord:
    """Where an entry landed: its chain and its place in that chain."""

    record_id: uuid.UUID
    chain: int
    sequence: int
    occurred_at: datetime
    correlation_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedRecord:
    """An audit record exactly as stored: every field the chain MAC covers, plus the MAC."""

    chain: int
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
    """A chain's last sequence and MAC, as its head row records them."""

    chain: int
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
    """The first bad position in one chain; `record_id` is the record found there (None when missing)."""

    kind: ChainProblemKind
    chain: int
    sequence: int
    record_id: uuid.UUID | None
    detail: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Outcome of one pass over every chain: records verified, each head's sequence, each broken chain's problem."""

    records_checked: int
    head_sequences: dict[int, int]
    problems: tuple[ChainProblem, ...]

    @property
    def problem(self) -> ChainProblem | None:
        """The problem of the lowest-numbered broken chain, if any."""
        return self.problems[0] if self.problems else None

    @property
    def intact(self) -> bool:
        return not self.problems

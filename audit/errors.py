"""Audit domain errors."""

from __future__ import annotations

import uuid


class AuditError(Exception):
    """Base of every audit error."""


class InvalidAuditEntry(AuditError):
    """An entry the writer refuses: unknown actor kind, non-JSON values, malformed IP address."""


class ChainHeadMissing(AuditError):
    """The single chain-head row is gone, so no record can be chained (the migration creates it)."""


class AuditRecordNotFound(AuditError):
    """No audit record has this id."""

    def __init__(self, record_id: uuid.UUID) -> None:
        super().__init__(f"audit record {record_id} does not exist")
        self.record_id = record_id


class AuditRecordUnreadable(AuditError):
    """The record's before/after cannot be opened: unknown key, wrong key, or tampered ciphertext."""

    def __init__(self, record_id: uuid.UUID, reason: str) -> None:
        super().__init__(f"audit record {record_id} cannot be decrypted: {reason}")
        self.record_id = record_id
        self.reason = reason


class SnapshotRequired(AuditError):
    """Verification must read one consistent snapshot; the session had already started its transaction."""


class ChainConflict(AuditError):
    """A sealed record no longer follows the chain head it was sealed against; nothing was chained."""

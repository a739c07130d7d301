"""audit: encrypted, hash-chained audit records written in the caller's transaction, and their verification."""

from audit.schemas import AppendedRecord, AuditEntry, VerificationReport
from audit.verify import decrypt_record, verify_chain
from audit.writer import append_audit_record, append_audit_records
from obank.actor import ActorKind

__all__ = [
    "ActorKind",
    "AppendedRecord",
    "AuditEntry",
    "VerificationReport",
    "append_audit_record",
    "append_audit_records",
    "decrypt_record",
    "verify_chain",
]

"""Investigations: what a subject touched, in time order, and staff decryptions of audit records.

The timeline reads metadata only (audit records' and outbox events'); sealed changes are opened only by a
decryption, which states its reason and is itself recorded (`audit.decryptions`) and audited in the same
transaction, so no record is read without a trace. Reasons may name people: they are sealed to their row and
read back by auditors only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from audit import repository as records
from audit.errors import AuditRecordUnreadable
from audit.investigations import repository
from audit.investigations.errors import ReasonsForAuditors, RecordNotFound, RecordUnreadable
from audit.investigations.schemas import (
    DecryptedRecord,
    DecryptionFilters,
    DecryptionRecord,
    TimelinePageRecord,
    TimelineSubject,
)
from audit.verify import open_changes
from obank.crypto import KeyRing, seal, unseal
from obank.principal import Principal
from obank.roles import StaffRole
from obank.unit_of_work import UnitOfWork

TOPIC = "audit.decryptions"
DECRYPTED = "audit_record.decrypted"
ENTITY = "audit_record"
# Purpose a decryption's reason is sealed to (with the decryption's id).
_REASON = "audit.decryption.reason"
# Who reads other staff members' reasons (the decryptions list, and the records of decryptions).
REASON_READERS = frozenset({StaffRole.AUDITOR, StaffRole.ADMIN})


async def timeline(
    session: AsyncSession, subject: TimelineSubject, *, before: datetime | None, limit: int
) -> TimelinePageRecord:
    """A page of the subject's timeline, oldest first, ending at a whole instant; older pages follow `next_before`.

    A correlation id's timeline holds its records and events. A customer's, account's or payment's holds the records
    naming it as entity or actor, and the records and events of every request (correlation id) in which it acted
    or was acted on by someone other than the system.
    """
    entries, older = await repository.timeline_page(session, subject, before=before, limit=limit)
    next_before = entries[0].occurred_at if older else None
    return TimelinePageRecord(subject, tuple(entries), next_before)


async def decrypt_record(
    uow: UnitOfWork, record_id: uuid.UUID, staff: Principal, reason: str, *, now: datetime | None = None
) -> DecryptedRecord:
    """Open a record's before/after for `staff`, recording who, when and why, and auditing it, in `uow`."""
    record = await records.get_record(uow.session, record_id)
    if record is None:
        raise RecordNotFound(record_id)
    if record.action == DECRYPTED and not REASON_READERS & staff.roles:
        raise ReasonsForAuditors("another decryption's reason is for auditors only")
    try:
        changes = open_changes(uow.keyring, record)
    except AuditRecordUnreadable:
        raise RecordUnreadable(record_id) from None
    decryption_id = uuid.uuid4()
    decrypted_at = now or datetime.now(UTC)
    await repository.add_decryption(
        uow.session,
        {
            "id": decryption_id,
            "record_id": record_id,
            "staff_id": staff.subject,
            "reason_sealed": seal(uow.keyring, decryption_id, _REASON, reason.encode()),
            "decrypted_at": decrypted_at,
        },
    )
    detail = {"decryption_id": str(decryption_id), "record_id": str(record_id), "staff_id": staff.subject}
    # The reason only in the record's sealed changes: never in an event, a log line or metadata.
    uow.audit(action=DECRYPTED, entity_type=ENTITY, entity_id=str(record_id), after={**detail, "reason": reason})
    uow.publish(
        topic=TOPIC,
        event_type=DECRYPTED,
        key=str(record_id),
        payload={**detail, "decrypted_at": decrypted_at.isoformat()},
    )
    return DecryptedRecord(record, changes.before, changes.after, decryption_id, decrypted_at, staff.subject)


async def list_decryptions(
    session: AsyncSession, keyring: KeyRing, filters: DecryptionFilters
) -> list[DecryptionRecord]:
    """Decryptions newest first, their reasons unsealed (auditors' reading)."""
    return [
        DecryptionRecord(
            id=row.id,
            record_id=row.record_id,
            staff_id=row.staff_id,
            reason=unseal(keyring, row.id, _REASON, row.reason_sealed).decode(),
            decrypted_at=row.decrypted_at,
        )
        for row in await repository.list_decryptions(session, filters)
    ]

"""The investigation API under /admin/v1/audit: a subject's timeline (metadata of audit records and outbox events),
decryption of one record's changes with a reason (recorded and audited), and the auditors' list of decryptions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from audit.dependencies import Auditor, Investigator, UnitOfWorkDep
from audit.investigations import service
from audit.investigations.errors import PROBLEM_RESPONSES
from audit.investigations.schemas import (
    CORRELATION_ID_MAX,
    DECRYPTIONS_LIMIT,
    DECRYPTIONS_MAX,
    STAFF_ID_MAX,
    TIMELINE_LIMIT,
    TIMELINE_MAX,
    DecryptedRecordRead,
    DecryptionFilters,
    DecryptionRead,
    DecryptionRequest,
    TimelinePage,
    TimelineSubject,
)
from obank.database import SessionDep
from obank.inputs import BoundedDateTime
from obank.problems import problem_responses
from obank.runtime import KeyRingDep

PREFIX = "/admin/v1/audit"

router = APIRouter(prefix=PREFIX, tags=["admin: audit"], responses=PROBLEM_RESPONSES)

_DECRYPT = problem_responses(
    (
        (403, "Not an investigator, or (for a decryption's own record) not an auditor"),
        (404, "No such audit record"),
        (409, "The record cannot be opened with this deployment's keys"),
    )
)
_AUDITORS = problem_responses(((403, "The staff member is not an auditor"),))

RecordId = Annotated[uuid.UUID, Path(description="The audit record's id")]


@router.get("/timeline")
async def get_timeline(
    _investigator: Investigator,
    session: SessionDep,
    correlation_id: Annotated[
        str | None,
        Query(min_length=1, max_length=CORRELATION_ID_MAX, description="Follow one request (its interaction id)"),
    ] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Follow a customer")] = None,
    account_id: Annotated[uuid.UUID | None, Query(description="Follow an account")] = None,
    payment_id: Annotated[uuid.UUID | None, Query(description="Follow a payment")] = None,
    before: Annotated[
        BoundedDateTime | None, Query(description="Only entries before this instant (`next_before`: the next page)")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=TIMELINE_MAX, description="About how many entries (a page ends at a whole instant)")
    ] = TIMELINE_LIMIT,
) -> TimelinePage:
    """What one subject touched, in time order: pages run from the newest back, each page oldest entry first.

    Name exactly one subject. A correlation id gives its audit records and outbox events. A customer, account or
    payment gives the records naming it as entity (or, a customer, as actor) and every record and event of the
    requests those records belong to: the token issued, the payment's steps, its fraud decision, the customer's
    notification. Records the system wrote (scheduled jobs) are shown but not followed. Metadata only: changes are
    read through a decryption, events' payloads not at all.
    """
    subject = TimelineSubject.named(
        correlation_id=correlation_id, customer_id=customer_id, account_id=account_id, payment_id=payment_id
    )
    return TimelinePage.from_record(await service.timeline(session, subject, before=before, limit=limit))


@router.post("/records/{record_id}/decryption", responses=_DECRYPT)
async def decrypt_record(
    record_id: RecordId, body: DecryptionRequest, investigator: Investigator, uow: UnitOfWorkDep
) -> DecryptedRecordRead:
    """Open one audit record's before/after values, as stored, stating why.

    The decryption (who, when, the reason sealed) and its own audit record are written in the same transaction as
    the answer is made: nothing is disclosed unrecorded. A decryption's own record (which holds its reason) opens
    for auditors only.
    """
    decrypted = await service.decrypt_record(uow, record_id, investigator, body.reason)
    return DecryptedRecordRead.from_record(decrypted)


@router.get("/decryptions", responses=_AUDITORS)
async def list_decryptions(
    _auditor: Auditor,
    session: SessionDep,
    keyring: KeyRingDep,
    staff_id: Annotated[
        str | None, Query(min_length=1, max_length=STAFF_ID_MAX, description="Only this staff member's")
    ] = None,
    record_id: Annotated[uuid.UUID | None, Query(description="Only of this audit record")] = None,
    before: Annotated[BoundedDateTime | None, Query(description="Only decryptions before this instant")] = None,
    limit: Annotated[
        int, Query(ge=1, le=DECRYPTIONS_MAX, description="How many decryptions, newest first")
    ] = DECRYPTIONS_LIMIT,
) -> list[DecryptionRead]:
    """Who decrypted which record, when and why, newest first (auditors only: reasons may name people)."""
    filters = DecryptionFilters(staff_id=staff_id, record_id=record_id, before=before, limit=limit)
    return [
        DecryptionRead.model_validate(record) for record in await service.list_decryptions(session, keyring, filters)
    ]

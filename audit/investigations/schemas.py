"""Shapes of investigations: the timeline's subject and entries, and decryptions with their reasons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from audit.investigations.errors import TimelineSubjectInvalid
from audit.models import AuditRecord
from audit.schemas import SealedRecord

TIMELINE_LIMIT = 200
TIMELINE_MAX = 500
DECRYPTIONS_LIMIT = 100
DECRYPTIONS_MAX = 500
REASON_MIN = 10
REASON_MAX = 500
CORRELATION_ID_MAX = AuditRecord.__table__.c.correlation_id.type.length  # type: ignore[attr-defined]
STAFF_ID_MAX = AuditRecord.__table__.c.actor_id.type.length  # type: ignore[attr-defined]

# Why a staff member opens a record: one line of text, no control characters at all.
DecryptionReason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=REASON_MIN, max_length=REASON_MAX, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]


class SubjectKind(StrEnum):
    """What the timeline follows."""

    CORRELATION = "correlation"
    CUSTOMER = "customer"
    ACCOUNT = "account"
    PAYMENT = "payment"


# The audit records' entity type of each subject kind (the `(entity_type, entity_id)` index serves the lookup).
SUBJECT_ENTITY_TYPES: dict[SubjectKind, tuple[str, ...]] = {
    SubjectKind.CUSTOMER: ("customer",),
    SubjectKind.ACCOUNT: ("account",),
    SubjectKind.PAYMENT: ("payment",),
}


class EntryKind(StrEnum):
    AUDIT = "audit"
    EVENT = "event"


def context_of(*, action: str, topic: str | None = None, entity_type: str | None = None) -> str:
    """Where it happened: an event's topic up to its first dot (`core_banking`), a record's action up to its first
    dot (`payment`), else the record's entity type."""
    if topic is not None:
        return topic.split(".", 1)[0]
    head, dot, _ = action.partition(".")
    return head if dot else entity_type or action


# Records (what services return) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineSubject:
    """One subject: a correlation id, or the id of a customer, account or payment."""

    kind: SubjectKind
    id: str

    @classmethod
    def named(
        cls,
        *,
        correlation_id: str | None,
        customer_id: uuid.UUID | None,
        account_id: uuid.UUID | None,
        payment_id: uuid.UUID | None,
    ) -> Self:
        """The one subject a request names; refused unless it names exactly one."""
        named = [
            (kind, value)
            for kind, value in (
                (SubjectKind.CORRELATION, correlation_id),
                (SubjectKind.CUSTOMER, customer_id),
                (SubjectKind.ACCOUNT, account_id),
                (SubjectKind.PAYMENT, payment_id),
            )
            if value is not None
        ]
        if len(named) != 1:
            raise TimelineSubjectInvalid(
                "name exactly one of correlation_id, customer_id, account_id, payment_id"
                + ("" if not named else f" (got {', '.join(f'{kind.value}' for kind, _ in named)})")
            )
        ((kind, value),) = named
        return cls(kind, str(value))


@dataclass(frozen=True, slots=True)
class TimelineEntryRecord:
    """An audit record's metadata, or an outbox event's, as the timeline lists it (never sealed values)."""

    kind: EntryKind
    id: uuid.UUID
    occurred_at: datetime
    correlation_id: str
    action: str
    topic: str | None
    entity_type: str | None
    entity_id: str
    actor_kind: str | None
    actor_id: str | None
    client_id: str | None
    published_at: datetime | None

    @property
    def context(self) -> str:
        return context_of(action=self.action, topic=self.topic, entity_type=self.entity_type)


@dataclass(frozen=True, slots=True)
class TimelinePageRecord:
    """A page of a subject's timeline, oldest first; `next_before` pages back to older entries."""

    subject: TimelineSubject
    entries: tuple[TimelineEntryRecord, ...]
    next_before: datetime | None


@dataclass(frozen=True, slots=True)
class DecryptedRecord:
    """A record's metadata and its opened before/after, with the decryption that opened them."""

    record: SealedRecord
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    decryption_id: uuid.UUID
    decrypted_at: datetime
    staff_id: str


@dataclass(frozen=True, slots=True)
class DecryptionRecord:
    """Who decrypted which record, when and why (the reason unsealed)."""

    id: uuid.UUID
    record_id: uuid.UUID
    staff_id: str
    reason: str
    decrypted_at: datetime


@dataclass(frozen=True, slots=True)
class DecryptionFilters:
    """Which decryptions an auditor lists, newest first; `before` pages back past that instant."""

    staff_id: str | None = None
    record_id: uuid.UUID | None = None
    before: datetime | None = None
    limit: int = DECRYPTIONS_LIMIT


# What staff send ----------------------------------------------------------------------------------------------


class DecryptionRequest(BaseModel):
    """Why the caller opens the record (sealed at rest; read back by auditors only)."""

    model_config = ConfigDict(extra="forbid")

    reason: DecryptionReason = Field(description=f"{REASON_MIN} to {REASON_MAX} characters, one line")


# What staff read ----------------------------------------------------------------------------------------------


class TimelineEntry(BaseModel):
    """An audit record or an outbox event of the timeline: metadata only, never the sealed changes or payloads."""

    kind: EntryKind = Field(description="`audit`: an audit record; `event`: an outbox event")
    id: uuid.UUID = Field(description="The audit record's id, or the event's")
    occurred_at: datetime = Field(description="When the record was chained, or the event's transaction began")
    correlation_id: str
    context: str = Field(description="The event's topic, or the record's action, up to the first dot")
    action: str = Field(description="The record's action, or the event's type")
    topic: str | None = Field(description="The event's topic (events only)")
    entity_type: str | None = Field(description="The record's entity type (records only)")
    entity_id: str = Field(description="The record's entity id, or the event's aggregate key")
    actor_kind: str | None = Field(description="customer, staff, client or system (records only)")
    actor_id: str | None
    client_id: str | None
    published_at: datetime | None = Field(description="When the relay published the event (events only)")

    @classmethod
    def from_record(cls, entry: TimelineEntryRecord) -> Self:
        return cls(
            kind=entry.kind,
            id=entry.id,
            occurred_at=entry.occurred_at,
            correlation_id=entry.correlation_id,
            context=entry.context,
            action=entry.action,
            topic=entry.topic,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            actor_kind=entry.actor_kind,
            actor_id=entry.actor_id,
            client_id=entry.client_id,
            published_at=entry.published_at,
        )


class TimelineSubjectRead(BaseModel):
    kind: SubjectKind
    id: str


class TimelinePage(BaseModel):
    """A page of the timeline, oldest entry first; pass `next_before` as `before` for the older page."""

    subject: TimelineSubjectRead
    entries: list[TimelineEntry]
    next_before: datetime | None = Field(description="`before` of the next (older) page; null on the last page")

    @classmethod
    def from_record(cls, page: TimelinePageRecord) -> Self:
        return cls(
            subject=TimelineSubjectRead(kind=page.subject.kind, id=page.subject.id),
            entries=[TimelineEntry.from_record(entry) for entry in page.entries],
            next_before=page.next_before,
        )


class AuditRecordRead(BaseModel):
    """An audit record's metadata, as chained."""

    record_id: uuid.UUID
    chain: int
    sequence: int
    occurred_at: datetime
    correlation_id: str
    context: str
    action: str
    entity_type: str
    entity_id: str
    actor_kind: str
    actor_id: str
    client_id: str | None
    session_id: str | None

    @classmethod
    def from_record(cls, record: SealedRecord) -> Self:
        return cls(
            record_id=record.record_id,
            chain=record.chain,
            sequence=record.sequence,
            occurred_at=record.occurred_at,
            correlation_id=record.correlation_id,
            context=context_of(action=record.action, entity_type=record.entity_type),
            action=record.action,
            entity_type=record.entity_type,
            entity_id=record.entity_id,
            actor_kind=record.actor_kind,
            actor_id=record.actor_id,
            client_id=record.client_id,
            session_id=record.session_id,
        )


class DecryptedRecordRead(BaseModel):
    """A record's metadata and its before/after values as stored, opened by this decryption."""

    record: AuditRecordRead
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    decryption_id: uuid.UUID
    decrypted_at: datetime
    decrypted_by: str

    @classmethod
    def from_record(cls, decrypted: DecryptedRecord) -> Self:
        return cls(
            record=AuditRecordRead.from_record(decrypted.record),
            before=decrypted.before,
            after=decrypted.after,
            decryption_id=decrypted.decryption_id,
            decrypted_at=decrypted.decrypted_at,
            decrypted_by=decrypted.staff_id,
        )


class DecryptionRead(BaseModel):
    """Who decrypted which record, when and why."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    record_id: uuid.UUID
    staff_id: str
    reason: str
    decrypted_at: datetime

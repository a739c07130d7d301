"""Shapes of alerts: the records services hand back, what analysts send, and what they read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fraud.alerts.models import AlertOutcome, AlertPayment, AlertStatus, FraudAlert
from fraud.decisions import Recommendation
from fraud.features.schemas import MuleRecord

NOTE_MAX = 4000
MULE_REASON_MAX = 200
ALERTS_LIMIT = 50
ALERTS_MAX = 200
MULES_LIMIT = 100
MULES_MAX = 500

# A UK account as the fraud context keys it: sort code (6 digits) then account number (8 digits).
CreditorAccount = Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NOTE_MAX)]
MuleReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MULE_REASON_MAX, pattern=r"^[^\r\n\t]*$")
]


# Records (what services return) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleRecord:
    rule: str
    contribution: int


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as it stands (its payments and notes are read separately)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    status: AlertStatus
    score: int
    recommendation: Recommendation
    rules: tuple[RuleRecord, ...]
    engine: str
    correlation_id: str
    assigned_to: str | None
    resolution: AlertOutcome | None
    resolved_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @classmethod
    def from_model(cls, row: FraudAlert) -> Self:
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            status=row.status,
            score=row.score,
            recommendation=row.recommendation,
            rules=tuple(RuleRecord(str(hit["rule"]), int(hit["contribution"])) for hit in row.rules),
            engine=row.engine,
            correlation_id=row.correlation_id,
            assigned_to=row.assigned_to,
            resolution=row.resolution,
            resolved_by=row.resolved_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            resolved_at=row.resolved_at,
        )

    def snapshot(self) -> dict[str, Any]:
        """The alert in its events and audit records: no note text, nothing personal."""
        return {
            "alert_id": str(self.id),
            "customer_id": str(self.customer_id),
            "status": self.status.value,
            "score": self.score,
            "recommendation": self.recommendation.value,
            "rules": [{"rule": hit.rule, "contribution": hit.contribution} for hit in self.rules],
            "engine": self.engine,
            "assigned_to": self.assigned_to,
            "resolution": None if self.resolution is None else self.resolution.value,
            "resolved_by": self.resolved_by,
        }


@dataclass(frozen=True, slots=True)
class AlertPaymentRecord:
    payment_id: uuid.UUID
    alert_id: uuid.UUID
    amount_minor: int
    currency: str
    creditor_account: str | None
    score: int
    recommendation: Recommendation
    rules: tuple[RuleRecord, ...]
    correlation_id: str
    final_status: str | None
    final_reason: str | None
    released_by: str | None
    analyst_decision: str | None
    linked_at: datetime
    settled_at: datetime | None

    @classmethod
    def from_model(cls, row: AlertPayment) -> Self:
        return cls(
            payment_id=row.payment_id,
            alert_id=row.alert_id,
            amount_minor=row.amount_minor,
            currency=row.currency,
            creditor_account=row.creditor_account,
            score=row.score,
            recommendation=row.recommendation,
            rules=tuple(RuleRecord(str(hit["rule"]), int(hit["contribution"])) for hit in row.rules),
            correlation_id=row.correlation_id,
            final_status=row.final_status,
            final_reason=row.final_reason,
            released_by=row.released_by,
            analyst_decision=row.analyst_decision,
            linked_at=row.linked_at,
            settled_at=row.settled_at,
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "payment_id": str(self.payment_id),
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "recommendation": self.recommendation.value,
            "score": self.score,
            "final_status": self.final_status,
            "final_reason": self.final_reason,
            "released_by": self.released_by,
            "analyst_decision": self.analyst_decision,
        }


@dataclass(frozen=True, slots=True)
class NoteRecord:
    id: uuid.UUID
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlertDetail:
    alert: AlertRecord
    payments: tuple[AlertPaymentRecord, ...]
    notes: tuple[NoteRecord, ...]


@dataclass(frozen=True, slots=True)
class AlertFilters:
    """Which alerts an analyst lists; `before` pages back past that alert (newest first)."""

    status: AlertStatus | None = None
    assigned_to: str | None = None
    customer_id: uuid.UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    before: uuid.UUID | None = None
    limit: int = ALERTS_LIMIT


@dataclass(frozen=True, slots=True)
class FlaggedPayment:
    """A payment the engine flagged (REVIEW or BLOCK), as `payment.fraud_flagged` tells it."""

    payment_id: uuid.UUID
    customer_id: uuid.UUID
    amount_minor: int
    currency: str
    creditor_account: str | None
    status: str
    reason: str | None
    score: int
    recommendation: Recommendation
    rules: tuple[RuleRecord, ...]
    engine: str
    correlation_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentDecision:
    """An analyst's release or rejection of a held payment, and the alert it was noted on (if it is linked)."""

    payment_id: uuid.UUID
    status: str
    reason: str | None
    alert_id: uuid.UUID | None


# What analysts send -------------------------------------------------------------------------------------------


class NoteCreate(BaseModel):
    """A note on an alert (sealed at rest, never logged)."""

    model_config = ConfigDict(extra="forbid")

    text: NoteText


class AlertResolve(BaseModel):
    """How the investigation ended: FRAUD (the payees' accounts go on the mule list) or FALSE_POSITIVE (the
    customer's payees are allow-listed for them), with the analyst's note."""

    model_config = ConfigDict(extra="forbid")

    outcome: AlertOutcome
    note: NoteText


class MuleAccountCreate(BaseModel):
    """Put a UK account (sort code + account number, 14 digits) on the mule list: payments to it are refused."""

    model_config = ConfigDict(extra="forbid")

    creditor_account: CreditorAccount
    reason: MuleReason


# What analysts read -------------------------------------------------------------------------------------------


class RuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule: str
    contribution: int


class AlertRead(BaseModel):
    """An alert in the analysts' queue."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    status: AlertStatus
    score: int = Field(ge=0, le=100)
    recommendation: Recommendation
    rules: list[RuleRead]
    engine: str
    correlation_id: str
    assigned_to: str | None
    resolution: AlertOutcome | None
    resolved_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None

    @classmethod
    def from_record(cls, record: AlertRecord) -> Self:
        return cls.model_validate(record)


class AlertPaymentRead(BaseModel):
    """A payment on an alert: amount in minor units, the payee's account, the engine's view, its final status."""

    model_config = ConfigDict(from_attributes=True)

    payment_id: uuid.UUID
    amount_minor: int
    currency: str
    creditor_account: str | None
    score: int
    recommendation: Recommendation
    rules: list[RuleRead]
    correlation_id: str
    final_status: str | None
    final_reason: str | None
    released_by: str | None
    analyst_decision: str | None
    linked_at: datetime
    settled_at: datetime | None

    @classmethod
    def from_record(cls, record: AlertPaymentRecord) -> Self:
        return cls.model_validate(record)


class NoteRead(BaseModel):
    id: uuid.UUID
    author: str
    text: str
    created_at: datetime


class AlertDetailRead(AlertRead):
    """An alert with its payments (oldest first) and its notes, opened (oldest first)."""

    payments: list[AlertPaymentRead]
    notes: list[NoteRead]

    @classmethod
    def from_detail(cls, detail: AlertDetail) -> AlertDetailRead:
        base = AlertRead.from_record(detail.alert)
        return cls(
            **base.model_dump(),
            payments=[AlertPaymentRead.from_record(payment) for payment in detail.payments],
            notes=[
                NoteRead(id=note.id, author=note.author, text=note.text, created_at=note.created_at)
                for note in detail.notes
            ],
        )


class PaymentDecisionRead(BaseModel):
    """A held payment after an analyst's release or rejection."""

    payment_id: uuid.UUID
    decision: Literal["released", "rejected"]
    status: str
    reason: str | None
    alert_id: uuid.UUID | None


class MuleAccountRead(BaseModel):
    """An account on the mule list: when it was listed, from which alert (if any), and why."""

    creditor_account: str
    marked_at: datetime
    alert_id: uuid.UUID | None
    reason: str | None

    @classmethod
    def from_record(cls, record: MuleRecord) -> Self:
        return cls(
            creditor_account=record.creditor_account,
            marked_at=record.marked_at,
            alert_id=record.alert_id,
            reason=record.reason,
        )


class MuleAccountListed(BaseModel):
    """The account is on the mule list; `listed_now` is false when it already was (the first listing stands)."""

    creditor_account: str
    listed_now: bool

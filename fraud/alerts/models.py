"""Alert tables: analysts' cases raised from flagged payments, the payments each gathers, and their notes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from fraud.db import Base
from fraud.decisions import Recommendation
from obank.database import enum_type

STAFF_ID_MAX = 128
CORRELATION_ID_MAX = 64
CREDITOR_ACCOUNT_LENGTH = 14
ENGINE_MAX = 40
# The author of a note the platform writes (a customer's confirmation, a payment's fate).
SYSTEM_AUTHOR = "system"


class AlertStatus(StrEnum):
    """OPEN until an analyst claims it (INVESTIGATING), then RESOLVED (fraud confirmed) or FALSE_POSITIVE."""

    OPEN = "OPEN"
    INVESTIGATING = "INVESTIGATING"
    RESOLVED = "RESOLVED"
    FALSE_POSITIVE = "FALSE_POSITIVE"


# An alert still gathering the customer's flagged payments.
UNRESOLVED = (AlertStatus.OPEN, AlertStatus.INVESTIGATING)


class AlertOutcome(StrEnum):
    """An analyst's finding: the payments were fraud (their payees become mules), or the alarm was false."""

    FRAUD = "FRAUD"
    FALSE_POSITIVE = "FALSE_POSITIVE"


class FraudAlert(Base):
    """One customer's case: the strongest score and recommendation of its payments, the rules that fired, who
    investigates it and how it ended. A customer has at most one unresolved alert, which gathers every payment of
    theirs flagged while it is open."""

    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[AlertStatus] = mapped_column(enum_type(AlertStatus, "fraud_alert_status"), nullable=False)
    score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    recommendation: Mapped[Recommendation] = mapped_column(
        enum_type(Recommendation, "fraud_alert_recommendation"), nullable=False
    )
    # [{"rule", "contribution"}], every rule that fired on any of its payments at its largest contribution.
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    engine: Mapped[str] = mapped_column(String(ENGINE_MAX), nullable=False)
    # The first flagged payment's request, to find its logs.
    correlation_id: Mapped[str] = mapped_column(String(CORRELATION_ID_MAX), nullable=False)
    assigned_to: Mapped[str | None] = mapped_column(String(STAFF_ID_MAX))
    resolution: Mapped[AlertOutcome | None] = mapped_column(enum_type(AlertOutcome, "fraud_alert_resolution"))
    resolved_by: Mapped[str | None] = mapped_column(String(STAFF_ID_MAX))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint("status = 'OPEN' OR assigned_to IS NOT NULL", name="claimed_when_investigated"),
        CheckConstraint(
            "(status = 'RESOLVED' AND resolution = 'FRAUD') OR (status = 'FALSE_POSITIVE' "
            "AND resolution = 'FALSE_POSITIVE') OR (status IN ('OPEN', 'INVESTIGATING') AND resolution IS NULL)",
            name="resolution_matches_status",
        ),
        CheckConstraint(
            "(resolution IS NULL) = (resolved_at IS NULL) AND (resolution IS NULL) = (resolved_by IS NULL)",
            name="resolved_when_final",
        ),
        # One unresolved alert per customer: a new flagged payment joins it (the raise is an upsert on this).
        Index(
            "uq_alerts_customer_unresolved",
            "customer_id",
            unique=True,
            postgresql_where=text("status IN ('OPEN', 'INVESTIGATING')"),
        ),
        # The analysts' queue: newest first, by status.
        Index("ix_alerts_status_created", "status", "created_at", "id"),
        Index("ix_alerts_created", "created_at", "id"),
        Index("ix_alerts_customer", "customer_id", "created_at"),
    )


class AlertPayment(Base):
    """A flagged payment on its alert: what the engine saw, and its final status once core banking settles it."""

    __tablename__ = "alert_payments"

    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("alerts.id"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    creditor_account: Mapped[str | None] = mapped_column(String(CREDITOR_ACCOUNT_LENGTH))
    score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    recommendation: Mapped[Recommendation] = mapped_column(
        enum_type(Recommendation, "fraud_alert_payment_recommendation"), nullable=False
    )
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(CORRELATION_ID_MAX), nullable=False)
    # ISO 20022: ACSC or RJCT (with its reason) once final; None while it is held or in flight.
    final_status: Mapped[str | None] = mapped_column(String(4))
    final_reason: Mapped[str | None] = mapped_column(String(4))
    released_by: Mapped[str | None] = mapped_column(String(16))
    # An analyst's decision through the fraud API (`released` or `rejected`), noted on the alert once.
    analyst_decision: Mapped[str | None] = mapped_column(String(8))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("creditor_account ~ '^[0-9]{14}$'", name="creditor_account_digits"),
        CheckConstraint("(final_status IS NULL) = (settled_at IS NULL)", name="settled_when_final"),
        CheckConstraint("analyst_decision IN ('released', 'rejected')", name="analyst_decisions"),
        Index("ix_alert_payments_alert", "alert_id", "linked_at"),
    )


class EarlyPaymentOutcome(Base):
    """A payment's outcome that arrived before its flag (a BLOCK's rejection, a release), kept until the flag
    arrives and the outcome moves onto its link."""

    __tablename__ = "alert_early_outcomes"

    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    final_status: Mapped[str | None] = mapped_column(String(4))
    final_reason: Mapped[str | None] = mapped_column(String(4))
    released_by: Mapped[str | None] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AlertNote(Base):
    """A note on an alert by an analyst (their staff id) or the platform (`system`); its text is sealed to it."""

    __tablename__ = "alert_notes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("alerts.id"), nullable=False)
    author: Mapped[str] = mapped_column(String(STAFF_ID_MAX), nullable=False)
    text_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_alert_notes_alert", "alert_id", "created_at"),)

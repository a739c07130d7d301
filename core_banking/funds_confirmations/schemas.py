"""Shapes of funds confirmations: the answer a CBPII gets, as other contexts read it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core_banking.funds_confirmations.models import FundsConfirmation
from obank.money import Money


@dataclass(frozen=True, slots=True)
class FundsConfirmationRecord:
    """Whether the consent's account had `amount` available at `created_at` (OB `FundsAvailable`)."""

    id: uuid.UUID
    consent_id: str
    account_id: uuid.UUID
    amount: Money
    reference: str
    available: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: FundsConfirmation) -> FundsConfirmationRecord:
        return cls(
            id=row.id,
            consent_id=row.consent_id,
            account_id=row.account_id,
            amount=Money(row.amount_minor, row.currency),
            reference=row.reference,
            available=row.available,
            created_at=row.created_at,
        )

    def snapshot(self) -> dict[str, Any]:
        """The check as audit records and events carry it (the answer, never the balance)."""
        return {
            "funds_confirmation_id": str(self.id),
            "consent_id": self.consent_id,
            "account_id": str(self.account_id),
            "amount": self.amount.to_decimal_string(),
            "currency": self.amount.currency,
            "reference": self.reference,
            "available": self.available,
        }

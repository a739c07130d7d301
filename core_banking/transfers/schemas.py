"""Shapes of transfers: the customer's request, the stored record, and the API's view."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from core_banking.fields import CurrencyCode, Description, PositiveMinorUnits
from core_banking.transfers.models import TransferStatus
from obank.money import Money


class TransferCreate(BaseModel):
    """Move money from one of the caller's accounts to any account of this bank, in its currency."""

    model_config = ConfigDict(extra="forbid")

    source_account_id: uuid.UUID
    destination_account_id: uuid.UUID
    amount_minor: PositiveMinorUnits
    currency: CurrencyCode
    description: Description

    @property
    def money(self) -> Money:
        return Money(self.amount_minor, self.currency)


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer as stored."""

    id: uuid.UUID
    customer_id: uuid.UUID
    source_account_id: uuid.UUID
    destination_account_id: uuid.UUID
    amount_minor: int
    currency: str
    description: str
    status: TransferStatus
    entry_id: uuid.UUID
    created_at: datetime

    def snapshot(self) -> dict[str, object]:
        """The transfer as audited and published."""
        return {
            "transfer_id": str(self.id),
            "customer_id": str(self.customer_id),
            "source_account_id": str(self.source_account_id),
            "destination_account_id": str(self.destination_account_id),
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "status": self.status.value,
            "entry_id": str(self.entry_id),
        }


class TransferRead(BaseModel):
    """A transfer as its customer sees it."""

    id: uuid.UUID
    status: TransferStatus
    source_account_id: uuid.UUID
    destination_account_id: uuid.UUID
    amount_minor: int
    currency: str
    description: str
    entry_id: uuid.UUID
    created_at: datetime

    @classmethod
    def from_record(cls, record: TransferRecord) -> TransferRead:
        return cls(
            id=record.id,
            status=record.status,
            source_account_id=record.source_account_id,
            destination_account_id=record.destination_account_id,
            amount_minor=record.amount_minor,
            currency=record.currency,
            description=record.description,
            entry_id=record.entry_id,
            created_at=record.created_at,
        )

"""Transfer persistence."""

from __future__ import annotations

import dataclasses
import uuid
from typing import cast

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.transfers.models import Transfer
from core_banking.transfers.schemas import TransferRecord

_transfers = cast(Table, Transfer.__table__)
_FIELDS = tuple(field.name for field in dataclasses.fields(TransferRecord))
# Inserted only when the destination is a customer's account, in the same round trip.
_INSERT_TO_CUSTOMER_ACCOUNT = text(
    """
INSERT INTO core_banking.transfers (id, customer_id, source_account_id, destination_account_id, amount_minor,
                                    currency, description, status, entry_id, created_at)
SELECT :id, :customer_id, :source_account_id, :destination_account_id, :amount_minor,
       :currency, :description, :status, :entry_id, :created_at
WHERE EXISTS (
    SELECT 1 FROM core_banking.accounts WHERE id = :destination_account_id AND kind = 'CUSTOMER'
)
RETURNING id
"""
)


async def insert_to_customer_account(session: AsyncSession, record: TransferRecord) -> bool:
    """Store the transfer unless its destination is one of the bank's own accounts; True when stored."""
    values = {name: getattr(record, name) for name in _FIELDS}
    values["status"] = record.status.value
    return (await session.execute(_INSERT_TO_CUSTOMER_ACCOUNT, values)).first() is not None


async def get_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, transfer_id: uuid.UUID
) -> TransferRecord | None:
    """The transfer, only if `customer_id` made it."""
    statement = select(*(_transfers.c[name] for name in _FIELDS)).where(
        _transfers.c.id == transfer_id, _transfers.c.customer_id == customer_id
    )
    row = (await session.execute(statement)).mappings().first()
    return None if row is None else TransferRecord(**{name: row[name] for name in _FIELDS})

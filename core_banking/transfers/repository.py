"""Transfer persistence."""

from __future__ import annotations

import dataclasses
import uuid
from typing import cast

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core_banking.transfers.models import Transfer
from core_banking.transfers.schemas import TransferRecord
from obank.database import Companion, DriverStatement

_transfers = cast(Table, Transfer.__table__)
_FIELDS = tuple(field.name for field in dataclasses.fields(TransferRecord))
# The transfer row, written by the ledger's booking statement with its journal entry.
_TRANSFER_CLAUSE = """transfer AS (
    INSERT INTO core_banking.transfers (id, customer_id, source_account_id, destination_account_id, amount_minor,
                                        currency, description, status, entry_id, created_at)
    SELECT :transfer_id, :transfer_customer_id, :transfer_source_account_id, :transfer_destination_account_id,
           :transfer_amount_minor, :transfer_currency, :transfer_description, :transfer_status, :transfer_entry_id,
           :transfer_created_at
)"""


def transfer_companion(record: TransferRecord) -> Companion:
    """The transfer's row, as a write the ledger's booking statement makes with the transfer's entry."""
    values: dict[str, object] = {f"transfer_{name}": getattr(record, name) for name in _FIELDS}
    values["transfer_status"] = record.status.value
    return Companion(_TRANSFER_CLAUSE, values)


# Both accounts a transfer names, in one statement: one snapshot, so they are read consistently.
_SCREENING_ACCOUNTS = DriverStatement(
    text(
        """
SELECT id, customer_id, kind, sort_code, account_number
FROM core_banking.accounts WHERE id IN (:source_account_id, :destination_account_id)
"""
    )
)


@dataclasses.dataclass(frozen=True, slots=True)
class ScreenedAccount:
    """What the fraud checks need of an account a transfer names."""

    id: uuid.UUID
    customer_id: uuid.UUID | None
    kind: str
    sort_code: str
    account_number: str


async def screening_accounts(
    statements: AsyncEngine, source_account_id: uuid.UUID, destination_account_id: uuid.UUID
) -> dict[uuid.UUID, ScreenedAccount]:
    """The transfer's accounts that exist, by id, read outside any transaction on `statements`, an autocommit
    engine (`obank.database.create_statement_engine`): one round trip, no BEGIN or COMMIT.

    A single statement sees one snapshot, so autocommit reads them as consistently as a transaction would.
    """
    parameters = {"source_account_id": source_account_id, "destination_account_id": destination_account_id}
    async with statements.connect() as connection:
        rows = await _SCREENING_ACCOUNTS.rows(connection, parameters)
    return {row[0]: ScreenedAccount(*row) for row in rows}


async def get_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, transfer_id: uuid.UUID
) -> TransferRecord | None:
    """The transfer, only if `customer_id` made it."""
    statement = select(*(_transfers.c[name] for name in _FIELDS)).where(
        _transfers.c.id == transfer_id, _transfers.c.customer_id == customer_id
    )
    row = (await session.execute(statement)).mappings().first()
    return None if row is None else TransferRecord(**{name: row[name] for name in _FIELDS})

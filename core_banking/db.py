"""The core_banking schema: one declarative base for every domain's tables."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

# Each domain's models module, imported so its tables join the metadata Alembic compares.
MODEL_MODULES = (
    "core_banking.customers.models",
    "core_banking.accounts.models",
    "core_banking.ledger.models",
    "core_banking.idempotency.models",
    "core_banking.transfers.models",
    "core_banking.interest.models",
    "core_banking.reconciliation.models",
    "core_banking.consents.models",
    "core_banking.funds_confirmations.models",
    "core_banking.payments.models",
    "core_banking.payment_orders.models",
    "core_banking.statements.models",
    "core_banking.payees.models",
)


class Base(DeclarativeBase):
    metadata = schema_metadata("core_banking")


def registered_metadata() -> MetaData:
    """core_banking's metadata with every domain's tables registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

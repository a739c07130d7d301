"""The open_banking schema: what the Open Banking context keeps itself (TPPs' event subscriptions and events).

Consents, accounts and money stay core banking's; this schema holds only what no other context owns.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

# Each part's models module, imported so its tables join the metadata Alembic compares.
MODEL_MODULES: tuple[str, ...] = ("open_banking.events.models",)


class Base(DeclarativeBase):
    metadata = schema_metadata("open_banking")


def registered_metadata() -> MetaData:
    """open_banking's metadata with every part's tables registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

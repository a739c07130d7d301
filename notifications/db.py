"""The notifications schema: one declarative base for every part's tables (webhooks, customer messages, secure
messages)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

# Each part's models module, imported so its tables join the metadata Alembic compares.
MODEL_MODULES: tuple[str, ...] = (
    "notifications.webhooks.models",
    "notifications.customers.models",
    "notifications.conversations.models",
)


class Base(DeclarativeBase):
    metadata = schema_metadata("notifications")


def registered_metadata() -> MetaData:
    """notifications' metadata with every part's tables registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

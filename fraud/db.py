"""The fraud schema: one declarative base for every part's tables (features, alerts)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

# Each part's models module, imported so its tables join the metadata Alembic compares.
MODEL_MODULES: tuple[str, ...] = ("fraud.features.models", "fraud.alerts.models")


class Base(DeclarativeBase):
    metadata = schema_metadata("fraud")


def registered_metadata() -> MetaData:
    """fraud's metadata with every part's tables registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

"""The auth_server schema: one declarative base for every domain's tables."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

# Each domain's models module, imported so its tables join the metadata Alembic compares.
MODEL_MODULES = (
    "auth_server.identities.models",
    "auth_server.mfa.models",
    "auth_server.sessions.models",
    "auth_server.oauth.models",
    "auth_server.devices.models",
)


class Base(DeclarativeBase):
    metadata = schema_metadata("auth_server")


def registered_metadata() -> MetaData:
    """auth_server's metadata with every domain's tables registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

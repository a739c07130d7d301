"""The faster_payments schema: the scheme's own tables, apart from every participant's."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

MODEL_MODULES = ("faster_payments.models",)


class Base(DeclarativeBase):
    metadata = schema_metadata("faster_payments")


def registered_metadata() -> MetaData:
    """faster_payments' metadata with every table registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

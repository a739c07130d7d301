"""The web schema: the browsers' sessions and the tokens they stand for (sealed)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from obank.database import schema_metadata

MODEL_MODULES: tuple[str, ...] = ("web.sessions.models",)


class Base(DeclarativeBase):
    metadata = schema_metadata("web")


def registered_metadata() -> MetaData:
    """web's metadata with every part's tables registered."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata

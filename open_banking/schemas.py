"""The envelope every Open Banking response carries around its `Data` (R/W API Profile, "Links" and "Meta")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Links(BaseModel):
    """Absolute URIs: the resource itself and, when paginated, the pages around it."""

    model_config = ConfigDict(extra="forbid")

    Self: str
    First: str | None = None
    Prev: str | None = None
    Next: str | None = None
    Last: str | None = None


class Meta(BaseModel):
    """Mandatory, possibly empty."""

    model_config = ConfigDict(extra="forbid")

    TotalPages: int | None = None
    FirstAvailableDateTime: datetime | None = None
    LastAvailableDateTime: datetime | None = None

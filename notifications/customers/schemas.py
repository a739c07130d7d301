"""Shapes of the notification preferences and inbox APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from notifications.customers.models import Channel, Kind

# Far above any balance a threshold could matter for, and within PostgreSQL's BIGINT.
MAX_THRESHOLD_MINOR = 10**13
Channels = Annotated[list[Channel], Field(max_length=len(Channel))]


class KindPreference(BaseModel):
    """One kind of notification: the channels it goes by, and those the customer cannot turn off."""

    kind: Kind
    channels: list[Channel]
    security: bool
    required_channels: list[Channel]


class PreferencesRead(BaseModel):
    kinds: list[KindPreference]
    low_balance_threshold_minor: int | None = Field(
        description="Tell the customer when an account's available balance falls below this (minor units of the "
        "account's currency); null: never"
    )


class PreferencesUpdate(BaseModel):
    """Every preference at once: kinds not named go by the defaults (email and in-app)."""

    model_config = ConfigDict(extra="forbid")

    kinds: dict[Kind, Channels] = Field(default_factory=dict)
    low_balance_threshold_minor: int | None = Field(default=None, ge=0, le=MAX_THRESHOLD_MINOR)


class InboxMessage(BaseModel):
    id: uuid.UUID
    kind: Kind
    subject: str
    text: str
    sent_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    messages: list[InboxMessage]
    limit: int
    offset: int

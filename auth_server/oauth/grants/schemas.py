"""The consents API's shapes: a customer's grants as their apps and pages read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

ConsentState = Literal["ACTIVE", "EXPIRED", "REVOKED"]


class ConsentView(BaseModel):
    """One grant: which app, what it may do, over which accounts, since and until when."""

    grant_id: uuid.UUID
    client_id: str
    client_name: str
    scopes: list[str]
    authorization_details: list[dict[str, Any]] | None
    consent_id: str | None
    account_ids: list[uuid.UUID]
    status: ConsentState
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ConsentList(BaseModel):
    """A customer's grants, newest first."""

    consents: list[ConsentView]

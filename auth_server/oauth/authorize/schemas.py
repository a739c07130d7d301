"""Shapes of an authorization under way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from auth_server.oauth.par.schemas import PushedRequest


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """An authorization between the request_uri's first use and its outcome, with its own lifetime."""

    id: uuid.UUID
    request: PushedRequest
    request_uri: str
    created_at: datetime  # when the request reached this server: "fresh" and max_age count from here
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

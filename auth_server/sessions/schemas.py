"""Shapes of browser sessions: their stage, what they prove (RFC 8176 `amr`, `acr`), and a newly issued token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from obank.claims import ACR_CA, ACR_SCA

__all__ = ["ACR_CA", "ACR_SCA"]

# RFC 8176 s2 authentication method reference values.
AMR_PASSWORD = "pwd"  # noqa: S105 (a label, not a secret)
AMR_OTP = "otp"


class SessionStage(StrEnum):
    """How far the browser has got: a pending stage proves the password only and grants nothing."""

    AWAITING_OTP = "awaiting_otp"
    AWAITING_ENROLMENT = "awaiting_enrolment"
    AUTHENTICATED = "authenticated"


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """A live browser session as the server holds it (never the token itself)."""

    id: uuid.UUID
    identity_id: uuid.UUID
    stage: SessionStage
    amr: tuple[str, ...]
    acr: str | None
    auth_time: datetime | None
    return_to: str | None
    created_at: datetime
    absolute_expires_at: datetime

    @property
    def is_authenticated(self) -> bool:
        return self.stage is SessionStage.AUTHENTICATED

    @property
    def is_strong(self) -> bool:
        """Authenticated with two factors (password and one-time code)."""
        return self.is_authenticated and self.acr == ACR_SCA


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A session and the token the browser must now hold: returned only when a token is (re)issued."""

    record: SessionRecord
    token: str

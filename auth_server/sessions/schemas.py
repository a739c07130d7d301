"""Shapes of browser sessions: their stage, what they prove (RFC 8176 `amr`, `acr`), and a newly issued token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, Field

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
    last_seen_at: datetime
    absolute_expires_at: datetime
    idle_expires_at: datetime  # ends here unless used again first (`service.IDLE_TIMEOUT` after last seen)

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


class SessionView(BaseModel):
    """A live sign-in session as staff and its owner read it: how far it got, how strongly, and until when.

    Only what the session table holds: no address, device or user agent is kept per session.
    """

    id: uuid.UUID
    stage: SessionStage = Field(description="`authenticated`, or part way through signing in")
    acr: str | None = Field(description="How strongly it is authenticated (UK Open Banking `acr` values)")
    amr: list[str] = Field(description="Authentication methods used (RFC 8176: `pwd`, `otp`)")
    authenticated_at: datetime | None
    created_at: datetime
    last_seen_at: datetime = Field(description="Last used (recorded at most once a minute)")
    expires_at: datetime = Field(description="When it ends unless used again: idle or absolute lifetime, the sooner")

    @classmethod
    def of(cls, record: SessionRecord) -> Self:
        return cls(
            id=record.id,
            stage=record.stage,
            acr=record.acr,
            amr=list(record.amr),
            authenticated_at=record.auth_time,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=min(record.absolute_expires_at, record.idle_expires_at),
        )


class CustomerSessionView(SessionView):
    current: bool = Field(description="The session this request's token was issued under")


class CustomerSessionList(BaseModel):
    """The customer's live sign-in sessions, newest first."""

    sessions: list[CustomerSessionView]


class OtherSessionsEnded(BaseModel):
    """What `DELETE /api/v1/sessions` did: how many sessions ended, and the one kept (none when unknown)."""

    sessions_ended: int
    current_session_id: uuid.UUID | None

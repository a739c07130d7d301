"""What a web session holds, sealed: the sign-in in progress, the tokens, and an action awaiting step-up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Surface(StrEnum):
    """Which people's surface a session belongs to; each has its own cookie, client and sign-in page."""

    APP = "app"
    CONSOLE = "console"


class SignInInProgress(BaseModel):
    """An authorization request this browser started: its `state` and PKCE verifier, and where to resume."""

    state: str
    verifier: str
    return_to: str
    started_at: datetime


class Tokens(BaseModel):
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime


class PendingAction(BaseModel):
    """A request the API refused for a fresh strong authentication (RFC 9470): retried after the step-up."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    idempotency_key: str | None = None
    done: str  # the page that shows the outcome; `{id}` is replaced by the answer's id
    title: str


class SessionState(BaseModel):
    sign_in: SignInInProgress | None = None
    tokens: Tokens | None = None
    pending: PendingAction | None = None
    name: str | None = None  # who is signed in, for the page header (the token's claims, never logged)
    roles: list[str] = []


@dataclass(slots=True)
class WebSessionRecord:
    id: uuid.UUID
    surface: Surface
    subject: str | None
    state: SessionState
    created_at: datetime
    expires_at: datetime

    @property
    def signed_in(self) -> bool:
        return self.subject is not None and self.state.tokens is not None

"""Bodies of the internal facade routes: the facade's commands, field for field."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

# Internal callers name who acted (the customer's sign-in session) in at most this many characters.
MAX_SESSION_ID = 64


class AuthoriseConsent(BaseModel):
    customer_id: uuid.UUID
    account_ids: list[uuid.UUID] = Field(max_length=100)
    session_id: str | None = Field(default=None, max_length=MAX_SESSION_ID)


class RejectConsent(BaseModel):
    customer_id: uuid.UUID | None = None
    session_id: str | None = Field(default=None, max_length=MAX_SESSION_ID)


class RevokeConsent(BaseModel):
    customer_id: uuid.UUID
    session_id: str | None = Field(default=None, max_length=MAX_SESSION_ID)


class CustomerExists(BaseModel):
    exists: bool

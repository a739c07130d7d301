"""Bodies of the internal facade routes: the facade's commands, field for field."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from core_banking.consents.schemas import AccountAccessDetails, FundsConfirmationDetails
from obank.money import Money

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


# Bounds on what internal callers send; the services apply the real limits and name the field at fault.
_LOOSE = 1_000


class CreateAccountAccessConsent(BaseModel):
    client_id: str = Field(max_length=_LOOSE)
    details: AccountAccessDetails
    idempotency_key: str | None = Field(default=None, max_length=_LOOSE)


class CreateFundsConfirmationConsent(BaseModel):
    client_id: str = Field(max_length=_LOOSE)
    details: FundsConfirmationDetails
    idempotency_key: str | None = Field(default=None, max_length=_LOOSE)


class WithdrawConsent(BaseModel):
    client_id: str = Field(max_length=_LOOSE)


class ConfirmFunds(BaseModel):
    client_id: str = Field(max_length=_LOOSE)
    amount: Money
    reference: str = Field(max_length=_LOOSE)

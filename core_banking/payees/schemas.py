"""Shapes of payees: what a customer asks to check, add or change, and the records every reader sees."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.payees.models import CopResult
from core_banking.payments.creditors import MAX_CREDITOR_NAME
from core_banking.payments.schemas import PAYEE_REFERENCE_LENGTH

MAX_NICKNAME = 40
# The characters every UK bank carries in a Faster Payments reference (the SWIFT set, and '&').
_REFERENCE_CHARACTERS = re.compile(r"[A-Za-z0-9 /\-?:().,'+&]+")
# C0 and C1 controls and DEL: never part of a name (the app refuses C0 in bodies already).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _has_letters(value: str) -> str:
    if not any(char.isalnum() for char in value):
        raise ValueError("a name has letters or digits")
    return value


def _faster_payments_reference(value: str) -> str:
    if not _REFERENCE_CHARACTERS.fullmatch(value):
        raise ValueError("a reference holds letters, digits, spaces and / - ? : ( ) . , ' + & only")
    return value


PayeeName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CREDITOR_NAME),
    AfterValidator(_printable),
    AfterValidator(_has_letters),
]
Nickname = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NICKNAME), AfterValidator(_printable)
]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=PAYEE_REFERENCE_LENGTH),
    AfterValidator(_faster_payments_reference),
]
SortCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}-?[0-9]{2}-?[0-9]{2}$")]
AccountNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
Iban = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=42), AfterValidator(_printable)]


class PayeeAccountIn(BaseModel):
    """A UK account: its sort code and account number, or its GB IBAN; and the holder's name as the customer
    knows it."""

    model_config = ConfigDict(extra="forbid")

    name: PayeeName
    sort_code: SortCode | None = None
    account_number: AccountNumber | None = None
    iban: Iban | None = None


class PayeeConfirmationCreate(PayeeAccountIn):
    """Check a name against an account before adding it as a payee."""


class PayeeCreate(PayeeAccountIn):
    """Add a payee: the account and name of an unexpired confirmation of payee by the same customer.

    When that check was not a MATCH, `confirmed_despite` repeats its result: the customer saw the warning and
    chose to go on.
    """

    reference: Reference | None = None
    nickname: Nickname | None = None
    confirmation_id: uuid.UUID
    confirmed_despite: CopResult | None = None


class PayeeUpdate(BaseModel):
    """What may change of a payee: its nickname and default reference (null clears one). A new name or account is
    a new payee."""

    model_config = ConfigDict(extra="forbid")

    nickname: Nickname | None = None
    reference: Reference | None = None


@dataclass(frozen=True, slots=True)
class ConfirmationRecord:
    """A confirmation of payee answer; `actual_name` for a CLOSE_MATCH only."""

    id: uuid.UUID
    customer_id: uuid.UUID
    result: CopResult
    reason: str | None
    actual_name: str | None
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PayeeRecord:
    """A customer's payee as it stands; `scheme`/`identification` as the customer named the account."""

    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    nickname: str | None
    scheme: CreditorScheme
    identification: str
    sort_code: str
    account_number: str
    reference: str | None
    cop_result: CopResult
    cop_reason: str | None
    cooling_off_until: datetime
    created_at: datetime
    updated_at: datetime

    @property
    def creditor(self) -> CreditorAccount:
        return CreditorAccount(self.name, self.scheme, self.identification)


@dataclass(frozen=True, slots=True)
class ResolvedPayee:
    """A payee as a payment to it needs it: the creditor, the default reference and the end of its cooling-off."""

    id: uuid.UUID
    creditor: CreditorAccount
    reference: str | None
    cooling_off_until: datetime

    def cooling_off(self, now: datetime) -> bool:
        """Whether the payee is still in its cooling-off period at `now`."""
        return now < self.cooling_off_until


class ConfirmationRead(BaseModel):
    """A confirmation of payee answer; `actual_name` only for a CLOSE_MATCH. Add the payee before `expires_at`."""

    id: uuid.UUID
    result: CopResult
    reason: str | None
    actual_name: str | None
    expires_at: datetime

    @classmethod
    def from_record(cls, record: ConfirmationRecord) -> ConfirmationRead:
        return cls(
            id=record.id,
            result=record.result,
            reason=record.reason,
            actual_name=record.actual_name,
            expires_at=record.expires_at,
        )


class PayeeRead(BaseModel):
    """A payee as its customer sees it; `iban` when the account was given as an IBAN."""

    id: uuid.UUID
    name: str
    nickname: str | None
    sort_code: str
    account_number: str
    iban: str | None
    reference: str | None
    cop_result: CopResult
    cop_reason: str | None
    cooling_off_until: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: PayeeRecord) -> PayeeRead:
        return cls(
            id=record.id,
            name=record.name,
            nickname=record.nickname,
            sort_code=record.sort_code,
            account_number=record.account_number,
            iban=record.identification if record.scheme is CreditorScheme.IBAN else None,
            reference=record.reference,
            cop_result=record.cop_result,
            cop_reason=record.cop_reason,
            cooling_off_until=record.cooling_off_until,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

"""Shapes of payments: what a customer or a TPP asks to pay, and the record every reader sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.fields import CurrencyCode, PositiveMinorUnits
from obank.money import Money

PAYEE_REFERENCE_LENGTH = 18  # what Faster Payments shows the payee of a reference


class HoldReason(StrEnum):
    """Why a pending payment waits for its customer (or the bank) before it goes on."""

    PAYEE_COOLING_OFF = "PAYEE_COOLING_OFF"  # a new payee's cooling-off: the customer confirms or cancels
    FRAUD_REVIEW = "FRAUD_REVIEW"  # the bank's fraud checks: the customer confirms, or an analyst decides


class PaymentStatus(StrEnum):
    """ISO 20022 `ExternalPaymentTransactionStatus1Code`, as UK Open Banking v4.0 writes a payment's status.

    PDNG: accepted by the bank, funds held, not yet screened and sent. ACSP: sent to the scheme, settlement in
    process. ACSC: settled (final). RJCT: rejected, the hold released (final).
    """

    PENDING = "PDNG"
    ACCEPTED_SETTLEMENT_IN_PROCESS = "ACSP"
    ACCEPTED_SETTLEMENT_COMPLETED = "ACSC"
    REJECTED = "RJCT"

    @property
    def final(self) -> bool:
        return self in (PaymentStatus.ACCEPTED_SETTLEMENT_COMPLETED, PaymentStatus.REJECTED)


class PaymentOrigin(StrEnum):
    """Who initiated it: the customer in the bank's own app, or a TPP with the customer's consent."""

    CUSTOMER = "CUSTOMER"
    OPEN_BANKING = "OPEN_BANKING"


class Route(StrEnum):
    """Where the money goes: an account of this bank (booked at once) or another bank's (Faster Payments)."""

    INTERNAL = "INTERNAL"
    FASTER_PAYMENTS = "FASTER_PAYMENTS"


@dataclass(frozen=True, slots=True)
class PaymentInitiation:
    """A payment to make from one of `customer_id`'s accounts.

    Open Banking payments name the consent they consume (`consent_id`, in the same transaction as the
    payment) and the TPP (`client_id`).
    """

    customer_id: uuid.UUID
    debtor_account_id: uuid.UUID
    amount: Money
    creditor: CreditorAccount
    reference: str | None = None
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    consent_id: str | None = None
    client_id: str | None = None
    payee_id: uuid.UUID | None = None  # the customer's saved payee, whose details `creditor` holds
    # The customer's sign-in session behind the request, for the fraud engine; not part of the fingerprint (a
    # retry after signing in again is the same payment).
    session_id: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What an idempotency key is bound to: the same key with any other request is refused."""
        return {
            "payee_id": None if self.payee_id is None else str(self.payee_id),
            "customer_id": str(self.customer_id),
            "debtor_account_id": str(self.debtor_account_id),
            "amount_minor": self.amount.minor,
            "currency": self.amount.currency,
            "creditor_name": self.creditor.name,
            "creditor_scheme": self.creditor.scheme.value,
            "creditor_identification": self.creditor.identification,
            "reference": self.reference,
            "end_to_end_id": self.end_to_end_id,
            "instruction_id": self.instruction_id,
            "consent_id": self.consent_id,
            "client_id": self.client_id,
        }


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One step of a payment's life, for `payment-details` and the customer's history."""

    status: PaymentStatus
    reason: str | None
    reason_text: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """A payment as it stands; `history` lists its status changes, oldest first."""

    id: uuid.UUID
    origin: PaymentOrigin
    route: Route
    customer_id: uuid.UUID
    debtor_account_id: uuid.UUID
    amount: Money
    creditor: CreditorAccount
    creditor_account_id: uuid.UUID | None
    reference: str | None
    end_to_end_id: str
    instruction_id: str
    consent_id: str | None
    client_id: str | None
    status: PaymentStatus
    reason: str | None
    reason_text: str | None
    created_at: datetime
    status_updated_at: datetime
    payee_id: uuid.UUID | None = None
    # Held for the customer's confirmation (a payee in its cooling-off, or a fraud review) until this instant;
    # then rejected.
    confirm_by: datetime | None = None
    held_for: HoldReason | None = None
    history: tuple[StatusChange, ...] = field(default=())


# The first-party API (`/api/v1/payments`) ------------------------------------------------------------------

SortCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}-?[0-9]{2}-?[0-9]{2}$")]
AccountNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$")]
Iban = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=42)]
PayeeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=140)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PAYEE_REFERENCE_LENGTH)]


class PayeeIn(BaseModel):
    """The payee: a UK sort code and account number, or an IBAN; and their name."""

    model_config = ConfigDict(extra="forbid")

    name: PayeeName
    sort_code: SortCode | None = None
    account_number: AccountNumber | None = None
    iban: Iban | None = None

    @model_validator(mode="after")
    def _one_way(self) -> PayeeIn:
        by_number = self.sort_code is not None and self.account_number is not None
        if by_number == (self.iban is not None) or (self.sort_code is None) != (self.account_number is None):
            raise ValueError("give either sort_code and account_number, or iban")
        return self

    def creditor(self) -> CreditorAccount:
        if self.iban is not None:
            return CreditorAccount(self.name, CreditorScheme.IBAN, self.iban.replace(" ", "").upper())
        assert self.sort_code is not None and self.account_number is not None
        return CreditorAccount(
            self.name, CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, self.sort_code.replace("-", "") + self.account_number
        )


class PaymentCreate(BaseModel):
    """Pay someone from one of the caller's accounts: at this bank at once, at another by Faster Payments."""

    model_config = ConfigDict(extra="forbid")

    debtor_account_id: uuid.UUID
    amount_minor: PositiveMinorUnits
    currency: CurrencyCode
    payee: PayeeIn | None = None
    payee_id: uuid.UUID | None = None  # a saved payee, instead of `payee`
    reference: Reference | None = None

    def initiation(self, customer_id: uuid.UUID, saved: tuple[CreditorAccount, str | None] | None) -> PaymentInitiation:
        """The payment to make; `saved` is the saved payee's account and default reference, when paying one."""
        if saved is not None:
            creditor, reference = saved
            return PaymentInitiation(
                customer_id=customer_id,
                debtor_account_id=self.debtor_account_id,
                amount=Money(self.amount_minor, self.currency),
                creditor=creditor,
                reference=self.reference or reference,
                payee_id=self.payee_id,
            )
        assert self.payee is not None
        return PaymentInitiation(
            customer_id=customer_id,
            debtor_account_id=self.debtor_account_id,
            amount=Money(self.amount_minor, self.currency),
            creditor=self.payee.creditor(),
            reference=self.reference,
        )


class StatusChangeRead(BaseModel):
    status: PaymentStatus
    reason: str | None
    reason_text: str | None
    at: datetime


class PayeeRead(BaseModel):
    name: str
    scheme: str
    identification: str


class PaymentRead(BaseModel):
    """A payment as its customer sees it; `status` is ISO 20022 (PDNG, ACSP, ACSC, RJCT)."""

    id: uuid.UUID
    status: PaymentStatus
    reason: str | None
    reason_text: str | None
    debtor_account_id: uuid.UUID
    amount_minor: int
    currency: str
    payee: PayeeRead
    reference: str | None
    end_to_end_id: str
    origin: PaymentOrigin
    created_at: datetime
    status_updated_at: datetime
    payee_id: uuid.UUID | None = None
    confirm_by: datetime | None = None  # waiting for the customer's confirmation until then (else rejected)
    held_for: HoldReason | None = None  # why it waits: a payee in its cooling-off, or the bank's fraud review
    history: list[StatusChangeRead]

    @classmethod
    def from_record(cls, record: PaymentRecord) -> PaymentRead:
        return cls(
            id=record.id,
            status=record.status,
            reason=record.reason,
            reason_text=record.reason_text,
            debtor_account_id=record.debtor_account_id,
            amount_minor=record.amount.minor,
            currency=record.amount.currency,
            payee=PayeeRead(
                name=record.creditor.name,
                scheme=record.creditor.scheme.value,
                identification=record.creditor.identification,
            ),
            reference=record.reference,
            end_to_end_id=record.end_to_end_id,
            origin=record.origin,
            created_at=record.created_at,
            status_updated_at=record.status_updated_at,
            payee_id=record.payee_id,
            confirm_by=record.confirm_by,
            held_for=record.held_for,
            history=[
                StatusChangeRead(status=c.status, reason=c.reason, reason_text=c.reason_text, at=c.at)
                for c in record.history
            ],
        )

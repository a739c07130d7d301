"""Shapes of consents: what a TPP asks for, and the record the authorization server reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core_banking.consents.models import Consent, ConsentKind, ConsentStatus
from obank.money import Money


class Permission(StrEnum):
    """UK Open Banking v4.0 `OBInternalPermissions1Code`: the data clusters an account access consent covers."""

    READ_ACCOUNTS_BASIC = "ReadAccountsBasic"
    READ_ACCOUNTS_DETAIL = "ReadAccountsDetail"
    READ_BALANCES = "ReadBalances"
    READ_BENEFICIARIES_BASIC = "ReadBeneficiariesBasic"
    READ_BENEFICIARIES_DETAIL = "ReadBeneficiariesDetail"
    READ_DIRECT_DEBITS = "ReadDirectDebits"
    READ_OFFERS = "ReadOffers"
    READ_PAN = "ReadPAN"
    READ_PARTY = "ReadParty"
    READ_PARTY_PSU = "ReadPartyPSU"
    READ_PRODUCTS = "ReadProducts"
    READ_SCHEDULED_PAYMENTS_BASIC = "ReadScheduledPaymentsBasic"
    READ_SCHEDULED_PAYMENTS_DETAIL = "ReadScheduledPaymentsDetail"
    READ_STANDING_ORDERS_BASIC = "ReadStandingOrdersBasic"
    READ_STANDING_ORDERS_DETAIL = "ReadStandingOrdersDetail"
    READ_STATEMENTS_BASIC = "ReadStatementsBasic"
    READ_STATEMENTS_DETAIL = "ReadStatementsDetail"
    READ_TRANSACTIONS_BASIC = "ReadTransactionsBasic"
    READ_TRANSACTIONS_CREDITS = "ReadTransactionsCredits"
    READ_TRANSACTIONS_DEBITS = "ReadTransactionsDebits"
    READ_TRANSACTIONS_DETAIL = "ReadTransactionsDetail"


class CreditorScheme(StrEnum):
    """UK Open Banking `OBInternalAccountIdentification4Code` schemes a domestic payee can be named by."""

    SORT_CODE_ACCOUNT_NUMBER = "UK.OBIE.SortCodeAccountNumber"
    IBAN = "UK.OBIE.IBAN"
    BBAN = "UK.OBIE.BBAN"
    PAYM = "UK.OBIE.Paym"


# Open Banking v4.0 status codes, for the consent resources' HTTP representation.
OB_STATUS_CODES: dict[ConsentStatus, str] = {
    ConsentStatus.AWAITING_AUTHORISATION: "AWAU",
    ConsentStatus.AUTHORISED: "AUTH",
    ConsentStatus.REJECTED: "RJCT",
    ConsentStatus.CONSUMED: "COND",
    ConsentStatus.REVOKED: "CANC",
}


@dataclass(frozen=True, slots=True)
class AccountAccessDetails:
    """What data the TPP may read, until when, and over which transaction window."""

    permissions: tuple[Permission, ...]
    expires_at: datetime | None = None
    transactions_from: datetime | None = None
    transactions_to: datetime | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "permissions": [p.value for p in self.permissions],
            "expires_at": _iso(self.expires_at),
            "transactions_from": _iso(self.transactions_from),
            "transactions_to": _iso(self.transactions_to),
        }


@dataclass(frozen=True, slots=True)
class CreditorAccount:
    """The payee as the customer will see it on the consent page."""

    name: str
    scheme: CreditorScheme
    identification: str


@dataclass(frozen=True, slots=True)
class DomesticPaymentDetails:
    """The instructed amount, the payee and the reference of one domestic payment."""

    amount: Money
    creditor: CreditorAccount
    reference: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "amount": self.amount.to_decimal_string(),
            "currency": self.amount.currency,
            "creditor_name": self.creditor.name,
            "creditor_scheme": self.creditor.scheme.value,
            "creditor_identification": self.creditor.identification,
            "reference": self.reference,
        }


ConsentDetails = AccountAccessDetails | DomesticPaymentDetails


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A consent as other contexts see it: kind, owning client, status, details, and who authorised it."""

    id: str
    kind: ConsentKind
    client_id: str
    status: ConsentStatus
    details: ConsentDetails
    customer_id: uuid.UUID | None
    account_ids: tuple[uuid.UUID, ...]
    created_at: datetime
    status_updated_at: datetime

    @property
    def ob_status_code(self) -> str:
        return OB_STATUS_CODES[self.status]

    def is_expired(self, now: datetime) -> bool:
        """Whether an account access consent has passed its ExpirationDateTime."""
        return (
            isinstance(self.details, AccountAccessDetails)
            and self.details.expires_at is not None
            and self.details.expires_at <= now
        )

    @classmethod
    def from_model(cls, consent: Consent) -> ConsentRecord:
        details: ConsentDetails
        if consent.kind is ConsentKind.ACCOUNT_ACCESS:
            details = AccountAccessDetails(
                permissions=tuple(Permission(p) for p in consent.permissions or ()),
                expires_at=consent.expires_at,
                transactions_from=consent.transactions_from,
                transactions_to=consent.transactions_to,
            )
        else:
            assert consent.amount_minor is not None and consent.currency is not None
            assert consent.creditor_name is not None and consent.creditor_scheme is not None
            assert consent.creditor_identification is not None
            details = DomesticPaymentDetails(
                amount=Money(consent.amount_minor, consent.currency),
                creditor=CreditorAccount(
                    consent.creditor_name, CreditorScheme(consent.creditor_scheme), consent.creditor_identification
                ),
                reference=consent.reference,
            )
        return cls(
            id=consent.id,
            kind=consent.kind,
            client_id=consent.client_id,
            status=consent.status,
            details=details,
            customer_id=consent.customer_id,
            account_ids=tuple(consent.account_ids),
            created_at=consent.created_at,
            status_updated_at=consent.status_updated_at,
        )

    def snapshot(self) -> dict[str, Any]:
        """The consent as audit records and events carry it."""
        return {
            "consent_id": self.id,
            "kind": self.kind.value,
            "client_id": self.client_id,
            "status": self.status.value,
            "customer_id": None if self.customer_id is None else str(self.customer_id),
            "account_ids": [str(a) for a in self.account_ids],
            **self.details.snapshot(),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

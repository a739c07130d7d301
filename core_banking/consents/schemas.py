"""Shapes of consents: what a TPP asks for, and the record the authorization server and open banking read."""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from core_banking.accounts.schemas import AccountRecord
from core_banking.consents.models import ORDER_KINDS, Consent, ConsentKind, ConsentStatus, RevokedBy
from core_banking.ledger.periods import bank_day
from core_banking.payment_orders.schedule import Frequency, execution_moment, nominal_date
from obank.money import Money

# How long a consent may await the customer's answer. UK OB leaves it to the ASPSP; the authorization
# that answers it lives minutes (PAR 90 s, then a 10-minute sign-in), so an hour covers a TPP that creates
# the consent a little ahead. Past it the consent reads as Rejected: the customer never completed the
# authorisation (Read/Write Data API Profile, "Changes to an Intent's Authorized State": RJCT).
AUTHORISATION_WINDOW = timedelta(hours=1)


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
    ConsentStatus.EXPIRED: "EXPD",
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
            "permissions": [str(p) for p in self.permissions],
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


class DebtorScheme(StrEnum):
    """The schemes a funds confirmation consent's DebtorAccount may be named by: the ones our accounts carry."""

    SORT_CODE_ACCOUNT_NUMBER = "UK.OBIE.SortCodeAccountNumber"
    IBAN = "UK.OBIE.IBAN"


@dataclass(frozen=True, slots=True)
class DebtorAccount:
    """The account whose funds a CBPII may check, as the TPP names it (OB `DebtorAccount`)."""

    scheme: DebtorScheme
    identification: str
    name: str | None = None

    def names(self, account: AccountRecord) -> bool:
        """Whether this is `account`: its sort code and number (14 digits), or its IBAN (spaces and case aside)."""
        if self.scheme is DebtorScheme.SORT_CODE_ACCOUNT_NUMBER:
            return self.identification == account.sort_code + account.account_number
        return self.identification.replace(" ", "").upper() == account.iban


@dataclass(frozen=True, slots=True)
class DomesticPaymentDetails:
    """The instructed amount, the payee and the reference of one domestic payment.

    A TPP's consent (UK OB `OBWriteDomesticConsent4`) also carries its instruction's identifications, the
    DebtorAccount it names if any (the customer must pay from that one), and its whole `Initiation` and
    `Risk` as it sent them: reads echo them, and the payment's Initiation must match the consent's.
    """

    amount: Money
    creditor: CreditorAccount
    reference: str | None = None
    instruction_id: str | None = None
    end_to_end_id: str | None = None
    debtor_account: DebtorAccount | None = None
    initiation: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None

    def snapshot(self) -> dict[str, Any]:
        """The payment as audit records and events carry it (its Risk, details of the PSU, stays out)."""
        debtor = self.debtor_account
        return {
            "amount": self.amount.to_decimal_string(),
            "currency": self.amount.currency,
            "creditor_name": self.creditor.name,
            "creditor_scheme": self.creditor.scheme.value,
            "creditor_identification": self.creditor.identification,
            "reference": self.reference,
            "instruction_id": self.instruction_id,
            "end_to_end_id": self.end_to_end_id,
            "debtor_scheme": None if debtor is None else debtor.scheme.value,
            "debtor_identification": None if debtor is None else debtor.identification,
            "initiation": self.initiation,
        }


@dataclass(frozen=True, slots=True)
class PaymentOrderDetails:
    """A payment scheduled for a date, or a standing order: what a scheduled payment consent (UK OB
    `OBWriteDomesticScheduledConsent4`) or a standing order consent (`OBWriteDomesticStandingOrderConsent5`)
    authorises, which the payment order made under it (core_banking.payment_orders) repeats.

    `amount` is the scheduled payment's instructed amount, or the standing order's first payment amount;
    `first_payment_at` its RequestedExecutionDateTime or FirstPaymentDateTime, paid on that instant's bank
    day in London. A standing order pays every `frequency` until `final_payment_at`'s bank day and/or
    `payments_total` payments, `recurring_amount` after the first and `final_amount` last. As for a domestic
    payment, the TPP's `Initiation` and `Risk` are kept as sent.
    """

    amount: Money
    creditor: CreditorAccount
    first_payment_at: datetime
    frequency: Frequency | None = None
    final_payment_at: datetime | None = None
    payments_total: int | None = None
    recurring_amount: Money | None = None
    final_amount: Money | None = None
    reference: str | None = None
    instruction_id: str | None = None
    end_to_end_id: str | None = None
    debtor_account: DebtorAccount | None = None
    initiation: dict[str, Any] | None = None
    risk: dict[str, Any] | None = None

    @property
    def first_date(self) -> date:
        """The bank day (Europe/London) the first payment is made on, or the next business day after it."""
        return bank_day(self.first_payment_at)

    @property
    def final_date(self) -> date | None:
        return None if self.final_payment_at is None else bank_day(self.final_payment_at)

    @property
    def second_date(self) -> date | None:
        """A standing order's second payment date (before moving to a business day): one period after the first."""
        return None if self.frequency is None else nominal_date(self.first_date, self.frequency, 1)

    @property
    def first_execution_at(self) -> datetime:
        """When the first payment is expected to be made: its day (or the next business day) at the execution hour."""
        return execution_moment(self.first_date)

    def recurs_from(self, moment: datetime) -> bool:
        """Whether a standing order's recurring payments start on `moment`'s bank day (its second date)."""
        return moment.tzinfo is not None and bank_day(moment) == self.second_date

    def snapshot(self) -> dict[str, Any]:
        """The order as audit records and events carry it (its Risk, details of the PSU, stays out)."""
        debtor = self.debtor_account
        return {
            "amount": self.amount.to_decimal_string(),
            "currency": self.amount.currency,
            "creditor_name": self.creditor.name,
            "creditor_scheme": self.creditor.scheme.value,
            "creditor_identification": self.creditor.identification,
            "reference": self.reference,
            "first_payment_at": _iso(self.first_payment_at),
            "frequency": None if self.frequency is None else self.frequency.value,
            "final_payment_at": _iso(self.final_payment_at),
            "payments_total": self.payments_total,
            "recurring_amount": None if self.recurring_amount is None else self.recurring_amount.to_decimal_string(),
            "final_amount": None if self.final_amount is None else self.final_amount.to_decimal_string(),
            "instruction_id": self.instruction_id,
            "end_to_end_id": self.end_to_end_id,
            "debtor_scheme": None if debtor is None else debtor.scheme.value,
            "debtor_identification": None if debtor is None else debtor.identification,
            "initiation": self.initiation,
        }


@dataclass(frozen=True, slots=True)
class FundsConfirmationDetails:
    """Which account a CBPII may ask about, and until when (OB `OBFundsConfirmationConsent1`)."""

    debtor_account: DebtorAccount
    expires_at: datetime | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "debtor_scheme": str(self.debtor_account.scheme),
            "debtor_identification": self.debtor_account.identification,
            "debtor_name": self.debtor_account.name,
            "expires_at": _iso(self.expires_at),
        }


@dataclass(frozen=True, slots=True)
class PsuContext:
    """What the TPP tells of its PSU on the request that causes a change (`x-fapi-customer-ip-address`,
    `x-customer-user-agent`, `x-fapi-auth-date`), for the change's audit record.

    The IP address goes to the record's keyed hash (never stored as such); the user agent and the PSU's last
    login go into its encrypted `after` details (`audit_detail`).
    """

    ip_address: str | None = None
    user_agent: str | None = None
    auth_date: datetime | None = None

    def __post_init__(self) -> None:
        if self.ip_address is not None:
            ipaddress.ip_address(self.ip_address)  # ValueError: the audit hash takes IP addresses only

    def audit_detail(self) -> dict[str, Any]:
        """The `psu` entry of the audit record's `after` (the IP address stays out: it is hashed apart)."""
        return {"psu": {"user_agent": self.user_agent, "auth_date": _iso(self.auth_date)}}


ConsentDetails = AccountAccessDetails | DomesticPaymentDetails | FundsConfirmationDetails | PaymentOrderDetails


@dataclass(frozen=True, slots=True)
class FundsAvailability:
    """Whether the debtor account of an authorised payment consent has the instructed amount available, and when
    that was checked (UK OB `GET /domestic-payment-consents/{ConsentId}/funds-confirmation`)."""

    available: bool
    checked_at: datetime


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
    revoked_by: RevokedBy | None = None

    @property
    def ob_status_code(self) -> str:
        return OB_STATUS_CODES[self.status]

    @property
    def expires_at(self) -> datetime | None:
        """The consent's ExpirationDateTime (account access and funds confirmation), if it has one."""
        if isinstance(self.details, AccountAccessDetails | FundsConfirmationDetails):
            return self.details.expires_at
        return None

    def is_expired(self, now: datetime) -> bool:
        """Whether the consent has passed its ExpirationDateTime."""
        return self.expires_at is not None and self.expires_at <= now

    def lapse(self) -> tuple[datetime, ConsentStatus] | None:
        """When and into what the consent ends by time alone: Expired at its expiry, if it is still in force
        or awaiting; Rejected at the end of its authorisation window, if unanswered; whichever comes first."""
        if self.status not in (ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.AUTHORISED):
            return None
        ends: list[tuple[datetime, ConsentStatus]] = []
        if self.expires_at is not None:
            ends.append((self.expires_at, ConsentStatus.EXPIRED))
        if self.status is ConsentStatus.AWAITING_AUTHORISATION:
            ends.append((self.created_at + AUTHORISATION_WINDOW, ConsentStatus.REJECTED))
        return min(ends) if ends else None

    def effective(self, now: datetime) -> ConsentRecord:
        """The consent as every reader sees it at `now`: ended from the very instant its time ran out,
        whether or not the lapse job has written the change yet."""
        lapse = self.lapse()
        if lapse is None or lapse[0] > now:
            return self
        at, status = lapse
        return dataclasses.replace(self, status=status, status_updated_at=at)

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
        elif consent.kind is ConsentKind.FUNDS_CONFIRMATION:
            assert consent.debtor_scheme is not None and consent.debtor_identification is not None
            details = FundsConfirmationDetails(
                debtor_account=DebtorAccount(
                    DebtorScheme(consent.debtor_scheme), consent.debtor_identification, consent.debtor_name
                ),
                expires_at=consent.expires_at,
            )
        elif consent.kind in ORDER_KINDS:
            details = _order_details(consent)
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
                instruction_id=consent.instruction_id,
                end_to_end_id=consent.end_to_end_id,
                debtor_account=_named_debtor(consent),
                initiation=consent.initiation,
                risk=consent.risk,
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
            revoked_by=consent.revoked_by,
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
            "revoked_by": None if self.revoked_by is None else self.revoked_by.value,
            **self.details.snapshot(),
        }


def _named_debtor(consent: Consent) -> DebtorAccount | None:
    """The DebtorAccount a payment consent names, if it names one."""
    if consent.debtor_scheme is None or consent.debtor_identification is None:
        return None
    return DebtorAccount(DebtorScheme(consent.debtor_scheme), consent.debtor_identification, consent.debtor_name)


def _order_details(consent: Consent) -> PaymentOrderDetails:
    assert consent.amount_minor is not None and consent.currency is not None
    assert consent.creditor_name is not None and consent.creditor_scheme is not None
    assert consent.creditor_identification is not None and consent.first_payment_at is not None
    currency = consent.currency
    recurring, final = consent.recurring_amount_minor, consent.final_amount_minor
    return PaymentOrderDetails(
        amount=Money(consent.amount_minor, currency),
        creditor=CreditorAccount(
            consent.creditor_name, CreditorScheme(consent.creditor_scheme), consent.creditor_identification
        ),
        first_payment_at=consent.first_payment_at,
        frequency=consent.frequency,
        final_payment_at=consent.final_payment_at,
        payments_total=consent.payments_total,
        recurring_amount=None if recurring is None else Money(recurring, currency),
        final_amount=None if final is None else Money(final, currency),
        reference=consent.reference,
        instruction_id=consent.instruction_id,
        end_to_end_id=consent.end_to_end_id,
        debtor_account=_named_debtor(consent),
        initiation=consent.initiation,
        risk=consent.risk,
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class ConsentSummaryRead(BaseModel):
    """An Open Banking consent as staff see it: its kind, the TPP client, its status now, its accounts."""

    id: str
    kind: ConsentKind
    client_id: str
    status: ConsentStatus
    created_at: datetime
    status_updated_at: datetime
    expires_at: datetime | None
    revoked_by: RevokedBy | None
    account_ids: list[uuid.UUID]

    @classmethod
    def from_record(cls, record: ConsentRecord) -> ConsentSummaryRead:
        return cls(
            id=record.id,
            kind=record.kind,
            client_id=record.client_id,
            status=record.status,
            created_at=record.created_at,
            status_updated_at=record.status_updated_at,
            expires_at=record.expires_at,
            revoked_by=record.revoked_by,
            account_ids=list(record.account_ids),
        )

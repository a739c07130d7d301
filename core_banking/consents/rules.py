"""What makes a consent request acceptable: UK Open Banking v4.0's rules, each refusal naming its field.

Pure checks on the request as the TPP sent it; the service runs them before anything is stored.
"""

from __future__ import annotations

import re
from datetime import datetime

import ukmodulus
from schwifty import IBAN

from core_banking.consents.errors import InvalidConsent
from core_banking.consents.schemas import (
    AccountAccessDetails,
    CreditorScheme,
    DebtorAccount,
    DebtorScheme,
    DomesticPaymentDetails,
    FundsConfirmationDetails,
    PaymentOrderDetails,
    Permission,
)
from core_banking.ledger.periods import bank_day
from obank.money import Money

MAX_CLIENT_ID = 128
MAX_CREDITOR_NAME = 140
MAX_DEBTOR_NAME = 350  # OB DebtorAccount.Name
MAX_IDENTIFICATION = 256
MAX_REFERENCE = 35  # OB Reference: max 35 characters, as Faster Payments carries it
MAX_INSTRUCTION_ID = 35  # OB InstructionIdentification and EndToEndIdentification: Max35Text
MAX_IDEMPOTENCY_KEY = 255  # what the key store holds; the OB edge allows 40 (Read/Write Data API Profile)

# Permissions this bank refuses as "not supported by the ASPSP": it publishes no offers endpoint.
UNSUPPORTED_PERMISSIONS = frozenset({Permission.READ_OFFERS})
_TRANSACTION_DETAIL = frozenset({Permission.READ_TRANSACTIONS_BASIC, Permission.READ_TRANSACTIONS_DETAIL})
_TRANSACTION_DIRECTION = frozenset({Permission.READ_TRANSACTIONS_CREDITS, Permission.READ_TRANSACTIONS_DEBITS})
# ReadPAN unmasks card numbers inside the Detail data clusters; without one of these it would show nothing.
_DETAIL = frozenset(p for p in Permission if p.value.endswith("Detail"))
_IDENTIFICATION_PATTERNS = {
    CreditorScheme.SORT_CODE_ACCOUNT_NUMBER: re.compile(r"[0-9]{14}"),
    CreditorScheme.IBAN: re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}"),
}
INITIATION = "Data.Initiation"

PERMISSIONS_FIELD = "Data.Permissions"
EXPIRATION_FIELD = "Data.ExpirationDateTime"
_WINDOW_FIELDS = {"transactions_from": "Data.TransactionFromDateTime", "transactions_to": "Data.TransactionToDateTime"}


def check_client(client_id: str) -> None:
    if not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise InvalidConsent(f"must be 1 to {MAX_CLIENT_ID} characters", field="client_id")


def check_idempotency_key(key: str) -> None:
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidConsent(f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters", field="x-idempotency-key")


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    _aware(expires_at, EXPIRATION_FIELD)
    if expires_at is not None and expires_at <= now:
        raise InvalidConsent("the expiration date must be in the future", field=EXPIRATION_FIELD)


def _aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidConsent("must carry a time zone", field=field)


def check_account_access(details: AccountAccessDetails, now: datetime) -> None:
    """The permission combinations UK OB v4.0 Account Access Consents refuse, then the dates."""
    try:
        permissions = {Permission(p) for p in details.permissions}
    except ValueError as exc:
        raise InvalidConsent(f"unknown permission ({exc})", field=PERMISSIONS_FIELD) from None
    if not permissions:
        raise InvalidConsent("at least one permission is required", field=PERMISSIONS_FIELD)
    if len(permissions) != len(details.permissions):
        raise InvalidConsent("permissions must not repeat", field=PERMISSIONS_FIELD)
    unsupported = sorted(p.value for p in permissions & UNSUPPORTED_PERMISSIONS)
    if unsupported:
        raise InvalidConsent(f"not supported by this bank: {', '.join(unsupported)}", field=PERMISSIONS_FIELD)
    # ReadTransactionsBasic/Detail need ReadTransactionsCredits and/or Debits, and the other way round.
    if bool(permissions & _TRANSACTION_DETAIL) != bool(permissions & _TRANSACTION_DIRECTION):
        raise InvalidConsent(
            "ReadTransactionsBasic or ReadTransactionsDetail requires ReadTransactionsCredits and/or"
            " ReadTransactionsDebits, and the other way round",
            field=PERMISSIONS_FIELD,
        )
    if Permission.READ_PAN in permissions and not permissions & _DETAIL:
        raise InvalidConsent("ReadPAN requires at least one Detail permission", field=PERMISSIONS_FIELD)
    _check_expiry(details.expires_at, now)
    for name, field in _WINDOW_FIELDS.items():
        _aware(getattr(details, name), field)
    if (
        details.transactions_from is not None
        and details.transactions_to is not None
        and details.transactions_from > details.transactions_to
    ):
        raise InvalidConsent("the transaction window ends before it starts", field=_WINDOW_FIELDS["transactions_to"])


def iban_is_valid(identification: str) -> bool:
    """An IBAN as ISO 13616 and its country's BBAN format define it (spaces and case aside)."""
    try:
        IBAN(identification)
    except ValueError:
        return False
    return True


def sort_code_account_is_valid(identification: str) -> bool:
    """A sort code and account number (14 digits) that pass VocaLink's modulus check, as the sending bank
    runs it before a Faster Payment leaves."""
    if not _IDENTIFICATION_PATTERNS[CreditorScheme.SORT_CODE_ACCOUNT_NUMBER].fullmatch(identification):
        return False
    try:
        return bool(ukmodulus.validate_number(identification[:6], identification[6:]))
    except ValueError:
        return False


def _check_identification(identification: str, field: str) -> None:
    if not 0 < len(identification) <= MAX_INSTRUCTION_ID or not identification.isprintable():
        raise InvalidConsent(f"must be 1 to {MAX_INSTRUCTION_ID} printable characters", field=field)


def check_domestic_payment(details: DomesticPaymentDetails) -> None:
    """An amount to pay, a payee this bank can pay (a sort code and account number that pass the modulus
    check, or a valid IBAN), and the OB limits of the reference and the instruction's identifications."""
    if not details.amount.is_positive():
        raise InvalidConsent("the instructed amount must be positive", field=f"{INITIATION}.InstructedAmount.Amount")
    _check_payee(details)


def _check_payee(details: DomesticPaymentDetails | PaymentOrderDetails) -> None:
    creditor = details.creditor
    if not 0 < len(creditor.name.strip()) <= MAX_CREDITOR_NAME:
        raise InvalidConsent(
            f"the creditor name must be 1 to {MAX_CREDITOR_NAME} characters", field=f"{INITIATION}.CreditorAccount.Name"
        )
    identification_field = f"{INITIATION}.CreditorAccount.Identification"
    if not 0 < len(creditor.identification) <= MAX_IDENTIFICATION:
        raise InvalidConsent(
            f"the creditor identification must be 1 to {MAX_IDENTIFICATION} characters", field=identification_field
        )
    if creditor.scheme is CreditorScheme.SORT_CODE_ACCOUNT_NUMBER:
        if not sort_code_account_is_valid(creditor.identification):
            raise InvalidConsent(
                f"{creditor.identification!r} is not a valid {creditor.scheme.value} identification: a sort code"
                " and account number that pass the modulus check",
                field=identification_field,
            )
    elif creditor.scheme is CreditorScheme.IBAN and not (
        _IDENTIFICATION_PATTERNS[CreditorScheme.IBAN].fullmatch(creditor.identification)
        and iban_is_valid(creditor.identification)
    ):
        raise InvalidConsent(f"{creditor.identification!r} is not a valid IBAN", field=identification_field)
    if details.reference is not None and not 0 < len(details.reference) <= MAX_REFERENCE:
        raise InvalidConsent(
            f"the reference must be 1 to {MAX_REFERENCE} characters",
            field=f"{INITIATION}.RemittanceInformation.Structured.CreditorReferenceInformation.Reference",
        )
    if details.instruction_id is not None:
        _check_identification(details.instruction_id, f"{INITIATION}.InstructionIdentification")
    if details.end_to_end_id is not None:
        _check_identification(details.end_to_end_id, f"{INITIATION}.EndToEndIdentification")
    if details.debtor_account is not None:
        _check_debtor_account(details.debtor_account, f"{INITIATION}.DebtorAccount")


def _check_debtor_account(debtor: DebtorAccount, prefix: str) -> None:
    """A DebtorAccount our accounts could be: a sort code and number (14 digits), or a valid IBAN."""
    try:
        scheme = DebtorScheme(debtor.scheme)
    except ValueError:
        schemes = " or ".join(s.value for s in DebtorScheme)
        raise InvalidConsent(f"must be {schemes}", field=f"{prefix}.SchemeName") from None
    field = f"{prefix}.Identification"
    identification = debtor.identification
    if not 0 < len(identification) <= MAX_IDENTIFICATION:
        raise InvalidConsent(f"must be 1 to {MAX_IDENTIFICATION} characters", field=field)
    if scheme is DebtorScheme.SORT_CODE_ACCOUNT_NUMBER:
        if not _IDENTIFICATION_PATTERNS[CreditorScheme.SORT_CODE_ACCOUNT_NUMBER].fullmatch(identification):
            raise InvalidConsent("a sort code and account number are 14 digits", field=field)
    elif not iban_is_valid(identification):
        raise InvalidConsent(f"{identification!r} is not a valid IBAN", field=field)
    if debtor.name is not None and not 0 < len(debtor.name.strip()) <= MAX_DEBTOR_NAME:
        raise InvalidConsent(f"must be 1 to {MAX_DEBTOR_NAME} characters", field=f"{prefix}.Name")


def check_funds_confirmation(details: FundsConfirmationDetails, now: datetime) -> None:
    """A DebtorAccount our accounts could be (a sort code and number, or a valid IBAN), and a future expiry."""
    _check_debtor_account(details.debtor_account, "Data.DebtorAccount")
    _check_expiry(details.expires_at, now)


# As many payments as a payment order may make (core_banking.payment_orders.service.MAX_PAYMENTS).
MAX_ORDER_PAYMENTS = 10_000
_SCHEDULED_FIELDS = {
    "first_payment_at": f"{INITIATION}.RequestedExecutionDateTime",
    "amount": f"{INITIATION}.InstructedAmount",
}
_MANDATE = f"{INITIATION}.MandateRelatedInformation"
_STANDING_ORDER_FIELDS = {
    "first_payment_at": f"{_MANDATE}.FirstPaymentDateTime",
    "final_payment_at": f"{_MANDATE}.FinalPaymentDateTime",
    "frequency": f"{_MANDATE}.Frequency.Type",
    "payments_total": f"{INITIATION}.NumberOfPayments",
    "amount": f"{INITIATION}.FirstPaymentAmount",
    "recurring_amount": f"{INITIATION}.RecurringPaymentAmount",
    "final_amount": f"{INITIATION}.FinalPaymentAmount",
}


def check_payment_order(details: PaymentOrderDetails, *, standing_order: bool, now: datetime) -> None:
    """A scheduled payment: one positive amount on a bank day not yet past (London). A standing order: its
    first payment likewise, a frequency, an end not before its start, 1 to 10,000 payments, and later amounts
    positive and in the first one's currency (a final amount needs an end to be the last of). Then the payee,
    as for a domestic payment."""
    fields = _STANDING_ORDER_FIELDS if standing_order else _SCHEDULED_FIELDS
    for name in ("amount", "recurring_amount", "final_amount"):
        money: Money | None = getattr(details, name)
        if money is None:
            continue
        if not money.is_positive():
            raise InvalidConsent("the amount must be positive", field=f"{fields[name]}.Amount")
        if money.currency != details.amount.currency:
            raise InvalidConsent("every amount is in the first payment's currency", field=f"{fields[name]}.Currency")
    _aware(details.first_payment_at, fields["first_payment_at"])
    today = bank_day(now)
    if details.first_date < today:
        raise InvalidConsent(
            f"the payment date is in the past (today is {today} in London)", field=fields["first_payment_at"]
        )
    if not standing_order:
        if details.frequency or details.final_payment_at or details.payments_total:
            raise InvalidConsent("a scheduled payment is one payment", field=INITIATION)
        if details.recurring_amount or details.final_amount:
            raise InvalidConsent("a scheduled payment is one payment", field=INITIATION)
    else:
        if details.frequency is None:
            raise InvalidConsent("a standing order needs a frequency", field=fields["frequency"])
        _aware(details.final_payment_at, fields["final_payment_at"])
        final_date = details.final_date
        if final_date is not None and final_date < details.first_date:
            raise InvalidConsent("the final payment date is before the first", field=fields["final_payment_at"])
        total = details.payments_total
        if total is not None and not 0 < total <= MAX_ORDER_PAYMENTS:
            raise InvalidConsent(f"from 1 to {MAX_ORDER_PAYMENTS} payments", field=fields["payments_total"])
        if details.final_amount is not None and final_date is None and total is None:
            raise InvalidConsent(
                "a final payment amount needs a final payment date or a number of payments",
                field=fields["final_amount"],
            )
    _check_payee(details)

"""Account information read through a consent: each read checks that the consent is the client's, of the
account access kind and in force, that it grants the data cluster asked for, and that the account is one
the customer chose; then it reads through the accounts, history, statements and customers services.

UK OB v4.0 permissions by resource: ReadAccountsBasic/Detail for accounts, ReadBalances for balances,
ReadTransactionsBasic/Detail for transactions (ReadTransactionsCredits/Debits choosing which), ReadPartyPSU
for the PSU's party and ReadParty for an account's, ReadStatementsBasic/Detail for statements and
ReadStatementsDetail for a statement's file, ReadScheduledPayments*/ReadStandingOrders* for the payment
orders still to pay from an account, ReadBeneficiariesBasic/Detail for the customer's payees. The consent's
TransactionFromDateTime/ToDateTime bound the transactions and statements ("the transaction validity period").
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.account_information.schemas import (
    AccountBalances,
    BeneficiaryRecord,
    PartyRecord,
    StatementRecord,
)
from core_banking.accounts import service as accounts_service
from core_banking.accounts.schemas import AccountRecord
from core_banking.consents import service as consents_service
from core_banking.consents.models import ConsentKind
from core_banking.consents.schemas import AccountAccessDetails, ConsentRecord, Permission
from core_banking.customers import service as customers_service
from core_banking.history import service as history_service
from core_banking.history.errors import InvalidFilter
from core_banking.history.schemas import Direction, TransactionFilter, TransactionPage
from core_banking.ledger.periods import Month, bank_day
from core_banking.payees import service as payees_service
from core_banking.payment_orders import service as payment_orders_service
from core_banking.payment_orders.models import OrderKind, OrderStatus
from core_banking.payment_orders.schemas import OrderRecord
from core_banking.statements import service as statements_service
from core_banking.statements.errors import StatementNotFound
from core_banking.statements.schemas import Statement
from core_banking.statements.service import Period
from obank.crypto import KeyRing
from obank.money import Money

ACCOUNTS = (Permission.READ_ACCOUNTS_BASIC, Permission.READ_ACCOUNTS_DETAIL)
BALANCES = (Permission.READ_BALANCES,)
TRANSACTIONS = (Permission.READ_TRANSACTIONS_BASIC, Permission.READ_TRANSACTIONS_DETAIL)
STATEMENTS = (Permission.READ_STATEMENTS_BASIC, Permission.READ_STATEMENTS_DETAIL)
STATEMENT_FILE = (Permission.READ_STATEMENTS_DETAIL,)
BENEFICIARIES = (Permission.READ_BENEFICIARIES_BASIC, Permission.READ_BENEFICIARIES_DETAIL)
MAX_PAGE = 1000
_MICROSECOND = timedelta(microseconds=1)


async def _consent(
    session: AsyncSession, consent_id: str, client_id: str, now: datetime, *needs: Permission
) -> ConsentRecord:
    consent = await consents_service.authorised_consent(
        session, consent_id, client_id=client_id, kind=ConsentKind.ACCOUNT_ACCESS, now=now
    )
    consents_service.require_permission(consent, *needs)
    return consent


def _details(consent: ConsentRecord) -> AccountAccessDetails:
    assert isinstance(consent.details, AccountAccessDetails)  # an account access consent
    return consent.details


def _covered(consent: ConsentRecord, account_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The one account asked for (which the consent must cover), or every account the consent covers."""
    if account_id is None:
        return list(consent.account_ids)
    consents_service.require_account(consent, account_id)
    return [account_id]


async def consent_accounts(
    session: AsyncSession, consent_id: str, client_id: str, now: datetime, account_id: uuid.UUID | None = None
) -> list[AccountRecord]:
    """The accounts the customer chose for the consent, in their order (or the one asked for)."""
    consent = await _consent(session, consent_id, client_id, now, *ACCOUNTS)
    return [await accounts_service.get_account(session, covered) for covered in _covered(consent, account_id)]


async def consent_balances(
    session: AsyncSession, consent_id: str, client_id: str, now: datetime, account_id: uuid.UUID | None = None
) -> list[AccountBalances]:
    """Balances now of the consent's accounts (or of the one asked for)."""
    consent = await _consent(session, consent_id, client_id, now, *BALANCES)
    balances = []
    for covered in _covered(consent, account_id):
        account = await accounts_service.get_account(session, covered)
        current = account.balances
        overdraft = Money(account.overdraft_limit_minor, account.currency)
        balances.append(AccountBalances(account.id, now, current.booked, current.available, current.pending, overdraft))
    return balances


def _aware(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidFilter(f"{name} must carry a time zone")


def transaction_filter(
    details: AccountAccessDetails, booked_from: datetime | None, booked_to: datetime | None
) -> TransactionFilter:
    """Lines booked within both the consent's window and the one asked for (both ends inclusive), of the
    directions the consent grants."""
    _aware(booked_from, "fromBookingDateTime")
    _aware(booked_to, "toBookingDateTime")
    if booked_from is not None and booked_to is not None and booked_from > booked_to:
        raise InvalidFilter("fromBookingDateTime is after toBookingDateTime")
    starts = [moment for moment in (details.transactions_from, booked_from) if moment is not None]
    ends = [moment + _MICROSECOND for moment in (details.transactions_to, booked_to) if moment is not None]
    credits = Permission.READ_TRANSACTIONS_CREDITS in details.permissions
    debits = Permission.READ_TRANSACTIONS_DEBITS in details.permissions
    direction = None if credits and debits else Direction.CREDIT if credits else Direction.DEBIT
    return TransactionFilter(max(starts, default=None), min(ends, default=None), direction)


async def consent_transactions(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    client_id: str,
    now: datetime,
    account_id: uuid.UUID | None = None,
    *,
    booked_from: datetime | None = None,
    booked_to: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> TransactionPage:
    """A page of booked lines, newest first, of one account of the consent or of all of them.

    The cursors are bound to this consent and this choice of account: another's is refused (InvalidCursor).
    """
    if not 0 < limit <= MAX_PAGE:
        raise InvalidFilter(f"a page holds 1 to {MAX_PAGE} transactions")
    consent = await _consent(session, consent_id, client_id, now, *TRANSACTIONS)
    lines = transaction_filter(_details(consent), booked_from, booked_to)
    scope = f"consent:{consent.id}:{account_id or '*'}"
    accounts = _covered(consent, account_id)
    return await history_service.page_of_lines(session, keyring, scope, accounts, lines, cursor=cursor, limit=limit)


async def consent_party(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    client_id: str,
    now: datetime,
    account_id: uuid.UUID | None = None,
) -> PartyRecord:
    """The customer who authorised the consent (ReadPartyPSU), or the holder of one of its accounts (ReadParty)."""
    if account_id is None:
        consent = await _consent(session, consent_id, client_id, now, Permission.READ_PARTY_PSU)
        assert consent.customer_id is not None  # an authorised consent names its customer
        holder_id = consent.customer_id
    else:
        consent = await _consent(session, consent_id, client_id, now, Permission.READ_PARTY)
        consents_service.require_account(consent, account_id)
        account = await accounts_service.get_account(session, account_id)
        assert account.customer_id is not None  # a customer chose it
        holder_id = account.customer_id
    holder = await customers_service.get_customer(session, keyring, holder_id)
    return PartyRecord(holder.id, holder.full_name, holder.email, holder.phone, holder.address)


def _periods(consent: ConsentRecord, account: AccountRecord, now: datetime) -> list[Period]:
    """Every month of the account to date, within the consent's transaction window, oldest first."""
    details = _details(consent)
    periods = []
    month, current = Month.of(bank_day(account.opened_at)), Month.of(bank_day(now))
    while month <= current:
        period = Period.of(month, now, not_before=details.transactions_from, not_after=details.transactions_to)
        if period is not None:
            periods.append(period)
        month = month.next()
    return periods


def _period(consent: ConsentRecord, account: AccountRecord, statement_id: str, now: datetime) -> Period:
    try:
        month = Month.parse(statement_id)
    except ValueError:
        raise StatementNotFound(statement_id) from None
    found = next((period for period in _periods(consent, account, now) if period.month == month), None)
    if found is None:
        raise StatementNotFound(statement_id)
    return found


async def _statement_record(session: AsyncSession, account: AccountRecord, period: Period) -> StatementRecord:
    totals = await statements_service.statement_totals(session, account.id, period)

    def money(minor: int) -> Money:
        return Money(minor, account.currency)

    return StatementRecord(
        id=str(period.month),
        account_id=account.id,
        start=period.start,
        end=period.end,
        created_at=period.end,
        opening_balance=money(totals.opening_balance_minor),
        closing_balance=money(totals.closing_balance_minor),
        paid_in=money(totals.paid_in_minor),
        paid_out=money(totals.paid_out_minor),
    )


async def consent_statements(
    session: AsyncSession,
    consent_id: str,
    client_id: str,
    account_id: uuid.UUID,
    now: datetime,
    *,
    statements_from: datetime | None = None,
    statements_to: datetime | None = None,
) -> list[StatementRecord]:
    """The account's monthly statements within the consent's window (and overlapping the one asked for)."""
    _aware(statements_from, "fromStatementDateTime")
    _aware(statements_to, "toStatementDateTime")
    consent = await _consent(session, consent_id, client_id, now, *STATEMENTS)
    consents_service.require_account(consent, account_id)
    account = await accounts_service.get_account(session, account_id)
    return [
        await _statement_record(session, account, period)
        for period in _periods(consent, account, now)
        if (statements_from is None or period.end > statements_from)
        and (statements_to is None or period.start <= statements_to)
    ]


async def consent_statement(
    session: AsyncSession, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str, now: datetime
) -> StatementRecord:
    """One monthly statement (`YYYY-MM`) of an account of the consent."""
    consent = await _consent(session, consent_id, client_id, now, *STATEMENTS)
    consents_service.require_account(consent, account_id)
    account = await accounts_service.get_account(session, account_id)
    return await _statement_record(session, account, _period(consent, account, statement_id, now))


async def consent_statement_lines(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    client_id: str,
    account_id: uuid.UUID,
    statement_id: str,
    now: datetime,
) -> Statement:
    """The whole statement (holder, every line) behind a statement's file (ReadStatementsDetail)."""
    consent = await _consent(session, consent_id, client_id, now, *STATEMENT_FILE)
    consents_service.require_account(consent, account_id)
    account = await accounts_service.get_account(session, account_id)
    period = _period(consent, account, statement_id, now)
    assert account.customer_id is not None  # a customer chose it
    return await statements_service.statement_for(session, keyring, account.customer_id, account_id, period, now=now)


# Payment orders by kind, and the permissions that read them (a Detail permission includes its Basic one).
PAYMENT_ORDERS = {
    OrderKind.SCHEDULED: (Permission.READ_SCHEDULED_PAYMENTS_BASIC, Permission.READ_SCHEDULED_PAYMENTS_DETAIL),
    OrderKind.STANDING_ORDER: (Permission.READ_STANDING_ORDERS_BASIC, Permission.READ_STANDING_ORDERS_DETAIL),
}


async def consent_payment_orders(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    client_id: str,
    now: datetime,
    kind: OrderKind,
    account_id: uuid.UUID | None = None,
) -> list[OrderRecord]:
    """The scheduled payments or standing orders (`kind`) still to pay from the consent's accounts (or the one
    asked for), paused ones included, whoever set them up, oldest first (ReadScheduledPayments*/ReadStandingOrders*)."""
    consent = await _consent(session, consent_id, client_id, now, *PAYMENT_ORDERS[kind])
    accounts = _covered(consent, account_id)
    orders = await payment_orders_service.list_orders(session, keyring, account_ids=accounts, kinds=(kind,))
    return [order for order in orders if order.status in (OrderStatus.ACTIVE, OrderStatus.PAUSED)]


async def consent_beneficiaries(
    session: AsyncSession,
    keyring: KeyRing,
    consent_id: str,
    client_id: str,
    now: datetime,
    account_id: uuid.UUID | None = None,
) -> list[BeneficiaryRecord]:
    """The customer's payees under each of the consent's accounts (or the one asked for), in the accounts' order
    then the payees' (ReadBeneficiariesBasic/Detail): a UK customer's payees are paid from any of their accounts."""
    consent = await _consent(session, consent_id, client_id, now, *BENEFICIARIES)
    assert consent.customer_id is not None  # an authorised consent names its customer
    accounts = _covered(consent, account_id)
    payees = await payees_service.list_payees(session, keyring, consent.customer_id)
    return [
        BeneficiaryRecord(account, payee.id, payee.creditor, payee.reference)
        for account in accounts
        for payee in payees
    ]

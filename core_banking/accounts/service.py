"""Accounts: opening, status transitions (freeze, unfreeze, close) and limits; each audited and published."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core_banking.accounts import identifiers, repository
from core_banking.accounts.errors import (
    AccountClosed,
    AccountNotEmpty,
    AccountNotFound,
    InvalidInterestRate,
    InvalidLimits,
    InvalidStatusTransition,
    NotACustomerAccount,
    OverdraftInUse,
)
from core_banking.accounts.models import Account, AccountKind, AccountStatus, AccountType, InternalPurpose
from core_banking.accounts.schemas import AccountOpen, AccountRecord, Balances, LimitsChange
from core_banking.customers import service as customers_service
from core_banking.customers.errors import CustomerNotVerified
from core_banking.customers.models import KycStatus
from obank.actor import Actor
from obank.money import Money, currency_exponent
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.accounts"
SYSTEM_ACTOR = Actor.system("core_banking")

# Which status may follow which: a frozen account can be unfrozen or closed; a closed one stays closed.
TRANSITIONS: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.ACTIVE: frozenset({AccountStatus.FROZEN, AccountStatus.CLOSED}),
    AccountStatus.FROZEN: frozenset({AccountStatus.ACTIVE, AccountStatus.CLOSED}),
    AccountStatus.CLOSED: frozenset(),
}

# Defaults per account type, in major units of the account's currency: (daily, monthly) outgoing limits.
DEFAULT_LIMITS_MAJOR: dict[AccountType, tuple[int, int]] = {
    AccountType.CHECKING: (10_000, 50_000),
    AccountType.SAVINGS: (5_000, 20_000),
    AccountType.BUSINESS: (100_000, 1_000_000),
}
DEFAULT_SAVINGS_RATE_BPS = 150
DEFAULT_NAMES = {
    AccountType.CHECKING: "Current account",
    AccountType.SAVINGS: "Savings account",
    AccountType.BUSINESS: "Business account",
}


def _report(
    uow: UnitOfWork,
    event_type: str,
    before: AccountRecord | None,
    after: AccountRecord,
    detail: dict[str, object] | None = None,
    *,
    actor: Actor | None = None,
) -> None:
    """The outbox event and the audit record of one account change (`actor`: when not the unit of work's)."""
    payload = {**after.snapshot(), **(detail or {})}
    uow.publish(topic=TOPIC, event_type=event_type, key=str(after.id), payload=payload)
    uow.audit(
        action=event_type,
        entity_type="account",
        entity_id=str(after.id),
        before=None if before is None else before.snapshot(),
        after=payload,
        actor=actor,
    )


async def _new_identifiers(session: AsyncSession) -> tuple[str, str]:
    number = identifiers.account_number_from_serial(await repository.next_serial(session))
    return number, identifiers.gb_iban(identifiers.SORT_CODE, number)


async def open_account(
    uow: UnitOfWork, customer_id: uuid.UUID, request: AccountOpen, *, now: datetime | None = None
) -> AccountRecord:
    """Open an account for a KYC-verified customer."""
    session = uow.session
    if await customers_service.kyc_status(session, customer_id) is not KycStatus.VERIFIED:
        raise CustomerNotVerified(customer_id)
    scale = 10 ** currency_exponent(request.currency)
    default_daily, default_monthly = DEFAULT_LIMITS_MAJOR[request.account_type]
    daily = request.daily_limit_minor or default_daily * scale
    monthly = request.monthly_limit_minor or default_monthly * scale
    if daily > monthly:
        raise InvalidLimits(f"the daily limit {daily} exceeds the monthly limit {monthly}")
    rate = request.interest_rate_bps
    if rate is None:
        rate = DEFAULT_SAVINGS_RATE_BPS if request.account_type is AccountType.SAVINGS else 0
    if rate and request.account_type is not AccountType.SAVINGS:
        raise InvalidInterestRate()
    now = now or datetime.now(UTC)
    number, iban = await _new_identifiers(session)
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.CUSTOMER,
        customer_id=customer_id,
        account_type=request.account_type,
        name=request.name or DEFAULT_NAMES[request.account_type],
        currency=request.currency,
        sort_code=identifiers.SORT_CODE,
        account_number=number,
        iban=iban,
        status=AccountStatus.ACTIVE,
        overdraft_limit_minor=request.overdraft_limit_minor,
        daily_limit_minor=daily,
        monthly_limit_minor=monthly,
        interest_rate_bps=rate,
        booked_balance_minor=0,
        held_minor=0,
        day_outgoing_minor=0,
        month_outgoing_minor=0,
        opened_at=now,
        updated_at=now,
    )
    await repository.add(session, account)
    record = AccountRecord.from_model(account)
    _report(uow, "account.opened", None, record)
    return record


async def ensure_internal_account(
    uow: UnitOfWork, purpose: InternalPurpose, currency: str, *, now: datetime | None = None
) -> AccountRecord:
    """The bank's own account for `purpose` in `currency`, opened on first use (safe under concurrency).

    The bank opens it, whoever's operation needed it first.
    """
    session = uow.session
    existing = await repository.get_internal(session, purpose.value, currency)
    if existing is not None:
        return AccountRecord.from_model(existing)
    currency_exponent(currency)
    now = now or datetime.now(UTC)
    number, iban = await _new_identifiers(session)
    inserted = await repository.insert_internal_if_absent(
        session,
        {
            "id": uuid.uuid4(),
            "kind": AccountKind.INTERNAL,
            "internal_purpose": purpose.value,
            "name": f"{purpose.value.title()} {currency}",
            "currency": currency,
            "sort_code": identifiers.SORT_CODE,
            "account_number": number,
            "iban": iban,
            "status": AccountStatus.ACTIVE,
            "overdraft_limit_minor": 0,
            "interest_rate_bps": 0,
            "booked_balance_minor": 0,
            "held_minor": 0,
            "day_outgoing_minor": 0,
            "month_outgoing_minor": 0,
            "opened_at": now,
            "updated_at": now,
        },
    )
    account = await repository.get_internal(session, purpose.value, currency)
    assert account is not None
    record = AccountRecord.from_model(account)
    if inserted:
        _report(uow, "account.opened", None, record, actor=SYSTEM_ACTOR)
    return record


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> AccountRecord:
    """The account, or AccountNotFound."""
    account = await repository.get(session, account_id)
    if account is None:
        raise AccountNotFound(account_id)
    return AccountRecord.from_model(account)


async def owned_balances(
    session: AsyncSession | AsyncConnection, customer_id: uuid.UUID, account_id: uuid.UUID
) -> Balances:
    """The customer's account's balances now, in one statement; another's account is AccountNotFound."""
    row = await repository.balances_row(session, account_id)
    if row is None or row.customer_id != customer_id:
        raise AccountNotFound(account_id)
    booked, held, currency = row.booked_balance_minor, row.held_minor, row.currency
    return Balances(
        booked=Money(booked, currency),
        available=Money(booked + row.overdraft_limit_minor - held, currency),
        pending=Money(held, currency),
    )


async def list_customer_accounts(session: AsyncSession, customer_id: uuid.UUID) -> list[AccountRecord]:
    """Every account of the customer, oldest first, closed ones included."""
    accounts: Sequence[Account] = await repository.list_for_customer(session, customer_id)
    return [AccountRecord.from_model(account) for account in accounts]


async def _lock_customer_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = await repository.get(session, account_id, for_update=True)
    if account is None:
        raise AccountNotFound(account_id)
    if account.kind is not AccountKind.CUSTOMER:
        raise NotACustomerAccount(account_id)
    return account


async def _transition(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    target: AccountStatus,
    event_type: str,
    reason: str,
    now: datetime | None,
) -> AccountRecord:
    account = await _lock_customer_account(uow.session, account_id)
    if target not in TRANSITIONS[account.status]:
        raise InvalidStatusTransition(account_id, account.status, target)
    if target is AccountStatus.CLOSED and (account.booked_balance_minor != 0 or account.held_minor != 0):
        raise AccountNotEmpty(account_id, account.booked_balance_minor, account.held_minor)
    before = AccountRecord.from_model(account)
    now = now or datetime.now(UTC)
    account.status = target
    account.updated_at = now
    if target is AccountStatus.CLOSED:
        account.closed_at = now
    await uow.session.flush()
    _report(uow, event_type, before, AccountRecord.from_model(account), {"reason": reason})
    return AccountRecord.from_model(account)


async def freeze_account(
    uow: UnitOfWork, account_id: uuid.UUID, reason: str, *, now: datetime | None = None
) -> AccountRecord:
    """Stop all debits (credits still arrive) until unfrozen."""
    return await _transition(uow, account_id, AccountStatus.FROZEN, "account.frozen", reason, now)


async def unfreeze_account(
    uow: UnitOfWork, account_id: uuid.UUID, reason: str, *, now: datetime | None = None
) -> AccountRecord:
    """Return a frozen account to normal use."""
    return await _transition(uow, account_id, AccountStatus.ACTIVE, "account.unfrozen", reason, now)


async def check_closable(session: AsyncSession, account_id: uuid.UUID) -> None:
    """Refuse at once a closure that can never happen (unknown, the bank's own, already closed); its balance and
    holds are checked when it closes."""
    account = await repository.get(session, account_id)
    if account is None:
        raise AccountNotFound(account_id)
    if account.kind is not AccountKind.CUSTOMER:
        raise NotACustomerAccount(account_id)
    if AccountStatus.CLOSED not in TRANSITIONS[account.status]:
        raise InvalidStatusTransition(account_id, account.status, AccountStatus.CLOSED)


async def close_account(
    uow: UnitOfWork, account_id: uuid.UUID, reason: str, *, now: datetime | None = None
) -> AccountRecord:
    """Close an account whose balance is zero and which has no open holds; final."""
    return await _transition(uow, account_id, AccountStatus.CLOSED, "account.closed", reason, now)


async def change_limits(
    uow: UnitOfWork, account_id: uuid.UUID, change: LimitsChange, *, now: datetime | None = None
) -> AccountRecord:
    """Set the overdraft and outgoing limits; an overdraft cannot shrink below what is in use."""
    account = await _lock_customer_account(uow.session, account_id)
    before = AccountRecord.from_model(account)
    if account.status is AccountStatus.CLOSED:
        raise AccountClosed(account_id)
    overdraft = before.overdraft_limit_minor if change.overdraft_limit_minor is None else change.overdraft_limit_minor
    daily = change.daily_limit_minor or before.daily_limit_minor
    monthly = change.monthly_limit_minor or before.monthly_limit_minor
    if daily is not None and monthly is not None and daily > monthly:
        raise InvalidLimits(f"the daily limit {daily} exceeds the monthly limit {monthly}")
    needed = account.held_minor - account.booked_balance_minor
    if overdraft < needed:
        raise OverdraftInUse(account_id, needed)
    account.overdraft_limit_minor = overdraft
    account.daily_limit_minor = daily
    account.monthly_limit_minor = monthly
    account.updated_at = now or datetime.now(UTC)
    await uow.session.flush()
    after = AccountRecord.from_model(account)
    _report(uow, "account.details_updated", before, after)
    return after

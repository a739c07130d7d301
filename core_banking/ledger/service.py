"""The ledger: balanced journal entries, holds, transfers, cash movements and reversals.

Every money movement locks the account rows it touches in account-id order, checks status, currency,
funds and limits against the locked rows, then books the entry and the new cached balances together.
`post_transfer`, `place_hold` and `capture_hold` are primitives: the operation built on them (a
transfer, a payment) audits and publishes; `deposit`, `withdraw`, `reverse_entry` and `expire_holds`
are operations in their own right and audit and publish themselves.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountClosed, AccountFrozen, AccountNotFound, NotACustomerAccount
from core_banking.accounts.models import AccountKind, AccountStatus, InternalPurpose
from core_banking.ledger import repository
from core_banking.ledger.errors import (
    CaptureExceedsHold,
    CurrencyMismatch,
    EntryAlreadyReversed,
    EntryNotFound,
    EntryNotReversible,
    HoldExpired,
    HoldNotFound,
    HoldNotOpen,
    InsufficientFunds,
    InvalidAmount,
    InvalidHoldExpiry,
    LimitExceeded,
    SameAccount,
    UnbalancedEntryError,
)
from core_banking.ledger.models import EntryKind, HoldStatus
from core_banking.ledger.periods import bank_day
from core_banking.ledger.schemas import (
    CaptureResult,
    CashMovementResult,
    HoldRecord,
    LedgerAccount,
    PostedEntry,
    PostingLine,
)
from obank.actor import Actor
from obank.database import Companion
from obank.money import Money
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.ledger"
# The caller's writes made of the entry about to be booked, sent in the booking's statement.
Companions = Callable[[PostedEntry], Sequence[Companion]]
HOLD_EXPIRY_ACTOR = Actor.system("core_banking.hold-expiry")


def _require_positive(money: Money) -> None:
    if money.minor <= 0:
        raise InvalidAmount(f"amount must be positive, got {money.minor} minor units")


def _require_currency(account: LedgerAccount, currency: str) -> None:
    if account.currency != currency:
        raise CurrencyMismatch(f"account {account.id} holds {account.currency}; the amount is in {currency}")


def _require_debitable(account: LedgerAccount, currency: str) -> None:
    """Money may leave only an ACTIVE account, in its own currency."""
    _require_currency(account, currency)
    if account.status is AccountStatus.FROZEN:
        raise AccountFrozen(account.id)
    if account.status is AccountStatus.CLOSED:
        raise AccountClosed(account.id)


def _require_creditable(account: LedgerAccount, currency: str) -> None:
    """Money may arrive on an ACTIVE or FROZEN account, in its own currency."""
    _require_currency(account, currency)
    if account.status is AccountStatus.CLOSED:
        raise AccountClosed(account.id)


def _require_funds(account: LedgerAccount, amount_minor: int) -> None:
    # The bank's own accounts may go negative (a settlement account mirrors money outside the bank).
    if account.kind is AccountKind.CUSTOMER and account.available_minor < amount_minor:
        raise InsufficientFunds(account.id, account.available_minor, amount_minor)


def _count_against_limits(account: LedgerAccount, amount_minor: int, now: datetime) -> None:
    """Refuse when the bank day's or month's outgoing total would exceed its limit, else count it."""
    day = bank_day(now)
    used_today = account.outgoing_on(day)
    if account.daily_limit_minor is not None and used_today + amount_minor > account.daily_limit_minor:
        raise LimitExceeded(account.id, "daily", account.daily_limit_minor, used_today)
    used_this_month = account.outgoing_in_month_of(day)
    if account.monthly_limit_minor is not None and used_this_month + amount_minor > account.monthly_limit_minor:
        raise LimitExceeded(account.id, "monthly", account.monthly_limit_minor, used_this_month)
    account.count_outgoing(amount_minor, day)


async def _lock(session: AsyncSession, *account_ids: uuid.UUID) -> dict[uuid.UUID, LedgerAccount]:
    locked = {account.id: account for account in await repository.lock_accounts(session, sorted(set(account_ids)))}
    for account_id in account_ids:
        if account_id not in locked:
            raise AccountNotFound(account_id)
    return locked


async def _book(
    session: AsyncSession,
    kind: str,
    legs: list[tuple[LedgerAccount, int]],
    *,
    description: str,
    reference: str | None,
    booked_at: datetime,
    reverses_entry_id: uuid.UUID | None = None,
    companions: Companions | None = None,
) -> PostedEntry:
    """Book balanced postings on locked accounts and write their new balances (the database re-checks)."""
    totals: dict[str, int] = defaultdict(int)
    for account, amount in legs:
        if amount == 0:
            raise UnbalancedEntryError("a posting of zero")
        totals[account.currency] += amount
    if len(legs) < 2 or any(totals.values()):
        raise UnbalancedEntryError(f"postings do not sum to zero per currency: {dict(totals)}")
    lines = []
    for account, amount in legs:
        account.booked_minor += amount
        lines.append(PostingLine(account.id, account.currency, amount, account.booked_minor))
    entry = PostedEntry(
        id=uuid.uuid4(),
        kind=kind,
        description=description,
        reference=reference,
        reverses_entry_id=reverses_entry_id,
        booked_at=booked_at,
        postings=tuple(lines),
    )
    touched = list({account.id: account for account, _ in legs}.values())
    await repository.book_entry(session, entry, touched, companions(entry) if companions is not None else ())
    return entry


async def post_transfer(
    session: AsyncSession,
    debit_account_id: uuid.UUID,
    credit_account_id: uuid.UUID,
    money: Money,
    *,
    description: str,
    reference: str | None = None,
    kind: str = EntryKind.TRANSFER,
    debtor_customer_id: uuid.UUID | None = None,
    apply_limits: bool = True,
    now: datetime | None = None,
    customer_creditor_only: bool = False,
    companions: Companions | None = None,
) -> PostedEntry:
    """Move `money` between two accounts: the one place transfer rules are enforced (primitive; caller audits).

    With `debtor_customer_id`, an account the customer does not own is reported as not found; with
    `customer_creditor_only`, so is a credit account of the bank's own. Every refusal is raised before the
    one write, which books the entry together with the writes `companions` makes of it (`obank.database.Companion`).
    """
    _require_positive(money)
    if debit_account_id == credit_account_id:
        raise SameAccount(debit_account_id)
    locked = await _lock(session, debit_account_id, credit_account_id)
    debit, credit = locked[debit_account_id], locked[credit_account_id]
    if debtor_customer_id is not None and debit.customer_id != debtor_customer_id:
        raise AccountNotFound(debit_account_id)
    now = now or datetime.now(UTC)
    _require_debitable(debit, money.currency)
    _require_creditable(credit, money.currency)
    _require_funds(debit, money.minor)
    if apply_limits and debit.kind is AccountKind.CUSTOMER:
        _count_against_limits(debit, money.minor, now)
    if customer_creditor_only and credit.kind is not AccountKind.CUSTOMER:
        raise AccountNotFound(credit_account_id)
    return await _book(
        session,
        kind,
        [(debit, -money.minor), (credit, money.minor)],
        description=description,
        reference=reference,
        booked_at=now,
        companions=companions,
    )


async def _cash_movement(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    money: Money,
    *,
    deposit: bool,
    description: str,
    now: datetime | None,
) -> CashMovementResult:
    _require_positive(money)
    session = uow.session
    settlement = await accounts_service.ensure_internal_account(
        uow, InternalPurpose.SETTLEMENT, money.currency, now=now
    )
    locked = await _lock(session, account_id, settlement.id)
    account, bank = locked[account_id], locked[settlement.id]
    if account.kind is not AccountKind.CUSTOMER:
        raise NotACustomerAccount(account_id)
    before = account.booked_minor
    now = now or datetime.now(UTC)
    if deposit:
        _require_creditable(account, money.currency)
        legs = [(bank, -money.minor), (account, money.minor)]
    else:
        # Over-the-counter withdrawals are authorised by staff, so they do not count against the
        # customer's outgoing limits (those guard remote payments).
        _require_debitable(account, money.currency)
        _require_funds(account, money.minor)
        legs = [(account, -money.minor), (bank, money.minor)]
    kind = EntryKind.DEPOSIT if deposit else EntryKind.WITHDRAWAL
    entry = await _book(session, kind, legs, description=description, reference=None, booked_at=now)
    event_type = "funds.deposited" if deposit else "funds.withdrawn"
    payload: dict[str, Any] = {
        "account_id": str(account_id),
        "entry_id": str(entry.id),
        "amount_minor": money.minor,
        "currency": money.currency,
        "booked_balance_minor": account.booked_minor,
    }
    uow.publish(topic=TOPIC, event_type=event_type, key=str(account_id), payload=payload)
    uow.audit(
        action=f"account.{'deposit' if deposit else 'withdrawal'}",
        entity_type="account",
        entity_id=str(account_id),
        before={"booked_balance_minor": before},
        after={**payload, "description": description},
    )
    return CashMovementResult(entry=entry, account_id=account_id, amount=money, balances=account.balances)


async def deposit(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    money: Money,
    *,
    description: str,
    now: datetime | None = None,
) -> CashMovementResult:
    """Pay money into a customer's account from the bank's settlement account (frozen accounts accept it)."""
    return await _cash_movement(uow, account_id, money, deposit=True, description=description, now=now)


async def withdraw(
    uow: UnitOfWork,
    account_id: uuid.UUID,
    money: Money,
    *,
    description: str,
    now: datetime | None = None,
) -> CashMovementResult:
    """Pay money out of an active customer account to the bank's settlement account, within available funds."""
    return await _cash_movement(uow, account_id, money, deposit=False, description=description, now=now)


async def place_hold(
    session: AsyncSession,
    account_id: uuid.UUID,
    money: Money,
    *,
    expires_at: datetime,
    description: str,
    reference: str | None = None,
    apply_limits: bool = True,
    now: datetime | None = None,
) -> HoldRecord:
    """Reserve funds on an active account: available drops now, booked when captured (primitive; caller audits).

    With `apply_limits`, the hold counts against the outgoing limits of the bank day it is placed on.
    """
    _require_positive(money)
    account = (await _lock(session, account_id))[account_id]
    now = now or datetime.now(UTC)
    if expires_at <= now:
        raise InvalidHoldExpiry(f"expires_at {expires_at.isoformat()} is not after {now.isoformat()}")
    _require_debitable(account, money.currency)
    _require_funds(account, money.minor)
    counts = apply_limits and account.kind is AccountKind.CUSTOMER
    if counts:
        _count_against_limits(account, money.minor, now)
    account.held_minor += money.minor
    hold = HoldRecord(
        id=uuid.uuid4(),
        account_id=account_id,
        currency=money.currency,
        amount_minor=money.minor,
        captured_minor=None,
        status=HoldStatus.OPEN,
        description=description,
        reference=reference,
        limit_day=bank_day(now) if counts else None,
        created_at=now,
        expires_at=expires_at,
        closed_at=None,
        capture_entry_id=None,
    )
    await repository.insert_hold(session, hold)
    await repository.save_accounts(session, [account], now)
    return hold


def _release(account: LedgerAccount, hold: HoldRecord, unused_minor: int) -> None:
    account.held_minor -= hold.amount_minor
    if hold.limit_day is not None and unused_minor:
        account.release_outgoing(unused_minor, hold.limit_day)


async def _locked_open_hold(
    session: AsyncSession, hold_id: uuid.UUID, *other_account_ids: uuid.UUID
) -> tuple[HoldRecord, dict[uuid.UUID, LedgerAccount]]:
    """Lock the hold's account (and others) in id order, then the hold itself; it must still be open."""
    found = await repository.get_hold(session, hold_id)
    if found is None:
        raise HoldNotFound(hold_id)
    if found.account_id in other_account_ids:
        raise SameAccount(found.account_id)
    locked = await _lock(session, found.account_id, *other_account_ids)
    hold = await repository.get_hold(session, hold_id, for_update=True)
    assert hold is not None  # holds are never deleted
    if hold.status is not HoldStatus.OPEN:
        raise HoldNotOpen(hold_id, hold.status)
    return hold, locked


async def capture_hold(
    session: AsyncSession,
    hold_id: uuid.UUID,
    credit_account_id: uuid.UUID,
    amount: Money | None = None,
    *,
    description: str,
    reference: str | None = None,
    now: datetime | None = None,
) -> CaptureResult:
    """Book all of a hold, or part of it and release the rest, to `credit_account_id` (primitive; caller audits)."""
    hold, locked = await _locked_open_hold(session, hold_id, credit_account_id)
    now = now or datetime.now(UTC)
    if hold.expires_at <= now:
        raise HoldExpired(hold_id)
    captured = amount or hold.amount
    _require_positive(captured)
    if captured.currency != hold.currency:
        raise CurrencyMismatch(f"hold {hold_id} is in {hold.currency}; the capture is in {captured.currency}")
    if captured.minor > hold.amount_minor:
        raise CaptureExceedsHold(hold_id, hold.amount_minor, captured.minor)
    debit, credit = locked[hold.account_id], locked[credit_account_id]
    _require_debitable(debit, hold.currency)
    _require_creditable(credit, hold.currency)
    _release(debit, hold, hold.amount_minor - captured.minor)
    entry = await _book(
        session,
        EntryKind.HOLD_CAPTURE,
        [(debit, -captured.minor), (credit, captured.minor)],
        description=description,
        reference=reference or str(hold_id),
        booked_at=now,
    )
    await repository.settle_hold(
        session, hold_id, HoldStatus.CAPTURED, now, captured_minor=captured.minor, capture_entry_id=entry.id
    )
    settled = await repository.get_hold(session, hold_id)
    assert settled is not None
    return CaptureResult(hold=settled, entry=entry)


async def void_hold(session: AsyncSession, hold_id: uuid.UUID, *, now: datetime | None = None) -> HoldRecord:
    """Release an open hold in full (primitive; caller audits)."""
    hold, locked = await _locked_open_hold(session, hold_id)
    now = now or datetime.now(UTC)
    account = locked[hold.account_id]
    _release(account, hold, hold.amount_minor)
    await repository.save_accounts(session, [account], now)
    await repository.settle_hold(session, hold_id, HoldStatus.VOIDED, now)
    voided = await repository.get_hold(session, hold_id)
    assert voided is not None
    return voided


async def expire_holds(uow: UnitOfWork, now: datetime | None = None, *, batch_size: int = 500) -> list[HoldRecord]:
    """Release open holds past their expiry (a periodic job; run it again while it returns a full batch)."""
    session = uow.session
    now = now or datetime.now(UTC)
    candidates = await repository.expired_open_holds(session, now, batch_size)
    if not candidates:
        return []
    locked = await _lock(session, *{account_id for _, account_id in candidates})
    holds = [
        hold
        for hold in await repository.lock_holds(session, [hold_id for hold_id, _ in candidates])
        # Re-checked under the lock: a capture or void may have settled it meanwhile.
        if hold.status is HoldStatus.OPEN and hold.expires_at <= now
    ]
    if not holds:
        return []
    for hold in holds:
        _release(locked[hold.account_id], hold, hold.amount_minor)
    await repository.save_accounts(session, list(locked.values()), now)
    await repository.expire_holds(session, [hold.id for hold in holds], now)
    for hold in holds:
        payload = {
            "hold_id": str(hold.id),
            "account_id": str(hold.account_id),
            "amount_minor": hold.amount_minor,
            "currency": hold.currency,
        }
        uow.publish(topic=TOPIC, event_type="hold.expired", key=str(hold.account_id), payload=payload)
        uow.audit(
            action="hold.expired",
            entity_type="hold",
            entity_id=str(hold.id),
            before={"status": HoldStatus.OPEN.value},
            after={"status": HoldStatus.EXPIRED.value, "account_id": str(hold.account_id)},
        )
    return [dataclasses.replace(hold, status=HoldStatus.EXPIRED, closed_at=now) for hold in holds]


async def reverse_entry(
    uow: UnitOfWork, entry_id: uuid.UUID, *, reason: str, now: datetime | None = None
) -> PostedEntry:
    """Book the compensating entry of `entry_id` (each posting negated); an entry is reversed at most once.

    A bank correction: it may debit a frozen account, never a closed one, and never overdraw a customer.
    """
    session = uow.session
    original = await repository.get_entry(session, entry_id)
    if original is None:
        raise EntryNotFound(entry_id)
    if original.kind == EntryKind.REVERSAL:
        raise EntryNotReversible(entry_id)
    locked = await _lock(session, *(line.account_id for line in original.postings))
    # Checked under the account locks, which every reversal of this entry takes first.
    if await repository.reversal_of(session, entry_id) is not None:
        raise EntryAlreadyReversed(entry_id)
    legs = []
    for line in original.postings:
        account = locked[line.account_id]
        if account.status is AccountStatus.CLOSED:
            raise AccountClosed(account.id)
        if line.amount_minor > 0:
            _require_funds(account, line.amount_minor)
        legs.append((account, -line.amount_minor))
    now = now or datetime.now(UTC)
    reversal = await _book(
        session,
        EntryKind.REVERSAL,
        legs,
        description=f"Reversal: {original.description}"[:140],
        reference=original.reference,
        booked_at=now,
        reverses_entry_id=entry_id,
    )
    payload = {"entry_id": str(entry_id), "reversal_entry_id": str(reversal.id), "reason": reason}
    uow.publish(topic=TOPIC, event_type="entry.reversed", key=str(entry_id), payload=payload)
    uow.audit(action="entry.reversed", entity_type="journal_entry", entity_id=str(entry_id), after=payload)
    return reversal

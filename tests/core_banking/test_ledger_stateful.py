"""Random sequences of ledger operations against a model: every refusal is justified, every invariant holds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text

from audit.trail import units_of_work
from core_banking.accounts import service as accounts
from core_banking.accounts.errors import AccountClosed, AccountFrozen, AccountNotEmpty, InvalidStatusTransition
from core_banking.accounts.models import AccountStatus, AccountType
from core_banking.accounts.schemas import AccountOpen
from core_banking.errors import DomainError
from core_banking.ledger import service as ledger
from core_banking.ledger.errors import CurrencyMismatch, HoldNotOpen, InsufficientFunds, SameAccount
from obank.crypto import KeyRing, load_keyring
from obank.database import create_engine, create_sessionmaker
from obank.money import Money
from obank.settings import Settings
from obank.unit_of_work import UnitOfWork
from tests.core_banking.helpers import STAFF, ledger_problems, new_customer

T = TypeVar("T")
CLOCK = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
amounts = st.integers(min_value=1, max_value=20_000)


@dataclass
class ModelAccount:
    currency: str
    overdraft: int
    status: AccountStatus = AccountStatus.ACTIVE
    booked: int = 0
    holds: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def held(self) -> int:
        return sum(self.holds.values())

    @property
    def available(self) -> int:
        return self.booked + self.overdraft - self.held


def _debit_refusals(source: ModelAccount, amount: int) -> set[type[DomainError]]:
    refusals: set[type[DomainError]] = set()
    if source.status is AccountStatus.FROZEN:
        refusals.add(AccountFrozen)
    if source.status is AccountStatus.CLOSED:
        refusals.add(AccountClosed)
    if source.available < amount:
        refusals.add(InsufficientFunds)
    return refusals


class LedgerMachine(RuleBasedStateMachine):
    """Drives the services as the admin API and the payment flows do, checking the model after each step."""

    database_url: str
    keyring: KeyRing
    account_ids = Bundle("accounts")
    hold_ids = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        # Psycopg's async connections belong to one event loop: each example gets its own loop and engine.
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(self.database_url, pool_size=1)
        self.sessions = create_sessionmaker(self.engine)
        self.units = units_of_work(self.sessions, self.keyring)
        self.customer_id = self.run(new_customer(self.sessions, self.keyring)).id
        self.model: dict[uuid.UUID, ModelAccount] = {}
        self.hold_accounts: dict[uuid.UUID, uuid.UUID] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def attempt(self, operation: Callable[[UnitOfWork], Awaitable[T]], refusals: set[type[DomainError]]) -> T | None:
        """Run one operation in its own transaction; it must be refused exactly when the model says so."""

        async def in_transaction() -> T:
            async with self.units.begin(STAFF) as uow:
                return await operation(uow)

        refusal: DomainError | None = None
        try:
            result = self.run(in_transaction())
        except DomainError as error:
            refusal = error
        if refusal is not None:
            assert type(refusal) in refusals, f"refused with {refusal!r}; the model expected {refusals or 'success'}"
            return None
        assert not refusals, f"succeeded; the model expected a refusal in {refusals}"
        return result

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    @rule(target=account_ids, currency=st.sampled_from(["GBP", "EUR"]), overdraft=st.sampled_from([0, 3_000]))
    def open_account(self, currency: str, overdraft: int) -> uuid.UUID:
        request = AccountOpen(
            account_type=AccountType.CHECKING,
            currency=currency,
            overdraft_limit_minor=overdraft,
            daily_limit_minor=10**12,
            monthly_limit_minor=10**12,
        )
        opened = self.attempt(lambda u: accounts.open_account(u, self.customer_id, request, now=CLOCK), set())
        assert opened is not None
        self.model[opened.id] = ModelAccount(currency, overdraft)
        return opened.id

    @rule(account_id=account_ids, amount=amounts)
    def deposit(self, account_id: uuid.UUID, amount: int) -> None:
        account = self.model[account_id]
        refusals: set[type[DomainError]] = {AccountClosed} if account.status is AccountStatus.CLOSED else set()
        money = Money(amount, account.currency)
        if self.attempt(lambda u: ledger.deposit(u, account_id, money, description="in", now=CLOCK), refusals):
            account.booked += amount

    @rule(account_id=account_ids, amount=st.one_of(amounts, st.just("everything")))
    def withdraw(self, account_id: uuid.UUID, amount: int | str) -> None:
        account = self.model[account_id]
        minor = max(account.booked, 1) if amount == "everything" else int(amount)
        money = Money(minor, account.currency)
        if self.attempt(
            lambda u: ledger.withdraw(u, account_id, money, description="out", now=CLOCK),
            _debit_refusals(account, minor),
        ):
            account.booked -= minor

    @rule(source_id=account_ids, destination_id=account_ids, amount=amounts)
    def transfer(self, source_id: uuid.UUID, destination_id: uuid.UUID, amount: int) -> None:
        source, destination = self.model[source_id], self.model[destination_id]
        refusals = _debit_refusals(source, amount)
        if source_id == destination_id:
            refusals = {SameAccount}
        if destination.currency != source.currency:
            refusals.add(CurrencyMismatch)
        if destination.status is AccountStatus.CLOSED:
            refusals.add(AccountClosed)
        money = Money(amount, source.currency)
        if self.attempt(
            lambda u: ledger.post_transfer(u.session, source_id, destination_id, money, description="t", now=CLOCK),
            refusals,
        ):
            source.booked -= amount
            destination.booked += amount

    @rule(target=hold_ids, account_id=account_ids, amount=amounts)
    def place_hold(self, account_id: uuid.UUID, amount: int) -> uuid.UUID:
        account = self.model[account_id]
        hold = self.attempt(
            lambda u: ledger.place_hold(
                u.session,
                account_id,
                Money(amount, account.currency),
                expires_at=CLOCK + timedelta(days=1),
                description="card",
                now=CLOCK,
            ),
            _debit_refusals(account, amount),
        )
        if hold is None:
            return uuid.uuid4()  # refused: the bundle still gets a value, which capture and void skip
        account.holds[hold.id] = amount
        self.hold_accounts[hold.id] = account_id
        return hold.id

    def _open_hold(self, hold_id: uuid.UUID) -> tuple[ModelAccount, int] | None:
        account_id = self.hold_accounts.get(hold_id)
        if account_id is None:
            return None
        account = self.model[account_id]
        return (account, account.holds[hold_id]) if hold_id in account.holds else (account, 0)

    @rule(hold_id=hold_ids, credit_id=account_ids, percent=st.integers(min_value=1, max_value=100))
    def capture(self, hold_id: uuid.UUID, credit_id: uuid.UUID, percent: int) -> None:
        found = self._open_hold(hold_id)
        if found is None:
            return
        account, held = found
        credit = self.model[credit_id]
        amount = max(1, held * percent // 100)
        refusals: set[type[DomainError]] = set()
        if not held:
            refusals.add(HoldNotOpen)
        if self.hold_accounts[hold_id] == credit_id:
            refusals.add(SameAccount)
        if credit.currency != account.currency:
            refusals.add(CurrencyMismatch)
        if account.status is AccountStatus.FROZEN:
            refusals.add(AccountFrozen)
        if credit.status is AccountStatus.CLOSED:
            refusals.add(AccountClosed)
        money = Money(amount, account.currency)
        if self.attempt(
            lambda u: ledger.capture_hold(u.session, hold_id, credit_id, money, description="capture", now=CLOCK),
            refusals,
        ):
            del account.holds[hold_id]
            account.booked -= amount
            credit.booked += amount

    @rule(hold_id=hold_ids)
    def void(self, hold_id: uuid.UUID) -> None:
        found = self._open_hold(hold_id)
        if found is None:
            return
        account, held = found
        if self.attempt(lambda u: ledger.void_hold(u.session, hold_id, now=CLOCK), set() if held else {HoldNotOpen}):
            del account.holds[hold_id]

    @rule()
    def expire_holds(self) -> None:
        expired = self.attempt(lambda u: ledger.expire_holds(u, CLOCK + timedelta(days=2)), set())
        assert expired is not None
        expired_ids = {hold.id for hold in expired}
        for account in self.model.values():
            assert set(account.holds) <= expired_ids
            account.holds.clear()

    @rule(account_id=account_ids)
    def freeze(self, account_id: uuid.UUID) -> None:
        account = self.model[account_id]
        refusals: set[type[DomainError]] = set()
        if account.status is not AccountStatus.ACTIVE:
            refusals.add(InvalidStatusTransition)
        if self.attempt(lambda u: accounts.freeze_account(u, account_id, "test"), refusals):
            account.status = AccountStatus.FROZEN

    @rule(account_id=account_ids)
    def unfreeze(self, account_id: uuid.UUID) -> None:
        account = self.model[account_id]
        refusals: set[type[DomainError]] = set()
        if account.status is not AccountStatus.FROZEN:
            refusals.add(InvalidStatusTransition)
        if self.attempt(lambda u: accounts.unfreeze_account(u, account_id, "test"), refusals):
            account.status = AccountStatus.ACTIVE

    @rule(account_id=account_ids)
    def close(self, account_id: uuid.UUID) -> None:
        account = self.model[account_id]
        refusals: set[type[DomainError]] = set()
        if account.status is AccountStatus.CLOSED:
            refusals.add(InvalidStatusTransition)
        elif account.booked or account.held:
            refusals.add(AccountNotEmpty)
        if self.attempt(lambda u: accounts.close_account(u, account_id, "test"), refusals):
            account.status = AccountStatus.CLOSED

    @invariant()
    def ledger_matches_the_model_and_its_invariants(self) -> None:
        async def check() -> None:
            async with self.engine.connect() as connection:
                assert await ledger_problems(connection) == []
                if not self.model:
                    return
                rows = await connection.execute(
                    text(
                        "SELECT id, status, booked_balance_minor, held_minor FROM core_banking.accounts"
                        " WHERE id = ANY(:ids)"
                    ),
                    {"ids": list(self.model)},
                )
                for account_id, status, booked, held in rows:
                    account = self.model[account_id]
                    assert (status, booked, held) == (account.status.value, account.booked, account.held)
                    assert account.available >= 0
                    if account.status is AccountStatus.CLOSED:
                        assert booked == held == 0

        self.run(check())


# Small on purpose: a dozen runs of thirty steps finish in seconds and still reach every rule.
PROFILE = hypothesis_settings(
    max_examples=12,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_random_operations_keep_the_ledger_consistent(settings: Settings, database_url: str) -> None:
    LedgerMachine.database_url = database_url
    LedgerMachine.keyring = load_keyring(settings)
    run_state_machine_as_test(LedgerMachine, settings=PROFILE)

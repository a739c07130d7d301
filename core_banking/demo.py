"""Demo customers with funded accounts for `obank serve`; safe to run at every start.

Alice, once onboarded, has saved Bob as a payee (checked by confirmation of payee) and pays him and her own
savings by standing order, so that the payee and scheduled-payment screens and APIs have something to show.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from dateutil.relativedelta import relativedelta

from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountOpen
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.customers import repository as customers_repository
from core_banking.customers import service as customers_service
from core_banking.customers.models import KycStatus
from core_banking.customers.schemas import Address, CustomerCreate
from core_banking.ledger import service as ledger_service
from core_banking.ledger.periods import bank_day
from core_banking.payees import service as payees_service
from core_banking.payees.confirmation import NoDirectory
from core_banking.payees.schemas import PayeeConfirmationCreate, PayeeCreate
from core_banking.payment_orders import service as payment_orders_service
from core_banking.payment_orders.models import OrderKind
from core_banking.payment_orders.schedule import Frequency
from core_banking.payment_orders.schemas import OrderRequest
from obank.actor import Actor
from obank.money import Money
from obank.unit_of_work import UnitOfWork, UnitsOfWork

DEMO_ACTOR = Actor.system("core_banking.demo")


@dataclass(frozen=True, slots=True)
class DemoAccount:
    account_id: uuid.UUID
    account_type: AccountType
    currency: str
    iban: str
    booked_balance_minor: int


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    customer_id: uuid.UUID
    email: str
    full_name: str
    accounts: tuple[DemoAccount, ...]


@dataclass(frozen=True, slots=True)
class _AccountSpec:
    account_type: AccountType
    opening_deposit: Money
    overdraft_limit_minor: int = 0


@dataclass(frozen=True, slots=True)
class _CustomerSpec:
    customer: CustomerCreate
    accounts: tuple[_AccountSpec, ...]


DEMO_CUSTOMERS = (
    _CustomerSpec(
        CustomerCreate(
            full_name="Alice Demo",
            email="alice@demo.obank.example",
            phone="+447700900001",
            date_of_birth=date(1988, 4, 12),
            address=Address(lines=["1 Demo Street"], city="London", postcode="EC1A 1AA", country="GB"),
            national_id="QQ123456A",
        ),
        (
            _AccountSpec(AccountType.CHECKING, Money(250_000, "GBP"), overdraft_limit_minor=50_000),
            _AccountSpec(AccountType.SAVINGS, Money(1_000_000, "GBP")),
            _AccountSpec(AccountType.CHECKING, Money(75_000, "EUR")),
        ),
    ),
    _CustomerSpec(
        CustomerCreate(
            full_name="Bob Demo",
            email="bob@demo.obank.example",
            phone="+447700900002",
            date_of_birth=date(1975, 11, 3),
            address=Address(lines=["2 Sample Road"], city="Manchester", postcode="M1 1AE", country="GB"),
            national_id="QQ654321B",
        ),
        (
            _AccountSpec(AccountType.CHECKING, Money(120_000, "GBP")),
            _AccountSpec(AccountType.SAVINGS, Money(300_000, "GBP")),
        ),
    ),
)


async def _onboard(uow: UnitOfWork, spec: _CustomerSpec) -> uuid.UUID:
    """Create the customer, verify them, open and fund their accounts through the ledger."""
    customer = await customers_service.create_customer(uow, spec.customer)
    await customers_service.set_kyc_status(uow, customer.id, KycStatus.VERIFIED)
    for account_spec in spec.accounts:
        account = await accounts_service.open_account(
            uow,
            customer.id,
            AccountOpen(
                account_type=account_spec.account_type,
                currency=account_spec.opening_deposit.currency,
                overdraft_limit_minor=account_spec.overdraft_limit_minor,
            ),
        )
        await ledger_service.deposit(uow, account.id, account_spec.opening_deposit, description="Opening deposit")
    return customer.id


async def seed_demo_bank(units: UnitsOfWork) -> list[DemoCustomer]:
    """Ensure the demo customers exist with funded accounts (found by email); returns them with their accounts.

    One transaction of its own, acting as the demo.
    """
    async with units.begin(DEMO_ACTOR) as uow:
        return await _seed(uow)


async def _seed(uow: UnitOfWork) -> list[DemoCustomer]:
    session = uow.session
    await customers_repository.lock_onboarding(session, "core_banking.demo")
    seeded = []
    onboarded = False
    for spec in DEMO_CUSTOMERS:
        existing = await customers_service.find_by_email(session, uow.keyring, spec.customer.email)
        onboarded = onboarded or existing is None
        customer_id = existing.id if existing is not None else await _onboard(uow, spec)
        accounts = await accounts_service.list_customer_accounts(session, customer_id)
        seeded.append(
            DemoCustomer(
                customer_id=customer_id,
                email=spec.customer.email,
                full_name=spec.customer.full_name,
                accounts=tuple(
                    DemoAccount(a.id, a.account_type, a.currency, a.iban, a.booked_balance_minor)
                    for a in accounts
                    if a.account_type is not None
                ),
            )
        )
    if onboarded:
        await _standing_orders(uow, *seeded[:2])
    return seeded


def _first(customer: DemoCustomer, account_type: AccountType) -> DemoAccount:
    return next(a for a in customer.accounts if a.account_type is account_type and a.currency == "GBP")


async def _standing_orders(uow: UnitOfWork, alice: DemoCustomer, bob: DemoCustomer) -> None:
    """Bob saved as Alice's payee; her monthly standing orders to him and to her own savings."""
    bob_current = _first(bob, AccountType.CHECKING)
    checked = await payees_service.check_payee(
        uow, NoDirectory(), alice.customer_id, PayeeConfirmationCreate(name=bob.full_name, iban=bob_current.iban),
        payees_service.PayeeRules(),
    )  # fmt: skip
    payee = await payees_service.add_payee(
        uow,
        alice.customer_id,
        PayeeCreate(name=bob.full_name, iban=bob_current.iban, reference="Allotment", confirmation_id=checked.id),
        payees_service.PayeeRules(),
    )
    current = _first(alice, AccountType.CHECKING)
    first_date = bank_day(datetime.now(UTC)).replace(day=1) + relativedelta(months=1)
    alice_name = CreditorAccount(alice.full_name, CreditorScheme.IBAN, _first(alice, AccountType.SAVINGS).iban)
    for creditor, amount, reference, payee_id, month_end in (
        (payee.creditor, 2_000, "Allotment", payee.id, False),
        (alice_name, 15_000, "Savings", None, True),
    ):
        await payment_orders_service.create_order(
            uow,
            OrderRequest(
                kind=OrderKind.STANDING_ORDER,
                customer_id=alice.customer_id,
                debtor_account_id=current.account_id,
                creditor=creditor,
                first=Money(amount, "GBP"),
                recurring=Money(amount, "GBP"),
                frequency=Frequency.MONTHLY,
                first_date=first_date,
                reference=reference,
                payee_id=payee_id,
                on_month_end=month_end,
            ),
        )

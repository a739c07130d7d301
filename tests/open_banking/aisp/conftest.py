"""Fixtures for the Account and Transaction API: a customer's accounts with a known history, authorised consents,
and the PSU's consent-bound token as it reaches the app past the gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from audit.trail import platform_units
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountOpen, AccountRecord
from core_banking.customers.schemas import CustomerRecord
from core_banking.facade import AccountAccessDetails, ConsentRecord, InProcessCoreBanking, Money, Permission
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform
from open_banking.app import SERVICE_NAME
from tests.core_banking.helpers import STAFF, new_account, new_customer

AISP = "/open-banking/v4.0/aisp"
PUBLIC = "https://127.0.0.1:8443"
CLIENT = "tpp-ais"
P = Permission
# Every permission this bank takes (it refuses ReadOffers).
EVERYTHING = tuple(p for p in Permission if p is not P.READ_OFFERS)
BASIC = (
    P.READ_ACCOUNTS_BASIC,
    P.READ_BALANCES,
    P.READ_TRANSACTIONS_BASIC,
    P.READ_TRANSACTIONS_CREDITS,
    P.READ_TRANSACTIONS_DEBITS,
    P.READ_STATEMENTS_BASIC,
    P.READ_BENEFICIARIES_BASIC,
    P.READ_STANDING_ORDERS_BASIC,
    P.READ_SCHEDULED_PAYMENTS_BASIC,
)
DETAIL = (
    P.READ_ACCOUNTS_DETAIL,
    P.READ_BALANCES,
    P.READ_TRANSACTIONS_DETAIL,
    P.READ_TRANSACTIONS_CREDITS,
    P.READ_TRANSACTIONS_DEBITS,
    P.READ_STATEMENTS_DETAIL,
    P.READ_BENEFICIARIES_DETAIL,
    P.READ_STANDING_ORDERS_DETAIL,
    P.READ_SCHEDULED_PAYMENTS_DETAIL,
    P.READ_DIRECT_DEBITS,
    P.READ_PARTY,
    P.READ_PARTY_PSU,
    P.READ_PRODUCTS,
    P.READ_PAN,
)

# What the Detail form of a resource shows beyond its Basic one (OBAccount6Detail, OBTransaction6Detail...).
ACCOUNT_DETAIL_ONLY = frozenset({"Account", "Servicer", "StatementFrequencyAndFormat"})
TRANSACTION_DETAIL_ONLY = frozenset(
    {
        "TransactionInformation",
        "Balance",
        "MerchantDetails",
        "CreditorAgent",
        "CreditorAccount",
        "DebtorAgent",
        "DebtorAccount",
        "UltimateCreditor",
        "UltimateDebtor",
    }
)
STATEMENT_DETAIL_ONLY = frozenset({"StatementAmount"})

ReaderHeaders = Callable[..., dict[str, str]]


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def only_error(response: httpx.Response) -> dict[str, str]:
    errors = response.json()["Errors"]
    assert len(errors) == 1, errors
    error: dict[str, str] = errors[0]
    return error


def error_of(response: httpx.Response) -> tuple[str, str | None]:
    error = only_error(response)
    return error["ErrorCode"], error.get("Path")


@dataclass
class Bank:
    """Ada's current account (5000 overdraft) and savings, opened 1 September 2026, a third account of hers
    that consents leave out, and Bob's account; a history across September, October and November."""

    platform: Platform
    core: InProcessCoreBanking
    ada: CustomerRecord
    bob: CustomerRecord
    current: AccountRecord
    savings: AccountRecord
    third: AccountRecord
    bobs: AccountRecord

    async def consent(
        self,
        *permissions: Permission,
        client_id: str = CLIENT,
        accounts: Iterable[uuid.UUID] | None = None,
        **window: datetime,
    ) -> ConsentRecord:
        """An account access consent the TPP asked for and Ada authorised over the accounts chosen."""
        details = AccountAccessDetails(permissions or EVERYTHING, **window)
        consent = await self.core.create_account_access_consent(client_id, details)
        chosen = list(accounts if accounts is not None else (self.current.id, self.savings.id))
        return await self.core.authorise_consent(consent.id, customer_id=self.ada.id, account_ids=chosen)

    async def expire(self, consent_id: str) -> None:
        """The consent's ExpirationDateTime passes (as time would make it)."""
        async with unit_of_work(self.platform.sessions) as session:
            await session.execute(
                text("UPDATE core_banking.consents SET expires_at = now() - interval '1 second' WHERE id = :id"),
                {"id": consent_id},
            )


async def _open(platform: Platform, customer_id: uuid.UUID, account_type: AccountType, **limits: int) -> AccountRecord:
    async with platform_units(platform).begin(STAFF) as uow:
        request = AccountOpen(account_type=account_type, currency="GBP", **limits)
        return await accounts_service.open_account(uow, customer_id, request, now=at(9, 1))


async def _deposit(platform: Platform, account_id: uuid.UUID, minor: int, when: datetime, what: str) -> None:
    async with platform_units(platform).begin(STAFF) as uow:
        await ledger.deposit(uow, account_id, Money(minor, "GBP"), description=what, now=when)


async def _move(
    platform: Platform, source: uuid.UUID, target: uuid.UUID, minor: int, when: datetime, what: str
) -> None:
    async with unit_of_work(platform.sessions) as session:
        await ledger.post_transfer(session, source, target, Money(minor, "GBP"), description=what, now=when)


@pytest.fixture
async def bank(platform: Platform, core_banking: InProcessCoreBanking) -> Bank:
    ada = await new_customer(platform.sessions, platform.keyring, full_name="Ada Lovelace")
    bob = await new_customer(platform.sessions, platform.keyring, full_name="Bob Babbage")
    current = await _open(platform, ada.id, AccountType.CHECKING, overdraft_limit_minor=5_000)
    savings = await _open(platform, ada.id, AccountType.SAVINGS)
    third = await new_account(platform.sessions, platform.keyring, ada.id)
    bobs = await new_account(platform.sessions, platform.keyring, bob.id, funded_minor=100)
    await _deposit(platform, current.id, 10_000, at(9, 10), "Salary")
    await _move(platform, current.id, savings.id, 2_500, at(9, 20), "Rent")
    await _deposit(platform, current.id, 1_000, at(10, 5), "Bonus")
    await _move(platform, savings.id, current.id, 200, at(10, 21), "Refund")
    await _deposit(platform, current.id, 300, at(11, 15), "Interest")
    return Bank(platform, core_banking, ada, bob, current, savings, third, bobs)


@pytest.fixture
def reader_headers(app: FastAPI, bank: Bank) -> ReaderHeaders:
    """The headers of a TPP's request with the PSU's access token bound to `consent_id`, past the gateway."""

    def make(
        consent_id: str | None,
        *,
        client_id: str = CLIENT,
        customer_id: uuid.UUID | None = None,
        kind: PrincipalKind = "customer",
        scopes: Iterable[str] = ("openid", "accounts"),
        **extra: str,
    ) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id or bank.ada.id) if kind == "customer" else client_id,
            kind=kind,
            interaction_id=str(uuid.uuid4()),
            client_id=client_id,
            scopes=frozenset(scopes),
            consent_id=consent_id,
        )
        assertion = app.state.internal_assertions.sign(principal, SERVICE_NAME)
        return {"authorization": "Bearer opaque-to-this-app", PRINCIPAL_HEADER: assertion, **extra}

    return make

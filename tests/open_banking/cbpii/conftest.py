"""Fixtures of the Confirmation of Funds API: a debtor with an account, consents, and the CBPII's two tokens."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import (
    ConsentRecord,
    DebtorAccount,
    DebtorScheme,
    FundsConfirmationDetails,
    InProcessCoreBanking,
)
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from obank.money import Money
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from open_banking.app import SERVICE_NAME
from tests.core_banking.helpers import new_account, new_customer
from tests.open_banking.conftest import TppHeaders

CBPII = "/open-banking/v4.0/cbpii"
CONSENTS = CBPII + "/funds-confirmation-consents"
FUNDS_CONFIRMATIONS = CBPII + "/funds-confirmations"
TPP = "tpp-1"
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Debtor:
    """A customer's GBP account: 100.00 booked, a 50.00 overdraft and a 30.00 card hold, so 120.00 available."""

    customer_id: uuid.UUID
    account: AccountRecord

    @property
    def sort_code_and_number(self) -> str:
        return self.account.sort_code + self.account.account_number

    def debtor_account(self) -> dict[str, str]:
        return {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": self.sort_code_and_number}


@pytest.fixture
async def debtor(platform: Platform) -> Debtor:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(
        platform.sessions, platform.keyring, customer.id, funded_minor=10_000, overdraft_limit_minor=5_000
    )
    async with unit_of_work(platform.sessions) as session:
        expires = datetime.now(UTC) + timedelta(days=1)
        await ledger.place_hold(session, account.id, Money(3_000, "GBP"), expires_at=expires, description="Card")
    return Debtor(customer.id, account)


def consent_body(debtor: Debtor, **data: Any) -> dict[str, Any]:
    return {"Data": {"DebtorAccount": debtor.debtor_account(), **data}}


@pytest.fixture
def cbpii_headers(tpp_headers: TppHeaders) -> Callable[..., dict[str, str]]:
    """A CBPII's client credentials token (scope fundsconfirmations), as the gateway hands it on."""

    def make(client_id: str = TPP, **extra: str) -> dict[str, str]:
        return tpp_headers(client_id, scopes=("fundsconfirmations",), **extra)

    return make


@pytest.fixture
def consent_token(app: FastAPI) -> Callable[..., dict[str, str]]:
    """The token a customer's authorisation of `consent_id` issued to the CBPII, as the gateway hands it on."""

    def make(
        consent_id: str, *, customer_id: uuid.UUID | None = None, client_id: str = TPP, **extra: str
    ) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id or uuid.uuid4()),
            kind="customer",
            interaction_id=str(uuid.uuid4()),
            client_id=client_id,
            scopes=frozenset({"openid", "fundsconfirmations"}),
            consent_id=consent_id,
        )
        assertion = app.state.internal_assertions.sign(principal, SERVICE_NAME)
        return {"authorization": "Bearer opaque-to-this-app", PRINCIPAL_HEADER: assertion, **extra}

    return make


AuthorisedConsent = Callable[..., Awaitable[ConsentRecord]]


@pytest.fixture
def authorised_consent(core_banking: InProcessCoreBanking, debtor: Debtor) -> AuthorisedConsent:
    """A funds confirmation consent on the debtor's account, authorised by the debtor as the consent page does."""

    async def make(client_id: str = TPP, expires_at: datetime | None = None) -> ConsentRecord:
        account = DebtorAccount(DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, debtor.sort_code_and_number)
        consent = await core_banking.create_funds_confirmation_consent(
            client_id, FundsConfirmationDetails(account, expires_at)
        )
        return await core_banking.authorise_consent(
            consent.id, customer_id=debtor.customer_id, account_ids=[debtor.account.id]
        )

    return make


async def expire(platform: Platform, consent_id: str) -> None:
    """Move the consent's expiry into the past, as time would (no API may set one there)."""
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.consents SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": consent_id},
        )


def only_error(response: Any) -> dict[str, str]:
    errors = response.json()["Errors"]
    assert len(errors) == 1, errors
    error: dict[str, str] = errors[0]
    return error

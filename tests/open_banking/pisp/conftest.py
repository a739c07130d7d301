"""Fixtures of the Payment Initiation API: a debtor with an account, a payee, consents, and the PISP's tokens."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import ConsentRecord, InProcessCoreBanking
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from open_banking.app import SERVICE_NAME
from open_banking.pisp import service
from open_banking.pisp.schemas import OBWriteDomesticConsent4
from tests.core_banking.helpers import new_account, new_customer
from tests.open_banking.conftest import TppHeaders

PISP = "/open-banking/v4.0/pisp"
CONSENTS = PISP + "/domestic-payment-consents"
PAYMENTS = PISP + "/domestic-payments"
TPP = "tpp-1"
JSON = {"content-type": "application/json"}
# Message signing is not verified yet (see open_banking.pisp); the spec makes the header mandatory on these POSTs.
SIGNED = {"x-jws-signature": "eyJhbGciOiJQUzI1NiJ9..c2lnbmF0dXJl"}
# A payee at another bank whose sort code and account number pass VocaLink's modulus check.
PAYEE_ACCOUNT = "08999966374958"


@dataclass(frozen=True)
class Debtor:
    """A customer with a GBP current account holding 100.00."""

    customer_id: uuid.UUID
    account: AccountRecord


@pytest.fixture
async def debtor(platform: Platform) -> Debtor:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    return Debtor(customer.id, account)


@pytest.fixture
async def payee(platform: Platform) -> AccountRecord:
    """Another customer's account at this bank: a payment to it is booked at once."""
    customer = await new_customer(platform.sessions, platform.keyring)
    return await new_account(platform.sessions, platform.keyring, customer.id)


def initiation(amount: str = "10.50", *, identification: str = PAYEE_ACCOUNT, **fields: Any) -> dict[str, Any]:
    """A domestic payment's Initiation: the amount, the payee and a reference."""
    return {
        "InstructionIdentification": "ACME412",
        "EndToEndIdentification": "FRESCO.21302.GFX.20",
        "InstructedAmount": {"Amount": amount, "Currency": "GBP"},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": identification,
            "Name": "ACME Inc",
        },
        "RemittanceInformation": {
            "Structured": [{"CreditorReferenceInformation": {"Reference": "FRESCO-101"}}],
            "Unstructured": ["Internal ops code 5120101"],
        },
        **fields,
    }


RISK = {"PaymentContextCode": "EcommerceMerchantInitiatedPayment", "ContractPresentIndicator": False}


def consent_body(payment: dict[str, Any] | None = None, risk: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Data": {"Initiation": payment or initiation()}, "Risk": copy.deepcopy(RISK if risk is None else risk)}


def payment_body(consent_id: str, payment: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"Data": {"ConsentId": consent_id, "Initiation": payment or initiation()}, "Risk": copy.deepcopy(RISK)}


def key() -> str:
    return "pisp-" + uuid.uuid4().hex[:20]


@pytest.fixture
def pisp_headers(tpp_headers: TppHeaders) -> Callable[..., dict[str, str]]:
    """A PISP's client credentials token (scope payments), as the gateway hands it on."""

    def make(client_id: str = TPP, **extra: str) -> dict[str, str]:
        return tpp_headers(client_id, scopes=("payments",), **extra)

    return make


@pytest.fixture
def consent_token(app: FastAPI) -> Callable[..., dict[str, str]]:
    """The token a customer's authorisation of `consent_id` issued to the PISP, as the gateway hands it on."""

    def make(consent_id: str, customer_id: uuid.UUID, *, client_id: str = TPP, **extra: str) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id),
            kind="customer",
            interaction_id=str(uuid.uuid4()),
            client_id=client_id,
            scopes=frozenset({"openid", "payments"}),
            consent_id=consent_id,
        )
        assertion = app.state.internal_assertions.sign(principal, SERVICE_NAME)
        return {"authorization": "Bearer opaque-to-this-app", PRINCIPAL_HEADER: assertion, **extra}

    return make


AuthorisedConsent = Callable[..., Awaitable[ConsentRecord]]


@pytest.fixture
def authorised_consent(core_banking: InProcessCoreBanking, debtor: Debtor) -> AuthorisedConsent:
    """A domestic payment consent, made as the API makes it, authorised by the debtor as the consent page does."""

    async def make(payment: dict[str, Any] | None = None, *, client_id: str = TPP) -> ConsentRecord:
        body = OBWriteDomesticConsent4.model_validate(consent_body(payment))
        details = service.payment_details(body.Data.Initiation, body.Risk)
        consent = await core_banking.create_domestic_payment_consent(client_id, details)
        return await core_banking.authorise_consent(
            consent.id, customer_id=debtor.customer_id, account_ids=[debtor.account.id]
        )

    return make


def only_error(response: Any) -> dict[str, str]:
    errors = response.json()["Errors"]
    assert len(errors) == 1, errors
    error: dict[str, str] = errors[0]
    return error

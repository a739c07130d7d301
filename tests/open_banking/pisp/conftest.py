"""Fixtures of the Payment Initiation API: a debtor with an account, a payee, consents, and the PISP's tokens."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from audit.trail import platform_units
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientMetadata
from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import ConsentRecord, InProcessCoreBanking
from obank.actor import Actor
from obank.correlation import CorrelationMiddleware
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from open_banking.app import SERVICE_NAME
from open_banking.pisp import service
from open_banking.pisp.schemas import OBWriteDomesticConsent4
from open_banking.signing import SIGNATURE_HEADER, MessageSigning
from tests.core_banking.helpers import new_account, new_customer
from tests.open_banking.conftest import BASE_URL, TppHeaders
from tests.open_banking.message_signing import tpp_signature

PISP = "/open-banking/v4.0/pisp"
CONSENTS = PISP + "/domestic-payment-consents"
PAYMENTS = PISP + "/domestic-payments"
TPP = "tpp-1"
OTHER_TPP = "tpp-2"
JSON = {"content-type": "application/json"}
# R/W API Profile, "Message Signing": these POSTs must be signed. `client` replaces this value by the TPP's
# detached JWS of the exact body it sends, made with the key the TPP registered (the principal's client).
SIGN_THE_BODY = "sign-the-body-as-the-tpp"
SIGNED = {SIGNATURE_HEADER: SIGN_THE_BODY}
# A payee at another bank whose sort code and account number pass VocaLink's modulus check.
PAYEE_ACCOUNT = "08999966374958"


@cache
def tpp_key(client_id: str) -> RSAKey:
    """The PS256 key a test TPP registered (one per client id and test session)."""
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


@pytest.fixture(autouse=True)
async def registered_tpps(platform: Platform) -> None:
    """The test TPPs, registered with the bank as the demo TPP is: their public keys are their client's JWKS."""
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        for client_id in (TPP, OTHER_TPP):
            key = tpp_key(client_id)
            metadata = ClientMetadata(
                client_name=f"Test PISP {client_id}",
                redirect_uris=["https://tpp.example/callback"],
                grant_types=["authorization_code", "client_credentials"],
                scope="openid payments",
                token_endpoint_auth_method="private_key_jwt",
                token_endpoint_auth_signing_alg="PS256",
                jwks={"keys": [{**key.as_dict(private=False), "kid": key.kid, "use": "sig", "alg": "PS256"}]},
                authorization_details_types=["payment_initiation"],
            )
            await clients_service.register_client(uow, metadata, client_id=client_id)


def _principal_client(request: httpx.Request) -> str:
    """The client the internal assertion names (read, not verified: the app verifies it)."""
    segment = request.headers[PRINCIPAL_HEADER].split(".")[1]
    client_id: str = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["client_id"]
    return client_id


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """As the open_banking `client`, and a request carrying `SIGNED` leaves signed by its TPP's registered key."""
    signing: MessageSigning = app.state.message_signing

    async def sign(request: httpx.Request) -> None:
        if request.headers.get(SIGNATURE_HEADER) == SIGN_THE_BODY:
            client_id = _principal_client(request)
            request.headers[SIGNATURE_HEADER] = tpp_signature(
                request.content, tpp_key(client_id), iss=client_id, tan=signing.trust_anchor
            )

    transport = httpx.ASGITransport(app=CorrelationMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, event_hooks={"request": [sign]}) as http:
        yield http


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

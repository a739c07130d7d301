"""A PISP's whole journey over real mTLS: a domestic payment consent, PAR with `payment_initiation`, the
customer's sign-in with password and TOTP (SCA) and choice of the account, the token, the payment, its reads.

Nothing is minted or authorised behind the bank's back, and every Open Banking exchange is checked against the
official Payment Initiation OpenAPI file.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, NewIdentity
from auth_server.oauth.config import PAR_PATH
from core_banking.facade import InProcessCoreBanking
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, enrol
from tests.auth_server.oauth.conftest import REDIRECT_URI, Pki, RegisteredClient, assertion_form, pki, registrar
from tests.auth_server.oauth.conftest import shared_database_url as shared_database_url
from tests.auth_server.oauth.flow import Customer, decision_form, pkce, redirect_params, sign_in_to_consent
from tests.core_banking.helpers import new_account, new_customer
from tests.gateway.harness import RunningGateway, serving_gateway
from tests.open_banking.contract import Contract
from tests.open_banking.message_signing import tpp_signature, verify_bank_signature

__all__ = ["pki", "shared_database_url"]

PISP = "/open-banking/v4.0/pisp"


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    directory = tmp_path_factory.mktemp("gateway")
    async with serving_gateway(directory, shared_database_url, pki, rate_limits_enabled=False) as running:
        yield running


async def paying_customer(gateway: RunningGateway) -> Customer:
    """A customer with a funded current account and a savings account, and a login enrolled in TOTP."""
    platform = gateway.platform
    tag = uuid.uuid4().hex[:10]
    customer = await new_customer(platform.sessions, platform.keyring)
    current = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=50_000)
    savings = await new_account(platform.sessions, platform.keyring, customer.id)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        identity = await identities.create_identity(
            uow,
            NewIdentity(kind=IdentityKind.CUSTOMER, username=f"pia-{tag}", password=PASSWORD, customer_id=customer.id),
        )
    secret, _ = await enrol(platform, identity)
    return Customer(customer.id, f"pia-{tag}", secret, (current.id, savings.id))


def ob_headers(token: str, **extra: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {token}",
        "x-fapi-interaction-id": str(uuid.uuid4()),
        "x-fapi-customer-ip-address": "198.51.100.7",
        "x-customer-user-agent": "e2e-pisp/1.0",
        **extra,
    }


def signed(gateway: RunningGateway, tpp: RegisteredClient, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The exact bytes a TPP sends and its x-jws-signature of them, with the key it registered (R/W API Profile,
    "Message Signing"; the bank is the trust anchor, named by its domain)."""
    assert isinstance(tpp.key, RSAKey)
    content = json.dumps(body).encode()
    signature = tpp_signature(content, tpp.key, iss=tpp.client_id, tan=urlsplit(gateway.issuer).hostname or "")
    return content, {"content-type": "application/json", "x-jws-signature": signature}


async def app_token(gateway: RunningGateway, tpp: RegisteredClient, tls: httpx.AsyncClient) -> str:
    response = await tls.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "payments", **assertion_form(tpp, gateway.issuer)},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_a_pisp_pays_what_the_customer_authorised_once(gateway: RunningGateway, contract: Contract) -> None:
    platform = gateway.platform
    tpp = await registrar(platform)(scope="openid payments", alg="PS256")  # one key: client auth and messages
    customer = await paying_customer(gateway)
    current_id, savings_id = customer.account_ids
    payee_owner = await new_customer(platform.sessions, platform.keyring)
    payee = await new_account(platform.sessions, platform.keyring, payee_owner.id)
    tls = gateway.http("tpp")
    current = next(a for a in await _accounts(gateway, customer) if a["id"] == str(current_id))

    initiation: dict[str, Any] = {
        "InstructionIdentification": "E2E-" + uuid.uuid4().hex[:8],
        "EndToEndIdentification": "E2E-PAYMENT-1",
        "LocalInstrument": "UK.OBIE.FPS",
        "InstructedAmount": {"Amount": "42.10", "Currency": "GBP"},
        "DebtorAccount": {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": current["number"]},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": payee.sort_code + payee.account_number,
            "Name": "Bob's Bikes",
        },
        "RemittanceInformation": {"Structured": [{"CreditorReferenceInformation": {"Reference": "BIKE-2026"}}]},
    }
    risk = {"PaymentContextCode": "EcommerceMerchantInitiatedPayment"}
    token = await app_token(gateway, tpp, tls)
    content, signature = signed(gateway, tpp, {"Data": {"Initiation": initiation}, "Risk": risk})
    created = await tls.post(
        PISP + "/domestic-payment-consents",
        content=content,
        headers=ob_headers(token, **signature, **{"x-idempotency-key": "e2e-" + uuid.uuid4().hex[:16]}),
    )
    assert created.status_code == 201, created.text
    contract.check(created)
    # The bank's signature verifies with the keys its discovery document publishes at jwks_uri.
    metadata = (await gateway.http().get("/.well-known/openid-configuration")).json()
    published = (await gateway.http().get(urlsplit(metadata["jwks_uri"]).path)).json()
    bank_header = verify_bank_signature(created, published)
    assert bank_header["http://openbanking.org.uk/iss"] == gateway.issuer
    consent_id = created.json()["Data"]["ConsentId"]

    # PAR with the consent as RFC 9396 authorization_details, then the customer's sign-in (SCA) and choice.
    verifier, challenge = pkce()
    pushed = await tls.post(
        PAR_PATH,
        data={
            "response_type": "code",
            "client_id": tpp.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid payments",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "state-pisp-0123456789",
            "nonce": "nonce-pisp-0123456789",
            "authorization_details": json.dumps([{"type": "payment_initiation", "consent_id": consent_id}]),
            **assertion_form(tpp, gateway.issuer),
        },
    )
    assert pushed.status_code == 201, pushed.text
    browser = gateway.http()
    start = "/oauth2/authorize?" + str(
        httpx.QueryParams({"client_id": tpp.client_id, "request_uri": pushed.json()["request_uri"]})
    )
    page = await sign_in_to_consent(browser, start, customer)
    assert "Bob&#39;s Bikes" in page.text or "Bob's Bikes" in page.text
    assert "42.10 GBP" in page.text and "BIKE-2026" in page.text
    assert str(current_id) in page.text and str(savings_id) not in page.text  # only the DebtorAccount named
    approved = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "approve", [current_id]))
    code = redirect_params(approved)["code"]
    issued = await tls.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            **assertion_form(tpp, gateway.issuer),
        },
    )
    assert issued.status_code == 200, issued.text
    psu_token = issued.json()["access_token"]
    claims = _payload(psu_token)  # the gateway verifies it on every request; here, what it says
    assert claims["consent_id"] == consent_id and claims["acr"] == "urn:openbanking:psd2:sca"

    funds = await tls.get(
        f"{PISP}/domestic-payment-consents/{consent_id}/funds-confirmation", headers=ob_headers(psu_token)
    )
    assert funds.status_code == 200, funds.text
    contract.check(funds)
    assert funds.json()["Data"]["FundsAvailableResult"]["FundsAvailable"] is True

    payment_key = "e2e-" + uuid.uuid4().hex[:16]
    content, signature = signed(
        gateway, tpp, {"Data": {"ConsentId": consent_id, "Initiation": initiation}, "Risk": risk}
    )
    paid = await tls.post(
        PISP + "/domestic-payments",
        content=content,
        headers=ob_headers(psu_token, **signature, **{"x-idempotency-key": payment_key}),
    )
    assert paid.status_code == 201, paid.text
    contract.check(paid)
    verify_bank_signature(paid, published)
    payment_id = paid.json()["Data"]["DomesticPaymentId"]

    content, signature = signed(
        gateway, tpp, {"Data": {"ConsentId": consent_id, "Initiation": initiation}, "Risk": risk}
    )
    again = await tls.post(
        PISP + "/domestic-payments",
        content=content,
        headers=ob_headers(psu_token, **signature, **{"x-idempotency-key": "e2e-" + uuid.uuid4().hex[:16]}),
    )
    assert again.status_code == 400, again.text
    contract.check(again)
    verify_bank_signature(again, published)  # errors with a body are signed too

    read = await tls.get(f"{PISP}/domestic-payments/{payment_id}", headers=ob_headers(token))
    details = await tls.get(f"{PISP}/domestic-payments/{payment_id}/payment-details", headers=ob_headers(token))
    consent = await tls.get(f"{PISP}/domestic-payment-consents/{consent_id}", headers=ob_headers(token))
    for response in (read, details, consent):
        assert response.status_code == 200, response.text
        contract.check(response)
        verify_bank_signature(response, published)
    assert read.json()["Data"]["Initiation"] == initiation
    assert details.json()["Data"]["PaymentStatus"][0]["Status"] == "PDNG"
    assert consent.json()["Data"]["Status"] == "COND"

    discovery = (await gateway.http().get("/open-banking/discovery")).json()
    [pisp] = discovery["Data"]["PaymentInitiationAPI"]
    assert {"CreateDomesticPayments", "GetDomesticPaymentsDomesticPaymentIdPaymentDetails"} <= set(pisp["Links"])


def _payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return payload


async def _accounts(gateway: RunningGateway, customer: Customer) -> list[dict[str, str]]:
    bank = InProcessCoreBanking(gateway.platform.sessions, gateway.platform.keyring)
    accounts = await bank.list_customer_accounts(customer.customer_id)
    return [{"id": str(a.id), "number": a.sort_code + a.account_number} for a in accounts]

"""A TPP's whole journey over real mTLS: consent, PAR, the customer's sign-in and approval, token, every resource.

Nothing is minted or authorised behind the bank's back: the TPP authenticates with private_key_jwt over its
client certificate, the customer signs in with password and TOTP and picks accounts on the consent page,
and every AISP endpoint the bank lists in its discovery document is called and checked against the official
OpenAPI file. Then the TPP deletes the consent and its token stops working from the next request.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, NewIdentity
from auth_server.oauth.config import PAR_PATH
from core_banking.accounts.models import AccountType
from core_banking.transfers import service as transfers_service
from core_banking.transfers.schemas import TransferCreate
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, enrol
from tests.auth_server.oauth.conftest import REDIRECT_URI, Pki, RegisteredClient, assertion_form, pki, registrar
from tests.auth_server.oauth.conftest import shared_database_url as shared_database_url
from tests.auth_server.oauth.flow import Customer, decision_form, pkce, redirect_params, sign_in_to_consent
from tests.core_banking.helpers import new_account, new_customer
from tests.gateway.harness import RunningGateway, serving_gateway
from tests.open_banking.contract import Contract

__all__ = ["pki", "shared_database_url"]

AISP = "/open-banking/v4.0/aisp"
DETAIL = [
    "ReadAccountsDetail",
    "ReadBalances",
    "ReadTransactionsDetail",
    "ReadTransactionsCredits",
    "ReadTransactionsDebits",
    "ReadBeneficiariesDetail",
    "ReadStandingOrdersDetail",
    "ReadScheduledPaymentsDetail",
    "ReadDirectDebits",
    "ReadStatementsDetail",
    "ReadParty",
    "ReadPartyPSU",
    "ReadProducts",
]


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    # The journey reads some twenty resources within a second, a TPP's whole budget: limits are tested elsewhere.
    directory = tmp_path_factory.mktemp("gateway")
    async with serving_gateway(directory, shared_database_url, pki, rate_limits_enabled=False) as running:
        yield running


async def customer_with_history(gateway: RunningGateway) -> Customer:
    """A customer with a funded current account, a savings account, a transfer between them, and a login."""
    platform = gateway.platform
    tag = uuid.uuid4().hex[:10]
    customer = await new_customer(platform.sessions, platform.keyring)
    current = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=250_000)
    savings = await new_account(platform.sessions, platform.keyring, customer.id, account_type=AccountType.SAVINGS)
    units = platform_units(platform)
    async with units.begin(TEST_ACTOR) as uow:
        move = TransferCreate(
            source_account_id=current.id,
            destination_account_id=savings.id,
            amount_minor=12_345,
            currency="GBP",
            description="Rainy day",
        )
        await transfers_service.make_transfer(uow, customer.id, move, idempotency_key=f"e2e-{tag}")
        identity = await identities.create_identity(
            uow,
            NewIdentity(kind=IdentityKind.CUSTOMER, username=f"erin-{tag}", password=PASSWORD, customer_id=customer.id),
        )
    secret, _ = await enrol(platform, identity)
    return Customer(customer.id, f"erin-{tag}", secret, (current.id, savings.id))


async def client_credentials(gateway: RunningGateway, tpp: RegisteredClient, tls: httpx.AsyncClient) -> str:
    response = await tls.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "accounts", **assertion_form(tpp, gateway.issuer)},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def authorised_token(
    gateway: RunningGateway, tpp: RegisteredClient, tls: httpx.AsyncClient, customer: Customer, consent_id: str
) -> str:
    """PAR for the consent, the customer's sign-in and approval of both accounts, the code for a token."""
    verifier, challenge = pkce()
    pushed = await tls.post(
        PAR_PATH,
        data={
            "response_type": "code",
            "client_id": tpp.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid accounts",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "state-e2e-0123456789",
            "nonce": "nonce-e2e-0123456789",
            "authorization_details": json.dumps([{"type": "account_information", "consent_id": consent_id}]),
            **assertion_form(tpp, gateway.issuer),
        },
    )
    assert pushed.status_code == 201, pushed.text
    browser = gateway.http()
    start = "/oauth2/authorize?" + str(
        httpx.QueryParams({"client_id": tpp.client_id, "request_uri": pushed.json()["request_uri"]})
    )
    page = await sign_in_to_consent(browser, start, customer)
    approved = await browser.post(
        "/oauth2/authorize/decision", data=decision_form(page, "approve", list(customer.account_ids))
    )
    code = redirect_params(approved)["code"]
    token = await tls.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            **assertion_form(tpp, gateway.issuer),
        },
    )
    assert token.status_code == 200, token.text
    access_token: str = token.json()["access_token"]
    return access_token


def ob_headers(token: str) -> dict[str, str]:
    return {
        "authorization": f"Bearer {token}",
        "x-fapi-interaction-id": str(uuid.uuid4()),
        "x-fapi-customer-ip-address": "198.51.100.7",
        "x-customer-user-agent": "e2e-test/1.0",
    }


def resource_paths(discovered: dict[str, str], account_id: str, statement_id: str | None) -> dict[str, str]:
    """Every GET endpoint the bank lists for account data (consents aside), its parameters filled in."""
    paths = {}
    for operation, url in discovered.items():
        if not operation.startswith("Get") or "Consent" in operation:
            continue
        if "{StatementId}" in url and statement_id is None:
            continue
        path = url[url.index(AISP) :].replace("{AccountId}", account_id).replace("{StatementId}", statement_id or "")
        paths[operation] = path
    return paths


async def test_a_tpp_reads_what_the_customer_consented_to_and_nothing_after_deleting_it(
    gateway: RunningGateway, contract: Contract
) -> None:
    tpp = await registrar(gateway.platform)(scope="openid accounts")
    customer = await customer_with_history(gateway)
    tls = gateway.http("tpp")

    consent_body: dict[str, Any] = {
        "Data": {
            "Permissions": DETAIL,
            "ExpirationDateTime": (datetime.now(UTC) + timedelta(days=90)).isoformat(timespec="seconds"),
        },
        "Risk": {},
    }
    app_token = await client_credentials(gateway, tpp, tls)
    created = await tls.post(
        AISP + "/account-access-consents",
        json=consent_body,
        headers={**ob_headers(app_token), "x-idempotency-key": "e2e-" + uuid.uuid4().hex[:16]},
    )
    assert created.status_code == 201, created.text
    contract.check(created)
    consent_id = created.json()["Data"]["ConsentId"]
    assert created.json()["Data"]["Status"] == "AWAU"

    token = await authorised_token(gateway, tpp, tls, customer, consent_id)

    status = await tls.get(f"{AISP}/account-access-consents/{consent_id}", headers=ob_headers(app_token))
    assert status.status_code == 200 and status.json()["Data"]["Status"] == "AUTH", status.text

    accounts = await tls.get(AISP + "/accounts", headers=ob_headers(token))
    assert accounts.status_code == 200, accounts.text
    contract.check(accounts)
    listed = accounts.json()["Data"]["Account"]
    assert len(listed) == 2
    current_id = next(a["AccountId"] for a in listed if a["AccountId"] == str(customer.account_ids[0]))

    statements = await tls.get(f"{AISP}/accounts/{current_id}/statements", headers=ob_headers(token))
    assert statements.status_code == 200, statements.text
    statement_ids = [s["StatementId"] for s in statements.json()["Data"].get("Statement", [])]

    discovery = (await gateway.http().get("/open-banking/discovery")).json()
    [aisp] = discovery["Data"]["AccountAndTransactionAPI"]
    called = resource_paths(aisp["Links"], current_id, statement_ids[0] if statement_ids else None)
    assert {"GetAccounts", "GetBalances", "GetTransactions", "GetAccountsAccountIdTransactions"} <= set(called)
    for operation, path in called.items():
        accept = {"accept": "application/pdf"} if path.endswith("/file") else {}
        response = await tls.get(path, headers={**ob_headers(token), **accept})
        assert response.status_code == 200, (operation, response.text)
        if accept:  # the spec lists only JSON for the file; the issue asks for the statement as PDF
            assert response.headers["content-type"] == "application/pdf" and response.content.startswith(b"%PDF")
        else:
            contract.check(response)

    transactions = await tls.get(f"{AISP}/accounts/{current_id}/transactions", headers=ob_headers(token))
    lines = transactions.json()["Data"]["Transaction"]
    amounts = sorted(
        (line["CreditDebitIndicator"], line["Amount"]["Amount"], line["Amount"]["Currency"]) for line in lines
    )
    assert amounts == [("Credit", "2500.00", "GBP"), ("Debit", "123.45", "GBP")]  # the deposit, the transfer

    # Another customer's account does not exist for this consent; another TPP's token cannot use it.
    platform = gateway.platform
    someone_else = await new_customer(platform.sessions, platform.keyring)
    stranger = await new_account(platform.sessions, platform.keyring, someone_else.id)
    refused = await tls.get(f"{AISP}/accounts/{stranger.id}/balances", headers=ob_headers(token))
    assert refused.status_code in (403, 404), refused.text
    contract.check(refused)

    deleted = await tls.delete(f"{AISP}/account-access-consents/{consent_id}", headers=ob_headers(app_token))
    assert deleted.status_code == 204, deleted.text
    after = await tls.get(AISP + "/accounts", headers=ob_headers(token))
    assert after.status_code in (401, 403), after.text

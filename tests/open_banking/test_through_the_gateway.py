"""open_banking behind the whole bank in-process: real TLS, client certificates and tokens, the gateway's policy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from auth_server.oauth.tokens.models import SubjectKind
from core_banking.facade import AccountAccessDetails, InProcessCoreBanking, Permission
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.gateway.harness import RunningGateway, serving_gateway
from tests.open_banking.contract import Contract

__all__ = ["pki", "shared_database_url"]

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents/"


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(tmp_path_factory.mktemp("gateway"), shared_database_url, pki) as running:
        yield running


@pytest.fixture(scope="module")
async def tpp(gateway: RunningGateway) -> str:
    return await gateway.client_id(first_party=False, scope="openid accounts payments fundsconfirmations")


async def client_token(gateway: RunningGateway, client_id: str, *scopes: str) -> dict[str, str]:
    """A TPP's client credentials token, bound to its certificate, as the Authorization header."""
    token = await gateway.token(
        client_id, subject=client_id, kind=SubjectKind.CLIENT, scopes=scopes or ("accounts",), cert="tpp", acr=None
    )
    return {"authorization": f"Bearer {token}"}


async def test_a_tpp_reads_its_consent_through_the_gateway(
    gateway: RunningGateway, tpp: str, contract: Contract
) -> None:
    core_banking = InProcessCoreBanking(gateway.platform.sessions, gateway.platform.keyring)
    consent = await core_banking.create_account_access_consent(
        tpp, AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC, Permission.READ_BALANCES))
    )
    interaction_id = str(uuid.uuid4())
    headers = {**await client_token(gateway, tpp), "x-fapi-interaction-id": interaction_id}

    response = await gateway.http("tpp").get(CONSENTS + consent.id, headers=headers)

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["Links"]["Self"] == gateway.issuer + CONSENTS + consent.id
    assert response.json()["Data"]["Status"] == "AWAU"

    other = await gateway.client_id(first_party=False)
    refused = await gateway.http("tpp").get(CONSENTS + consent.id, headers=await client_token(gateway, other))
    assert refused.status_code == 403
    contract.check(refused)


async def test_without_a_valid_token_it_is_a_bare_401(gateway: RunningGateway, contract: Contract) -> None:
    for headers in ({}, {"authorization": "Bearer not-a-token"}):
        response = await gateway.http("tpp").get(CONSENTS + "aac-1", headers=headers)
        assert response.status_code == 401
        assert response.content == b""
        contract.check(response, request_conforms=bool(headers))


async def test_discovery_and_the_openapi_documents_need_no_token(gateway: RunningGateway) -> None:
    http = gateway.http()
    discovery = await http.get("/open-banking/discovery")
    assert discovery.status_code == 200, discovery.text
    [aisp] = discovery.json()["Data"]["AccountAndTransactionAPI"]
    assert aisp["Links"]["GetAccountAccessConsentsConsentId"].startswith(gateway.issuer + "/open-banking/v4.0/aisp/")
    for family in ("aisp", "pisp", "cbpii"):
        document = await http.get(f"/open-banking/v4.0/{family}/openapi.json")
        assert document.status_code == 200
        assert document.json()["servers"] == [{"url": f"/open-banking/v4.0/{family}"}]


async def test_every_path_under_open_banking_answers_in_ob_format(
    gateway: RunningGateway, tpp: str, contract: Contract
) -> None:
    http = gateway.http("tpp")
    accounts = await client_token(gateway, tpp, "accounts")
    payments = await client_token(gateway, tpp, "payments")
    cases = [
        ("/open-banking/v4.0/aisp/offers", accounts, 404),  # in the spec, not served
        ("/open-banking/v4.0/pisp/international-scheduled-payments/p-1", payments, 404),  # in the spec, not served
        ("/open-banking/v4.0/pisp/domestic-payments/p-1", payments, 400),  # no such payment (U011)
        ("/open-banking/v9.9/aisp/accounts", accounts, 404),  # no policy admits it: the gateway's own 404
        ("/open-banking/v4.0/cbpii/funds-confirmation-consents/c-1", accounts, 403),  # lacks fundsconfirmations
        (CONSENTS + "aac-%00", accounts, 400),  # a NUL in the path
    ]
    for path, headers, status in cases:
        response = await http.get(path, headers=headers)
        assert response.status_code == status, (path, response.text)
        contract.check(response)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["Errors"][0]["ErrorCode"] in ("U011", "AG01", "U002")


async def test_gateway_refusals_speak_ob_too(gateway: RunningGateway, tpp: str, contract: Contract) -> None:
    http = gateway.http("tpp")
    token = (await client_token(gateway, tpp))["authorization"].removeprefix("Bearer ")
    in_query = await http.get(CONSENTS + "aac-1", params={"access_token": token})
    assert in_query.status_code == 400
    contract.check(in_query, request_conforms=False)
    error = in_query.json()["Errors"][0]
    assert (error["ErrorCode"], error["Path"]) == ("U005", "access_token")
    assert token not in in_query.text

    too_large = b"x" * (gateway.platform.settings.max_request_body_bytes + 1)
    response = await http.post(
        "/open-banking/v4.0/aisp/account-access-consents",
        headers={"content-type": "application/json"},
        content=too_large,
    )
    assert response.status_code == 413
    contract.check(response, request_conforms=False)
    assert response.json()["Code"] == "413 PayloadTooLarge"

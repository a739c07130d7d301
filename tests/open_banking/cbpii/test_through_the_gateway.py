"""Confirmation of funds behind the whole bank in-process: real TLS, certificate-bound tokens, the gateway's policy."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from auth_server.oauth.tokens.models import SubjectKind
from core_banking.facade import InProcessCoreBanking
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.core_banking.helpers import new_account, new_customer
from tests.gateway.harness import RunningGateway, serving_gateway
from tests.open_banking.cbpii.conftest import CONSENTS, FUNDS_CONFIRMATIONS
from tests.open_banking.contract import Contract

__all__ = ["pki", "shared_database_url"]


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(tmp_path_factory.mktemp("gateway"), shared_database_url, pki) as running:
        yield running


async def test_a_cbpii_asks_for_a_consent_confirms_funds_and_ends_it(
    gateway: RunningGateway, contract: Contract
) -> None:
    platform = gateway.platform
    tpp = await gateway.client_id(first_party=False, scope="openid fundsconfirmations")
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=2_500)
    http = gateway.http("tpp")
    app_token = await gateway.token(
        tpp, subject=tpp, kind=SubjectKind.CLIENT, scopes=("fundsconfirmations",), cert="tpp", acr=None
    )
    as_tpp = {"authorization": f"Bearer {app_token}", "x-idempotency-key": uuid.uuid4().hex}
    body = {"Data": {"DebtorAccount": {"SchemeName": "UK.OBIE.IBAN", "Identification": account.iban}}}

    created = await http.post(CONSENTS, json=body, headers=as_tpp)
    assert created.status_code == 201, created.text
    contract.check(created)
    consent_id = created.json()["Data"]["ConsentId"]
    assert created.json()["Links"]["Self"] == f"{gateway.issuer}{CONSENTS}/{consent_id}"

    # The customer approves on the consent page (another test's journey); here core banking is told directly.
    core_banking = InProcessCoreBanking(platform.sessions, platform.keyring)
    await core_banking.authorise_consent(consent_id, customer_id=customer.id, account_ids=[account.id])
    psu_token = await gateway.token(
        tpp,
        subject=str(customer.id),
        scopes=("openid", "fundsconfirmations"),
        cert="tpp",
        consent_id=consent_id,
    )
    as_psu = {"authorization": f"Bearer {psu_token}", "x-fapi-customer-ip-address": "198.51.100.7"}
    question = {
        "Data": {
            "ConsentId": consent_id,
            "Reference": "Order 1",
            "InstructedAmount": {"Amount": "25", "Currency": "GBP"},
        }
    }

    confirmed = await http.post(FUNDS_CONFIRMATIONS, json=question, headers=as_psu)
    assert confirmed.status_code == 201, confirmed.text
    contract.check(confirmed)
    assert confirmed.json()["Data"]["FundsAvailable"] is True
    assert confirmed.json()["Data"]["InstructedAmount"] == {"Amount": "25.00", "Currency": "GBP"}

    wrong_kind = await http.post(FUNDS_CONFIRMATIONS, json=question, headers=as_tpp)
    assert wrong_kind.status_code == 403, wrong_kind.text
    contract.check(wrong_kind)

    status = await http.get(f"{CONSENTS}/{consent_id}", headers={"authorization": as_tpp["authorization"]})
    assert status.status_code == 200 and status.json()["Data"]["Status"] == "AUTH", status.text
    deleted = await http.delete(f"{CONSENTS}/{consent_id}", headers={"authorization": as_tpp["authorization"]})
    assert deleted.status_code == 204, deleted.text
    contract.check(deleted)

    # The deletion denies the consent's tokens from the next request on: a bare 401 from the gateway.
    refused = await http.post(FUNDS_CONFIRMATIONS, json=question, headers=as_psu)
    assert refused.status_code == 401, refused.text
    assert refused.content == b""
    contract.check(refused)


async def test_another_tpps_consent_and_a_megabyte_body_are_refused_in_ob_format(
    gateway: RunningGateway, contract: Contract
) -> None:
    platform = gateway.platform
    owner = await gateway.client_id(first_party=False, scope="openid fundsconfirmations")
    intruder = await gateway.client_id(first_party=False, scope="openid fundsconfirmations")
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    http = gateway.http("tpp")

    async def bearer(client_id: str) -> dict[str, str]:
        token = await gateway.token(
            client_id, subject=client_id, kind=SubjectKind.CLIENT, scopes=("fundsconfirmations",), cert="tpp", acr=None
        )
        return {"authorization": f"Bearer {token}"}

    body = {"Data": {"DebtorAccount": {"SchemeName": "UK.OBIE.IBAN", "Identification": account.iban}}}
    created = await http.post(CONSENTS, json=body, headers=await bearer(owner))
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]

    for method in ("GET", "DELETE"):
        response = await http.request(method, f"{CONSENTS}/{consent_id}", headers=await bearer(intruder))
        assert response.status_code == 403, response.text
        contract.check(response)
        assert response.json()["Errors"][0]["ErrorCode"] == "AG01"

    too_large = b'{"Data": "' + b"x" * platform.settings.max_request_body_bytes + b'"}'
    response = await http.post(
        CONSENTS, content=too_large, headers={**await bearer(owner), "content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    contract.check(response, request_conforms=False)
    assert response.json()["Code"] == "413 PayloadTooLarge"

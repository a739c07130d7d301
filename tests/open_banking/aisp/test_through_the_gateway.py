"""The Account and Transaction API behind the whole bank: real TLS, certificate-bound tokens, the gateway's deny-list.

The consent is created over HTTP with the TPP's client credentials token and authorised in core banking as
the consent page would; the PSU's token is issued by the authorization server bound to it (the browser
journey that issues it for real is `tests/open_banking/test_end_to_end.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from auth_server.oauth.tokens.models import SubjectKind
from core_banking.facade import InProcessCoreBanking
from obank.database import unit_of_work
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.core_banking.helpers import new_account, new_customer
from tests.gateway.harness import RunningGateway, serving_gateway
from tests.open_banking.aisp.conftest import ACCOUNT_DETAIL_ONLY, TRANSACTION_DETAIL_ONLY
from tests.open_banking.contract import Contract

__all__ = ["pki", "shared_database_url"]

AISP = "/open-banking/v4.0/aisp"
CONSENTS = AISP + "/account-access-consents"
BASIC = ["ReadAccountsBasic", "ReadBalances", "ReadTransactionsBasic", "ReadTransactionsCredits"]
DETAIL = ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits"]


@dataclass
class Psu:
    customer_id: uuid.UUID
    account_id: uuid.UUID


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(tmp_path_factory.mktemp("gateway"), shared_database_url, pki) as running:
        yield running


@pytest.fixture(scope="module")
async def tpp(gateway: RunningGateway) -> str:
    return await gateway.client_id(first_party=False, scope="openid accounts")


@pytest.fixture
async def psu(gateway: RunningGateway) -> Psu:
    platform = gateway.platform
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=12_345)
    return Psu(customer.id, account.id)


def core_banking(gateway: RunningGateway) -> InProcessCoreBanking:
    platform = gateway.platform
    return InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)


async def client_token(gateway: RunningGateway, client_id: str) -> dict[str, str]:
    token = await gateway.token(
        client_id, subject=client_id, kind=SubjectKind.CLIENT, scopes=("accounts",), cert="tpp", acr=None
    )
    return {"authorization": f"Bearer {token}"}


async def psu_token(gateway: RunningGateway, client_id: str, psu: Psu, consent_id: str) -> dict[str, str]:
    """The access token the authorization server issues once the PSU authorised the consent."""
    token = await gateway.token(
        client_id, subject=str(psu.customer_id), scopes=("openid", "accounts"), cert="tpp", consent_id=consent_id
    )
    return {"authorization": f"Bearer {token}"}


async def authorised_consent(
    gateway: RunningGateway, contract: Contract, tpp: str, psu: Psu, permissions: list[str]
) -> str:
    created = await gateway.http("tpp").post(
        CONSENTS,
        json={"Data": {"Permissions": permissions}, "Risk": {}},
        headers={
            **await client_token(gateway, tpp),
            "x-idempotency-key": uuid.uuid4().hex,
            "x-fapi-customer-ip-address": "198.51.100.7",
        },
    )
    assert created.status_code == 201, created.text
    contract.check(created)
    consent_id: str = created.json()["Data"]["ConsentId"]
    await core_banking(gateway).authorise_consent(consent_id, customer_id=psu.customer_id, account_ids=[psu.account_id])
    return consent_id


async def test_a_tpp_reads_with_the_psus_token_until_it_deletes_the_consent(
    gateway: RunningGateway, tpp: str, psu: Psu, contract: Contract
) -> None:
    http = gateway.http("tpp")
    consent_id = await authorised_consent(gateway, contract, tpp, psu, DETAIL)
    token = await psu_token(gateway, tpp, psu, consent_id)

    accounts = await http.get(AISP + "/accounts", headers=token)
    assert accounts.status_code == 200, accounts.text
    contract.check(accounts)
    [account] = accounts.json()["Data"]["Account"]
    assert account["AccountId"] == str(psu.account_id)
    assert accounts.json()["Links"]["Self"] == gateway.issuer + AISP + "/accounts"
    balances = await http.get(f"{AISP}/accounts/{psu.account_id}/balances", headers=token)
    contract.check(balances)
    assert balances.json()["Data"]["Balance"][0]["Amount"] == {"Amount": "123.45", "Currency": "GBP"}

    # The TPP's own token reads no PSU's data.
    refused = await http.get(AISP + "/accounts", headers=await client_token(gateway, tpp))
    assert refused.status_code == 403
    contract.check(refused)

    deleted = await http.delete(f"{CONSENTS}/{consent_id}", headers=await client_token(gateway, tpp))
    assert deleted.status_code == 204, deleted.text
    contract.check(deleted)

    after = await http.get(AISP + "/accounts", headers=token)
    assert after.status_code == 401  # the gateway's deny-list: the consent's tokens end with it
    assert after.content == b""
    contract.check(after)
    gone = await http.get(f"{CONSENTS}/{consent_id}", headers=await client_token(gateway, tpp))
    assert gone.status_code == 400
    contract.check(gone)


async def test_a_basic_consent_never_shows_detail_fields_through_the_gateway(
    gateway: RunningGateway, tpp: str, psu: Psu, contract: Contract
) -> None:
    http = gateway.http("tpp")
    consent_id = await authorised_consent(gateway, contract, tpp, psu, BASIC)
    token = await psu_token(gateway, tpp, psu, consent_id)

    accounts = await http.get(AISP + "/accounts", headers=token)
    transactions = await http.get(AISP + "/transactions", headers=token)

    for response in (accounts, transactions):
        assert response.status_code == 200, response.text
        contract.check(response)
    [account] = accounts.json()["Data"]["Account"]
    assert not ACCOUNT_DETAIL_ONLY & set(account)
    [line] = transactions.json()["Data"]["Transaction"]
    assert not TRANSACTION_DETAIL_ONLY & set(line)


async def test_another_tpps_token_and_another_customers_account_are_refused(
    gateway: RunningGateway, tpp: str, psu: Psu, contract: Contract
) -> None:
    http = gateway.http("tpp")
    consent_id = await authorised_consent(gateway, contract, tpp, psu, DETAIL)
    other_tpp = await gateway.client_id(first_party=False, scope="openid accounts")
    platform = gateway.platform
    someone_else = await new_customer(platform.sessions, platform.keyring)
    stranger = await new_account(platform.sessions, platform.keyring, someone_else.id)

    borrowed = await http.get(AISP + "/accounts", headers=await psu_token(gateway, other_tpp, psu, consent_id))
    assert borrowed.status_code == 403, borrowed.text
    contract.check(borrowed)

    token = await psu_token(gateway, tpp, psu, consent_id)
    outside = await http.get(f"{AISP}/accounts/{stranger.id}", headers=token)
    assert outside.status_code == 403
    contract.check(outside)
    assert outside.json()["Errors"][0]["Path"] == "AccountId"

    deleted_elsewhere = await http.delete(f"{CONSENTS}/{consent_id}", headers=await client_token(gateway, other_tpp))
    assert deleted_elsewhere.status_code == 403  # R/W API Profile, "403 (Forbidden)"
    contract.check(deleted_elsewhere)
    assert (await http.get(AISP + "/accounts", headers=token)).status_code == 200


async def test_an_expired_consent_is_401_with_tkxp(
    gateway: RunningGateway, tpp: str, psu: Psu, contract: Contract
) -> None:
    consent_id = await authorised_consent(gateway, contract, tpp, psu, DETAIL)
    token = await psu_token(gateway, tpp, psu, consent_id)
    async with unit_of_work(gateway.platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.consents SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": consent_id},
        )

    response = await gateway.http("tpp").get(AISP + "/balances", headers=token)

    assert response.status_code == 401
    contract.check(response)
    assert response.json()["Errors"][0]["ErrorCode"] == "TKXP"

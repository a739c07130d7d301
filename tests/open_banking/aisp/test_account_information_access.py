"""Every account information resource: served to the PSU's token through an authorised consent, and to nothing else.

Each resource is asked with a consent granting everything, then with the wrong token, another TPP's consent,
another PSU, an account the consent does not cover (another customer's included), a consent lacking the
resource's permission, and a consent that has ended (expired, revoked), each refusal in OB format.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from core_banking.facade import AccountAccessDetails, Permission
from tests.open_banking.aisp.conftest import AISP, CLIENT, Bank, P, ReaderHeaders, error_of, only_error
from tests.open_banking.contract import Contract

STATEMENT = "2026-10"


@dataclass(frozen=True)
class Resource:
    """An account information resource: its path (`{AccountId}` to fill) and one permission it needs."""

    path: str
    needs: Permission
    other_permission: Permission = P.READ_BALANCES  # granted alone, it does not open this resource

    @property
    def per_account(self) -> bool:
        return "{AccountId}" in self.path

    @property
    def is_file(self) -> bool:
        return self.path.endswith("/file")

    def url(self, account_id: uuid.UUID | str) -> str:
        return AISP + self.path.replace("{AccountId}", str(account_id)).replace("{StatementId}", STATEMENT)


RESOURCES = [
    Resource("/accounts", P.READ_ACCOUNTS_BASIC),
    Resource("/accounts/{AccountId}", P.READ_ACCOUNTS_DETAIL),
    Resource("/balances", P.READ_BALANCES, P.READ_ACCOUNTS_BASIC),
    Resource("/accounts/{AccountId}/balances", P.READ_BALANCES, P.READ_ACCOUNTS_DETAIL),
    Resource("/transactions", P.READ_TRANSACTIONS_BASIC),
    Resource("/accounts/{AccountId}/transactions", P.READ_TRANSACTIONS_DETAIL),
    Resource("/statements", P.READ_STATEMENTS_BASIC),
    Resource("/accounts/{AccountId}/statements", P.READ_STATEMENTS_DETAIL),
    Resource("/accounts/{AccountId}/statements/{StatementId}", P.READ_STATEMENTS_BASIC),
    Resource("/accounts/{AccountId}/statements/{StatementId}/file", P.READ_STATEMENTS_DETAIL, P.READ_STATEMENTS_BASIC),
    Resource("/party", P.READ_PARTY_PSU, P.READ_PARTY),
    Resource("/accounts/{AccountId}/party", P.READ_PARTY, P.READ_PARTY_PSU),
    Resource("/accounts/{AccountId}/parties", P.READ_PARTY, P.READ_PARTY_PSU),
    Resource("/products", P.READ_PRODUCTS),
    Resource("/accounts/{AccountId}/product", P.READ_PRODUCTS),
    Resource("/beneficiaries", P.READ_BENEFICIARIES_BASIC),
    Resource("/accounts/{AccountId}/beneficiaries", P.READ_BENEFICIARIES_DETAIL),
    Resource("/standing-orders", P.READ_STANDING_ORDERS_BASIC),
    Resource("/accounts/{AccountId}/standing-orders", P.READ_STANDING_ORDERS_DETAIL),
    Resource("/scheduled-payments", P.READ_SCHEDULED_PAYMENTS_BASIC),
    Resource("/accounts/{AccountId}/scheduled-payments", P.READ_SCHEDULED_PAYMENTS_DETAIL),
    Resource("/direct-debits", P.READ_DIRECT_DEBITS),
    Resource("/accounts/{AccountId}/direct-debits", P.READ_DIRECT_DEBITS),
]
by_path = pytest.mark.parametrize("resource", RESOURCES, ids=[r.path for r in RESOURCES])


def with_credits_and_debits(*permissions: Permission) -> tuple[Permission, ...]:
    """Core banking takes ReadTransactionsBasic/Detail only with Credits and/or Debits, and the reverse."""
    if {P.READ_TRANSACTIONS_BASIC, P.READ_TRANSACTIONS_DETAIL} & set(permissions):
        return (*permissions, P.READ_TRANSACTIONS_CREDITS, P.READ_TRANSACTIONS_DEBITS)
    return permissions


def check(contract: Contract, response: httpx.Response, resource: Resource) -> None:
    """The exchange against the spec; a statement file is a PDF, which the spec's JSON `File` cannot describe."""
    if resource.is_file and response.status_code == 200:
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        # The request, the status and the headers as the spec declares them, around its empty `File` object.
        stand_in = httpx.Response(200, json={}, headers={"x-fapi-interaction-id": "x"}, request=response.request)
        contract.check(stand_in)
        return
    contract.check(response)


def headers_for(resource: Resource, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "accept": "application/pdf"} if resource.is_file else headers


@by_path
async def test_a_consent_granting_the_resource_reads_it(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, resource: Resource
) -> None:
    consent = await bank.consent(*with_credits_and_debits(resource.needs))
    interaction_id = str(uuid.uuid4())

    response = await client.get(
        resource.url(bank.current.id),
        headers=headers_for(resource, reader_headers(consent.id, **{"x-fapi-interaction-id": interaction_id})),
    )

    assert response.status_code == 200, response.text
    check(contract, response, resource)
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    if not resource.is_file:
        assert response.json()["Links"]["Self"] == "https://127.0.0.1:8443" + resource.url(bank.current.id)


def refused(
    contract: Contract,
    response: httpx.Response,
    resource: Resource,
    status: int,
    error: tuple[str, str | None],
    why: str,
) -> None:
    assert response.status_code == status, (why, response.text)
    check(contract, response, resource)
    assert error_of(response) == error, why


@by_path
async def test_every_other_caller_consent_and_account_is_refused_in_ob_format(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, resource: Resource
) -> None:
    consent = await bank.consent()
    others_consent = await bank.consent(client_id="tpp-other")
    url = resource.url(bank.current.id)

    async def get(headers: dict[str, str], at: str = url) -> httpx.Response:
        return await client.get(at, headers=headers_for(resource, headers))

    # R/W API Profile, "403 (Forbidden)": a token that may not read this, or another TPP's resource.
    tokens = {
        "client credentials token": reader_headers(None, kind="client"),
        "client credentials token naming the consent": reader_headers(consent.id, kind="client"),
        "customer token bound to no consent": reader_headers(None),
        "token without the accounts scope": reader_headers(consent.id, scopes=("openid", "payments")),
        "another TPP's consent": reader_headers(others_consent.id),
        "another PSU's token": reader_headers(consent.id, customer_id=bank.bob.id),
        "an unknown consent": reader_headers(f"aac-{uuid.uuid4()}"),
    }
    for why, headers in tokens.items():
        response = await get(headers)
        refused(contract, response, resource, 403, ("AG01", None), why)
        assert "Ada" not in response.text and str(bank.current.id) not in response.text

    # "403 (Forbidden)": the consent lacks the resource's permission.
    narrow = await bank.consent(*with_credits_and_debits(resource.other_permission))
    response = await get(reader_headers(narrow.id))
    refused(contract, response, resource, 403, ("AG01", None), "permission not granted")
    assert only_error(response)["Message"].startswith("the account access consent does not grant this resource")

    # "401 (Unauthorized)": an expired consent is 401 with TKXP; a revoked one grants nothing either.
    expired = await bank.consent()
    await bank.expire(expired.id)
    refused(contract, await get(reader_headers(expired.id)), resource, 401, ("TKXP", None), "expired")
    revoked = await bank.consent()
    await bank.core.revoke_consent(revoked.id, customer_id=bank.ada.id)
    response = await get(reader_headers(revoked.id))
    refused(contract, response, resource, 400, ("U009", None), "revoked")
    assert only_error(response)["Message"].startswith("UK.OBIE.Resource.InvalidConsentStatus - ")

    if not resource.per_account:
        return
    # "403 (Forbidden)": an AccountId the PSU did not select, whoever holds it, or none.
    outside = {
        "another customer's account": str(bank.bobs.id),
        "the PSU's account left out": str(bank.third.id),
        "no account at all": str(uuid.uuid4()),
        "not an account id": "not-an-account",
        "an id spelt otherwise": str(bank.current.id).upper(),
    }
    for why, account_id in outside.items():
        response = await get(reader_headers(consent.id), resource.url(account_id))
        refused(contract, response, resource, 403, ("AG01", "AccountId"), why)
    response = await get(reader_headers(consent.id), resource.url("a" * 41))
    refused(contract, response, resource, 400, ("U002", "AccountId"), "longer than the spec's 40 characters")


async def test_a_consent_awaiting_authorisation_reads_nothing(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    awaiting = await bank.core.create_account_access_consent(CLIENT, AccountAccessDetails((P.READ_ACCOUNTS_BASIC,)))

    response = await client.get(AISP + "/accounts", headers=reader_headers(awaiting.id))

    assert response.status_code == 400
    contract.check(response)
    assert error_of(response) == ("U009", None)

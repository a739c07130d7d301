"""GET /account-access-consents/{ConsentId}: a TPP reads its own consent, in the spec's shape and no other's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from core_banking.facade import (
    AccountAccessDetails,
    CreditorAccount,
    CreditorScheme,
    DomesticPaymentDetails,
    InProcessCoreBanking,
    Permission,
)
from obank.money import Money
from obank.principal import PRINCIPAL_HEADER, Principal
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

CONSENTS = "/open-banking/v4.0/aisp/account-access-consents/"
PERMISSIONS = (
    Permission.READ_ACCOUNTS_DETAIL,
    Permission.READ_BALANCES,
    Permission.READ_TRANSACTIONS_DETAIL,
    Permission.READ_TRANSACTIONS_CREDITS,
)


def only_error(response: httpx.Response) -> dict[str, str]:
    errors = response.json()["Errors"]
    assert len(errors) == 1, errors
    error: dict[str, str] = errors[0]
    return error


async def test_a_tpp_reads_its_consent_as_the_spec_writes_it(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    expires = datetime.now(UTC) + timedelta(days=90)
    window = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    details = AccountAccessDetails(PERMISSIONS, expires, *window)
    consent = await core_banking.create_account_access_consent("tpp-1", details)
    interaction_id = str(uuid.uuid4())

    response = await client.get(
        CONSENTS + consent.id, headers=tpp_headers("tpp-1", **{"x-fapi-interaction-id": interaction_id})
    )

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    data = body["Data"]
    assert data["ConsentId"] == consent.id
    assert data["Status"] == "AWAU"
    assert data["Permissions"] == [p.value for p in PERMISSIONS]
    assert datetime.fromisoformat(data["ExpirationDateTime"]) == expires
    assert datetime.fromisoformat(data["TransactionFromDateTime"]) == window[0]
    assert datetime.fromisoformat(data["TransactionToDateTime"]) == window[1]
    assert datetime.fromisoformat(data["CreationDateTime"]) == consent.created_at
    assert datetime.fromisoformat(data["StatusUpdateDateTime"]) == consent.status_updated_at
    assert body["Risk"] == {}
    assert body["Meta"] == {}
    # Links are absolute, at the bank's public address (R/W API Profile, "Links").
    assert body["Links"] == {"Self": f"https://127.0.0.1:8443{CONSENTS}{consent.id}"}


async def test_optional_fields_are_left_out_and_a_rejected_consent_reads_rjct(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await core_banking.create_account_access_consent(
        "tpp-1", AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,))
    )
    await core_banking.reject_consent(consent.id)

    response = await client.get(CONSENTS + consent.id, headers=tpp_headers("tpp-1"))

    assert response.status_code == 200, response.text
    contract.check(response)
    data = response.json()["Data"]
    assert data["Status"] == "RJCT"
    for absent in ("ExpirationDateTime", "TransactionFromDateTime", "TransactionToDateTime", "StatusReason"):
        assert absent not in data  # R/W API Profile, "Optional Fields": excluded, never null


async def test_an_unknown_consent_id_is_400_resource_not_found(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    response = await client.get(CONSENTS + "aac-" + str(uuid.uuid4()), headers=tpp_headers())

    assert response.status_code == 400  # R/W API Profile, "400 (Bad Request) v/s 404 (Not Found)"
    contract.check(response)
    error = only_error(response)
    assert error["ErrorCode"] == "U011"
    assert error["Message"].startswith("UK.OBIE.Resource.NotFound - ")
    assert error["Path"] == "ConsentId"
    assert response.json()["Id"] == response.headers["x-fapi-interaction-id"]


async def test_a_payment_consent_is_no_account_access_consent(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    creditor = CreditorAccount("Acme", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "08080021325698")
    payment = await core_banking.create_domestic_payment_consent(
        "tpp-1", DomesticPaymentDetails(Money(1000, "GBP"), creditor)
    )

    response = await client.get(CONSENTS + payment.id, headers=tpp_headers("tpp-1"))

    assert response.status_code == 400
    contract.check(response)
    assert only_error(response)["ErrorCode"] == "U011"


async def test_the_consent_of_another_tpp_is_forbidden(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await core_banking.create_account_access_consent(
        "tpp-1", AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,))
    )

    response = await client.get(CONSENTS + consent.id, headers=tpp_headers("tpp-2"))

    assert response.status_code == 403  # R/W API Profile, "403 (Forbidden)": a resource of another TPP
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("AG01", "ConsentId")
    assert "Permissions" not in response.text


async def test_only_the_tpps_client_credentials_token_with_the_accounts_scope_reads_consents(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await core_banking.create_account_access_consent(
        "tpp-1", AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,))
    )
    customer_token = tpp_headers("tpp-1", kind="customer", subject=str(uuid.uuid4()))
    payments_only = tpp_headers("tpp-1", scopes=("payments",))

    for headers in (customer_token, payments_only):
        response = await client.get(CONSENTS + consent.id, headers=headers)
        assert response.status_code == 403, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == "AG01"


async def test_without_a_principal_addressed_to_open_banking_it_is_a_bare_401(
    app: FastAPI, client: httpx.AsyncClient, contract: Contract
) -> None:
    principal = Principal(subject="tpp-1", kind="client", interaction_id=str(uuid.uuid4()), client_id="tpp-1")
    to_core_banking = app.state.internal_assertions.sign(principal, "core_banking")
    path = CONSENTS + "aac-" + str(uuid.uuid4())
    for headers in ({}, {PRINCIPAL_HEADER: to_core_banking}, {PRINCIPAL_HEADER: "not.a.jwt"}):
        response = await client.get(path, headers={"authorization": "Bearer x", **headers})
        assert response.status_code == 401
        assert response.content == b""  # R/W API Profile, "401 (Unauthorized)": no error response
        assert "x-fapi-interaction-id" in response.headers
        contract.check(response)


async def test_a_consent_id_too_long_or_with_a_control_character_is_refused_naming_it(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    too_long = await client.get(CONSENTS + "a" * 129, headers=tpp_headers())
    assert too_long.status_code == 400
    contract.check(too_long)
    error = only_error(too_long)
    assert (error["ErrorCode"], error["Path"]) == ("U002", "ConsentId")

    nul = await client.get(CONSENTS + "aac-%00x", headers=tpp_headers())
    assert nul.status_code == 400
    contract.check(nul)
    error = only_error(nul)
    assert error["ErrorCode"] == "U002"
    assert "control characters" in error["Message"]

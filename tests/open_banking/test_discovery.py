"""Discovery: the bank lists the OB versions and endpoints it serves, and each family its OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import httpx
from openapi_spec_validator import validate

from open_banking.families import FAMILIES
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import SPEC_FILES, spec_document

PUBLIC = "https://127.0.0.1:8443"
# Offers: core banking refuses ReadOffers. A statement's transactions: core banking's facade reads none.
AISP_NOT_SERVED = {"GetOffers", "GetAccountsAccountIdOffers", "GetAccountsAccountIdStatementsStatementIdTransactions"}
# Payment initiation: domestic payments, scheduled payments and standing orders.
PISP_SERVED = {
    "CreateDomesticPaymentConsents",
    "GetDomesticPaymentConsentsConsentId",
    "GetDomesticPaymentConsentsConsentIdFundsConfirmation",
    "CreateDomesticPayments",
    "GetDomesticPaymentsDomesticPaymentId",
    "GetDomesticPaymentsDomesticPaymentIdPaymentDetails",
    "CreateDomesticScheduledPaymentConsents",
    "GetDomesticScheduledPaymentConsentsConsentId",
    "CreateDomesticScheduledPayments",
    "GetDomesticScheduledPaymentsDomesticScheduledPaymentId",
    "GetDomesticScheduledPaymentsDomesticScheduledPaymentIdPaymentDetails",
    "CreateDomesticStandingOrderConsents",
    "GetDomesticStandingOrderConsentsConsentId",
    "CreateDomesticStandingOrders",
    "GetDomesticStandingOrdersDomesticStandingOrderId",
    "GetDomesticStandingOrdersDomesticStandingOrderIdPaymentDetails",
}


def official_operations(prefix: str) -> dict[str, tuple[str, str]]:
    """operationId → (method, path) of the official spec of the family at `prefix`."""
    document = spec_document(SPEC_FILES[prefix])
    return {
        operation["operationId"]: (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


async def answered_operations(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, prefix: str
) -> dict[str, tuple[str, str]]:
    """The official operations the app answers: asked one by one, those that are neither 404 nor 405."""
    headers = tpp_headers(scopes=("accounts", "fundsconfirmations"), **{"content-type": "application/json"})
    answered = {}
    for operation_id, (method, path) in official_operations(prefix).items():
        url = prefix + re.sub(r"\{[A-Za-z]+\}", "id-1", path)
        response = await client.request(method, url, headers=headers, content=b"{}" if method == "POST" else None)
        if response.status_code not in (404, 405):
            answered[operation_id] = (method, path)
    return answered


async def test_the_discovery_document_lists_every_endpoint_served_and_no_other(
    client: httpx.AsyncClient, tpp_headers: TppHeaders
) -> None:
    response = await client.get("/open-banking/discovery")

    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert document["Links"] == {"Self": PUBLIC + "/open-banking/discovery"}
    assert document["Meta"] == {}
    listed = {}
    for family in FAMILIES:
        answered = await answered_operations(client, tpp_headers, family.prefix)
        entries = document["Data"].get(family.discovery_key)
        if not answered:
            assert entries is None, f"{family.name} serves nothing and must not be listed"
            continue
        [entry] = entries
        assert entry["Version"] == "v4.0"
        assert entry["OpenAPI"] == f"{PUBLIC}{family.prefix}/openapi.json"
        assert set(entry["Links"]) == set(answered)
        for operation_id, url in entry["Links"].items():
            assert url == PUBLIC + family.prefix + answered[operation_id][1]  # the spec's own path and id
            listed[operation_id] = url
    aisp = official_operations("/open-banking/v4.0/aisp")
    assert {operation for operation in listed if operation in aisp} == set(aisp) - AISP_NOT_SERVED
    pisp = official_operations("/open-banking/v4.0/pisp")
    assert {operation for operation in listed if operation in pisp} == PISP_SERVED


async def test_each_family_serves_an_openapi_document_of_what_it_serves(client: httpx.AsyncClient) -> None:
    for family in FAMILIES:
        response = await client.get(family.prefix + "/openapi.json")
        assert response.status_code == 200, response.text
        document = response.json()
        validate(document)  # a valid OpenAPI document
        assert document["servers"] == [{"url": family.prefix}]
        official = official_operations(family.prefix)
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                assert official[operation["operationId"]] == (method.upper(), path)
                for status in operation["responses"]:
                    assert status != "422", "OB answers 400, never FastAPI's 422"
    aisp = (await client.get("/open-banking/v4.0/aisp/openapi.json")).json()
    served = {operation["operationId"] for operations in aisp["paths"].values() for operation in operations.values()}
    assert served == set(official_operations("/open-banking/v4.0/aisp")) - AISP_NOT_SERVED
    pisp = (await client.get("/open-banking/v4.0/pisp/openapi.json")).json()
    served = {operation["operationId"] for operations in pisp["paths"].values() for operation in operations.values()}
    assert served == PISP_SERVED
    cbpii = (await client.get("/open-banking/v4.0/cbpii/openapi.json")).json()
    served = {operation["operationId"] for operations in cbpii["paths"].values() for operation in operations.values()}
    assert served == set(official_operations("/open-banking/v4.0/cbpii"))


async def test_the_documented_error_response_is_the_official_one(client: httpx.AsyncClient) -> None:
    ours = (await client.get("/open-banking/v4.0/aisp/openapi.json")).json()["components"]["schemas"]
    official = spec_document(SPEC_FILES["/open-banking/v4.0/aisp"])["components"]["schemas"]
    for name in ("OBErrorResponse1", "OBError1"):
        assert set(ours[name]["properties"]) == set(official[name]["properties"]), name
        assert set(ours[name]["required"]) == set(official[name]["required"]), name

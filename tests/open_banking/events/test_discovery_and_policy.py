"""The Events API in the discovery document and its OpenAPI, and the gateway rows that admit TPPs to it."""

from __future__ import annotations

import httpx
import pytest
from openapi_spec_validator import validate

from gateway.policy import METHOD_NOT_ALLOWED, UNMATCHED, Family, policy_for

PUBLIC = "https://127.0.0.1:8443"
ROOT = "/open-banking/v4.0"
# OB v4.0.1 "Events API Specification - ASPSP Endpoints": every operation, by id, method and path.
EVENTS_OPERATIONS = {
    "CreateEventSubscriptions": ("POST", "/event-subscriptions"),
    "GetEventSubscriptions": ("GET", "/event-subscriptions"),
    "ChangeEventSubscriptionsEventSubscriptionId": ("PUT", "/event-subscriptions/{EventSubscriptionId}"),
    "DeleteEventSubscriptionsEventSubscriptionId": ("DELETE", "/event-subscriptions/{EventSubscriptionId}"),
    "CreateEvents": ("POST", "/events"),
}


async def test_discovery_lists_the_events_api_and_its_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/open-banking/discovery")).json()

    [entry] = document["Data"]["EventNotificationAPI"]
    assert entry["Version"] == "v4.0"
    assert entry["OpenAPI"] == f"{PUBLIC}{ROOT}/events/openapi.json"
    assert entry["Links"] == {operation: PUBLIC + ROOT + path for operation, (_, path) in EVENTS_OPERATIONS.items()}
    openapi = await client.get(f"{ROOT}/events/openapi.json")
    assert openapi.status_code == 200
    validate(openapi.json())
    assert openapi.json()["servers"] == [{"url": ROOT}]
    served = {
        operation["operationId"]: (method.upper(), path)
        for path, operations in openapi.json()["paths"].items()
        for method, operation in operations.items()
    }
    assert served == EVENTS_OPERATIONS


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", f"{ROOT}/event-subscriptions", "ob.events.read"),
        ("POST", f"{ROOT}/event-subscriptions", "ob.events.write"),
        ("PUT", f"{ROOT}/event-subscriptions/es-1", "ob.events.write"),
        ("DELETE", f"{ROOT}/event-subscriptions/es-1", "ob.events.write"),
        ("POST", f"{ROOT}/events", "ob.events.write"),
    ],
    ids=["list", "create", "change", "delete", "poll"],
)
def test_the_events_api_takes_a_tpps_client_token_addressed_to_open_banking(method: str, path: str, name: str) -> None:
    policy = policy_for(method, path)

    assert (policy.name, policy.family, policy.audience) == (name, Family.OPEN_BANKING, "open_banking")
    assert policy.subject_kinds == frozenset({"client"})
    # Any one of accounts, payments, fundsconfirmations (Events API); open_banking checks which.
    assert policy.scopes == frozenset()


def test_only_the_events_apis_operations_pass_and_its_openapi_is_public() -> None:
    assert policy_for("GET", f"{ROOT}/events/openapi.json").family is Family.PUBLIC
    # Methods the API does not have on a path it has are the gateway's own 405, never passed through.
    assert policy_for("GET", f"{ROOT}/event-subscriptions/es-1") is METHOD_NOT_ALLOWED
    assert policy_for("GET", f"{ROOT}/events") is METHOD_NOT_ALLOWED
    assert policy_for("POST", f"{ROOT}/event-subscriptions/es-1/x") is UNMATCHED

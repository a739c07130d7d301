"""Event subscriptions: a TPP creates its one subscription, reads, changes and deletes it; refusals in OB terms."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from obank.runtime import Platform
from open_banking.errors import FieldInvalid
from open_banking.events.service import CallbackPolicy, _check_callback_url, notification_url
from open_banking.signing import SIGNATURE_HEADER
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract
from tests.open_banking.events.conftest import (
    JSON,
    OTHER_TPP,
    RESOURCE_UPDATE,
    SIGNED,
    SUBSCRIPTIONS,
    TPP,
    Subscribe,
)

PUBLIC = "https://127.0.0.1:8443"


async def test_a_tpp_subscribes_and_reads_its_subscription(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    body = {"Data": {"CallbackUrl": "https://tpp.example/ob", "Version": "4.0", "EventTypes": [RESOURCE_UPDATE]}}
    created = await client.post(SUBSCRIPTIONS, json=body, headers=tpp_headers(TPP, scopes=("accounts",), **SIGNED))

    assert created.status_code == 201, created.text
    data = created.json()["Data"]
    assert data == {**body["Data"], "EventSubscriptionId": data["EventSubscriptionId"]}
    assert created.json()["Links"] == {"Self": f"{PUBLIC}{SUBSCRIPTIONS}/{data['EventSubscriptionId']}"}
    assert created.headers[SIGNATURE_HEADER]  # the bank signs event-subscriptions responses
    listed = await client.get(SUBSCRIPTIONS, headers=tpp_headers(TPP, scopes=("fundsconfirmations",)))
    assert listed.status_code == 200, listed.text
    assert listed.json()["Data"] == {"EventSubscription": [data]}
    assert listed.headers[SIGNATURE_HEADER]
    others = await client.get(SUBSCRIPTIONS, headers=tpp_headers(OTHER_TPP, scopes=("payments",)))
    assert others.json()["Data"] == {"EventSubscription": []}


async def test_a_second_subscription_is_a_conflict(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, contract: Contract
) -> None:
    first = await subscribe(TPP)
    again = await client.post(
        SUBSCRIPTIONS, json={"Data": {"Version": "4.0"}}, headers=tpp_headers(TPP, scopes=("payments",), **SIGNED)
    )

    assert again.status_code == 409, again.text
    contract.check_error_body(again)
    assert first["EventSubscriptionId"] in again.json()["Errors"][0]["Message"]
    assert again.json()["Errors"][0]["ErrorCode"] == "U029"


async def test_put_replaces_the_subscription_and_delete_ends_it(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, platform: Platform
) -> None:
    created = await subscribe(TPP, "https://tpp.example/ob")
    url = f"{SUBSCRIPTIONS}/{created['EventSubscriptionId']}"
    changed = {"Data": {"EventSubscriptionId": created["EventSubscriptionId"], "Version": "v4.0"}}

    put = await client.put(url, json=changed, headers=tpp_headers(TPP, scopes=("payments",), **SIGNED))

    assert put.status_code == 200, put.text
    assert put.json()["Data"] == changed["Data"]  # no callback URL any more: polling only
    assert put.json()["Links"] == {"Self": PUBLIC + url}
    deleted = await client.delete(url, headers=tpp_headers(TPP, scopes=("payments",)))
    assert deleted.status_code == 204, deleted.text
    listed = await client.get(SUBSCRIPTIONS, headers=tpp_headers(TPP, scopes=("payments",)))
    assert listed.json()["Data"] == {"EventSubscription": []}
    async with platform.sessions() as session:
        actions = (
            await session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.entity_id == created["EventSubscriptionId"])
                .order_by(AuditRecord.occurred_at)
            )
        ).all()
    assert sorted(actions) == sorted(
        ["event_subscription.created", "event_subscription.changed", "event_subscription.deleted"]
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_another_tpps_subscription_is_forbidden_and_an_unknown_one_a_bad_request(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, contract: Contract, method: str
) -> None:
    created = await subscribe(TPP)
    subscription_id = created["EventSubscriptionId"]
    body = {"Data": {"EventSubscriptionId": subscription_id, "Version": "4.0"}}
    content = None if method == "DELETE" else body

    forbidden = await client.request(
        method,
        f"{SUBSCRIPTIONS}/{subscription_id}",
        json=content,
        headers=tpp_headers(OTHER_TPP, scopes=("payments",), **SIGNED),
    )
    unknown = await client.request(
        method,
        f"{SUBSCRIPTIONS}/no-such-subscription",
        json=None if content is None else {"Data": {**body["Data"], "EventSubscriptionId": "no-such-subscription"}},
        headers=tpp_headers(TPP, scopes=("payments",), **SIGNED),
    )

    assert forbidden.status_code == 403, forbidden.text
    assert forbidden.json()["Errors"][0]["Path"] == "EventSubscriptionId"
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["Errors"][0] | {"Message": ""} == {
        "ErrorCode": "U011",
        "Path": "EventSubscriptionId",
        "Message": "",
    }
    for response in (forbidden, unknown):
        contract.check_error_body(response)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"Version": "4.0", "CallbackUrl": "http://tpp.example/ob"}, "Data.CallbackUrl"),
        ({"Version": "4.0", "CallbackUrl": "tpp.example/ob"}, "Data.CallbackUrl"),
        ({"Version": "4.0", "CallbackUrl": "https://user:pw@tpp.example/ob"}, "Data.CallbackUrl"),
        ({"Version": "4.0", "CallbackUrl": "https://tpp.example/ob?x=1"}, "Data.CallbackUrl"),
        ({"Version": "4.0", "CallbackUrl": "https://tpp.example:99999/ob"}, "Data.CallbackUrl"),
        ({"Version": "4.0", "CallbackUrl": "https://tpp.example/" + "a" * 1100}, "Data.CallbackUrl"),
        ({"Version": "3.1"}, "Data.Version"),
        ({"Version": "4.0", "EventTypes": ["urn:uk:org:openbanking:events:consent-authorization-revoked"]}, None),
        ({"Version": "4.0", "EventTypes": ["x" * 200]}, "Data.EventTypes[0]"),
        ({"Version": "4.0", "Unknown": 1}, "Data.Unknown"),
        ({}, "Data.Version"),
    ],
    ids=[
        "http",
        "relative",
        "credentials",
        "query",
        "port",
        "too-long",
        "version",
        "v3-event-type",
        "huge-event-type",
        "unknown-field",
        "no-version",
    ],
)
async def test_a_bad_subscription_is_refused_naming_its_field(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    contract: Contract,
    data: dict[str, Any],
    path: str | None,
) -> None:
    response = await client.post(
        SUBSCRIPTIONS, json={"Data": data}, headers=tpp_headers(TPP, scopes=("payments",), **SIGNED)
    )

    assert response.status_code == 400, response.text
    contract.check_error_body(response)
    assert response.json()["Errors"][0]["Path"] == (path or "Data.EventTypes[0]")


async def test_a_nul_byte_is_refused_naming_its_field(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    body = b'{"Data": {"Version": "4.0", "CallbackUrl": "https://tpp.example/\\u0000"}}'
    response = await client.post(SUBSCRIPTIONS, content=body, headers=tpp_headers(TPP, scopes=("payments",), **SIGNED))

    assert response.status_code == 400, response.text
    contract.check_error_body(response)
    assert response.json()["Errors"][0]["Path"] == "Data.CallbackUrl"


async def test_the_request_must_be_signed_by_the_tpp(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract
) -> None:
    response = await client.post(
        SUBSCRIPTIONS, json={"Data": {"Version": "4.0"}}, headers=tpp_headers(TPP, scopes=("payments",), **JSON)
    )

    assert response.status_code == 400, response.text
    contract.check_error_body(response)
    assert response.json()["Errors"][0]["ErrorCode"] == "U019"


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [("client", ("openid",)), ("customer", ("payments",))],
    ids=["no-api-scope", "customer-token"],
)
async def test_only_a_tpps_client_credentials_token_with_an_api_scope_may_subscribe(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Contract, kind: str, scopes: tuple[str, ...]
) -> None:
    headers = tpp_headers(TPP, scopes=scopes, kind=kind, subject="c-1" if kind == "customer" else None)
    response = await client.get(SUBSCRIPTIONS, headers=headers)

    assert response.status_code == 403, response.text
    contract.check_error_body(response)


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/ob",
        "https://127.0.0.1/ob",
        "https://10.1.2.3/ob",
        "https://[::1]/ob",
        "https://169.254.169.254/x",
    ],
    ids=["localhost", "loopback", "private", "loopback-v6", "link-local"],
)
def test_internal_hosts_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(FieldInvalid):
        _check_callback_url(url, CallbackPolicy(allow_loopback=False))
    assert _check_callback_url(url, CallbackPolicy(allow_loopback=True)) == url


@pytest.mark.parametrize(
    ("callback", "posted_to"),
    [
        ("https://tpp.example/ob", "https://tpp.example/ob/event-notifications"),
        ("https://tpp.example/ob/", "https://tpp.example/ob/event-notifications"),
        (
            "https://tpp.example/open-banking/v4.0/event-notifications",
            "https://tpp.example/open-banking/v4.0/event-notifications",
        ),
    ],
    ids=["base", "trailing-slash", "already-the-resource"],
)
def test_sets_are_posted_to_the_event_notifications_resource(callback: str, posted_to: str) -> None:
    assert notification_url(callback) == posted_to

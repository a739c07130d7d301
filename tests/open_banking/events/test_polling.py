"""Aggregated polling: the SETs core banking's events made for a subscribed TPP, oldest first, until acknowledged."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jws
from openapi_schema_validator import OAS30Validator

from obank.database import unit_of_work
from obank.outbox.consumers import Consumer
from obank.runtime import Platform
from obank.topics import CONSENT_AUTHORISED, CONSENT_CREATED, CONSENTS_TOPIC, PAYMENTS_TOPIC
from tests.auth_server.oauth.flow import access_consent, in_process, relay_events
from tests.core_banking.helpers import new_account, new_customer
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import spec_document
from tests.open_banking.events.conftest import (
    EVENTS,
    JSON,
    OTHER_TPP,
    RESOURCE_UPDATE,
    TPP,
    Publish,
    Subscribe,
    payment_status_changed,
    poll,
)

PUBLIC = "https://127.0.0.1:8443"


def claims_of(token: str) -> dict[str, Any]:
    """A SET's claims, read without verifying (test_callbacks verifies them against the bank's JWKS)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def notification_validator() -> OAS30Validator:
    """`OBEventNotification1` of the v4.0 Event Notification API (event-notifications-openapi.json)."""
    schemas = spec_document("event-notifications-openapi.json")["components"]["schemas"]
    return OAS30Validator({"$ref": "#/components/schemas/OBEventNotification1", "components": {"schemas": schemas}})


async def test_a_tpps_payment_status_change_is_a_resource_update_set(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, publish: Publish
) -> None:
    await subscribe(TPP)
    payload = payment_status_changed()
    event = await publish(PAYMENTS_TOPIC, "payment.status_changed", payload)

    answer = await poll(client, tpp_headers)

    assert answer["moreAvailable"] is False
    [(jti, token)] = answer["sets"].items()
    assert jws.extract_compact(token.encode()).headers()["typ"] == "secevent+jwt"
    claims = claims_of(token)
    notification_validator().validate(claims)
    link = f"{PUBLIC}/open-banking/v4.0/pisp/domestic-payments/{payload['payment_id']}"
    assert claims == {
        "iss": PUBLIC,
        "iat": claims["iat"],
        "jti": jti,
        "aud": TPP,
        "sub": link,
        "txn": event.correlation_id,
        "toe": int(event.occurred_at.timestamp()),
        "events": {
            RESOURCE_UPDATE: {
                "subject": {
                    "subject_type": "http://openbanking.org.uk/rid_http://openbanking.org.uk/rty",
                    "http://openbanking.org.uk/rid": payload["payment_id"],
                    "http://openbanking.org.uk/rty": "domestic-payment",
                    "http://openbanking.org.uk/rlk": [{"version": "v4.0", "link": link}],
                }
            }
        },
    }
    assert "GBP" not in str(claims) and payload["customer_id"] not in str(claims)  # ids and the resource only


async def test_acknowledged_sets_are_never_returned_again(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, publish: Publish
) -> None:
    await subscribe(TPP)
    for _ in range(3):
        await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    first = await poll(client, tpp_headers, maxEvents=2)
    assert first["moreAvailable"] is True
    assert len(first["sets"]) == 2
    [one, two] = first["sets"]
    second = await poll(
        client,
        tpp_headers,
        ack=[one],
        setErrs={two: {"err": "invalid_request", "description": "a secret 4242 the bank must not log"}},
    )
    assert second["moreAvailable"] is False
    [third] = second["sets"]
    assert third not in (one, two)
    nothing = await poll(client, tpp_headers, ack=[third], maxEvents=0)
    assert nothing == {"moreAvailable": False, "sets": {}}
    assert await poll(client, tpp_headers) == {"moreAvailable": False, "sets": {}}


async def test_max_events_zero_returns_none_but_says_more_are_available(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, publish: Publish
) -> None:
    await subscribe(TPP)
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    assert await poll(client, tpp_headers, maxEvents=0, returnImmediately=True) == {"moreAvailable": True, "sets": {}}


async def test_a_tpp_sees_only_its_own_sets_and_cannot_acknowledge_anothers(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, publish: Publish
) -> None:
    await subscribe(TPP)
    await subscribe(OTHER_TPP)
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed(TPP))
    [jti] = (await poll(client, tpp_headers))["sets"]

    others = await poll(client, tpp_headers, OTHER_TPP, ack=[jti])

    assert others == {"moreAvailable": False, "sets": {}}
    assert list((await poll(client, tpp_headers))["sets"]) == [jti]


async def test_a_redelivered_outbox_event_makes_one_set(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    subscribe: Subscribe,
    publish: Publish,
    tpp_events: Consumer,
    platform: Platform,
) -> None:
    await subscribe(TPP)
    event = await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())
    await publish(PAYMENTS_TOPIC, "payment.status_changed", event.payload, event_id=event.event_id)
    # Past the consumer ledger too (a copy through another transport): the table's own uniqueness holds.
    async with unit_of_work(platform.sessions) as session:
        await tpp_events.handler(session, event)

    assert len((await poll(client, tpp_headers))["sets"]) == 1


@pytest.mark.parametrize(
    ("subscribed", "event_types"),
    [(False, None), (True, [])],
    ids=["unsubscribed", "no-event-types"],
)
async def test_no_set_is_made_for_a_tpp_not_subscribed_to_resource_updates(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    subscribe: Subscribe,
    publish: Publish,
    subscribed: bool,
    event_types: list[str] | None,
) -> None:
    if subscribed:
        await subscribe(TPP, EventTypes=event_types)
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    assert await poll(client, tpp_headers) == {"moreAvailable": False, "sets": {}}


@pytest.mark.parametrize(
    ("topic", "event_type", "payload"),
    [
        (PAYMENTS_TOPIC, "payment.status_changed", {**payment_status_changed(), "client_id": None}),
        (PAYMENTS_TOPIC, "payment.status_changed", {**payment_status_changed(), "consent_id": None}),
        (PAYMENTS_TOPIC, "payment.submitted", payment_status_changed()),
        (CONSENTS_TOPIC, CONSENT_CREATED, {"consent_id": "aac-1", "kind": "ACCOUNT_ACCESS", "client_id": TPP}),
        (CONSENTS_TOPIC, CONSENT_AUTHORISED, {"consent_id": "x-1", "kind": "SOMETHING_ELSE", "client_id": TPP}),
    ],
    ids=["customers-payment", "payment-order-run", "not-a-status-change", "consent-created", "unknown-kind"],
)
async def test_events_that_update_no_tpp_resource_make_no_set(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    subscribe: Subscribe,
    publish: Publish,
    topic: str,
    event_type: str,
    payload: dict[str, Any],
) -> None:
    await subscribe(TPP)
    await publish(topic, event_type, payload)

    assert await poll(client, tpp_headers) == {"moreAvailable": False, "sets": {}}


async def test_a_consent_authorised_in_core_banking_reaches_the_tpp_through_the_relay(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, subscribe: Subscribe, platform: Platform
) -> None:
    """The real path: core banking's consent, the customer's authorisation, the outbox relay, the consumer."""
    await subscribe(TPP)
    consent = await access_consent(platform, TPP)
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    await in_process(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    await in_process(platform).withdraw_consent(consent.id, client_id=TPP)

    await relay_events(platform)

    sets = (await poll(client, tpp_headers))["sets"]
    subjects = [claims_of(token)["events"][RESOURCE_UPDATE]["subject"] for token in sets.values()]
    assert [subject["http://openbanking.org.uk/rty"] for subject in subjects] == ["account-access-consent"] * 2
    assert {subject["http://openbanking.org.uk/rid"] for subject in subjects} == {consent.id}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"maxEvents": -1}, "maxEvents"),
        ({"maxEvents": 2**40}, "maxEvents"),
        ({"ack": ["x" * 200]}, "ack[0]"),
        ({"ack": "not-a-list"}, "ack"),
        ({"setErrs": {"j-1": {"err": "x"}}}, "setErrs.j-1.description"),
        ({"returnImmediately": "maybe"}, "returnImmediately"),
        ({"other": 1}, "other"),
    ],
    ids=["negative", "huge", "long-jti", "ack-type", "set-err-shape", "bool", "unknown-field"],
)
async def test_a_bad_poll_is_refused_naming_its_field(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Any, body: dict[str, Any], path: str
) -> None:
    response = await client.post(EVENTS, json=body, headers=tpp_headers(TPP, scopes=("accounts",), **JSON))

    assert response.status_code == 400, response.text
    contract.check_error_body(response)
    assert response.json()["Errors"][0]["Path"] == path


async def test_polling_is_not_for_a_customers_token(
    client: httpx.AsyncClient, tpp_headers: TppHeaders, contract: Any
) -> None:
    headers = tpp_headers(TPP, scopes=("accounts",), kind="customer", subject=str(uuid.uuid4()), **JSON)
    response = await client.post(EVENTS, json={}, headers=headers)

    assert response.status_code == 403, response.text
    contract.check_error_body(response)

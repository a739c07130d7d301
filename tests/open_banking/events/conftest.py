"""Fixtures of event notifications: settings for a local TLS callback receiver, the TPPs' signing keys and a
client that signs their requests, subscriptions, and SETs made by the real consumer."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from audit.trail import platform_units
from auth_server.facade import event_signer
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientMetadata
from obank.actor import Actor
from obank.correlation import CorrelationMiddleware
from obank.outbox.consumers import Consumer, apply_once
from obank.outbox.record import Event
from obank.principal import PRINCIPAL_HEADER
from obank.runtime import Platform
from obank.settings import Settings
from open_banking.events.consumers import tpp_events_consumer
from open_banking.signing import SIGNATURE_HEADER, MessageSigning
from tests.auth_server.oauth.conftest import Pki, pki
from tests.open_banking.conftest import BASE_URL, TppHeaders
from tests.open_banking.message_signing import tpp_signature

__all__ = ["pki"]

SUBSCRIPTIONS = "/open-banking/v4.0/event-subscriptions"
EVENTS = "/open-banking/v4.0/events"
RESOURCE_UPDATE = "urn:uk:org:openbanking:events:resource-update"
TPP = "tpp-1"
OTHER_TPP = "tpp-2"
JSON = {"content-type": "application/json"}
SIGN_THE_BODY = "sign-the-body-as-the-tpp"
SIGNED = {SIGNATURE_HEADER: SIGN_THE_BODY, **JSON}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, pki: Pki) -> Settings:
    """The test settings, with callbacks to 127.0.0.1 allowed and TPPs' servers trusted by the test CA."""
    from tests.conftest import TEST_KEYS

    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        certs_dir=tmp_path / "certs",
        database_url=database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
        event_notifications_allow_loopback=True,
        event_notifications_ca_file=pki.ca_file,
        event_notifications_attempts=2,
        event_notifications_backoff_s=0,
        event_notifications_timeout_s=5,
    )


@cache
def tpp_key(client_id: str) -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


@pytest.fixture(autouse=True)
async def registered_tpps(platform: Platform) -> None:
    """The test TPPs, registered with their PS256 keys, which verify their signed requests."""
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        for client_id in (TPP, OTHER_TPP):
            key = tpp_key(client_id)
            metadata = ClientMetadata(
                client_name=f"Test TPP {client_id}",
                redirect_uris=["https://tpp.example/callback"],
                grant_types=["authorization_code", "client_credentials"],
                scope="openid accounts payments",
                token_endpoint_auth_method="private_key_jwt",
                token_endpoint_auth_signing_alg="PS256",
                jwks={"keys": [{**key.as_dict(private=False), "kid": key.kid, "use": "sig", "alg": "PS256"}]},
            )
            await clients_service.register_client(uow, metadata, client_id=client_id)


def _principal_client(request: httpx.Request) -> str:
    segment = request.headers[PRINCIPAL_HEADER].split(".")[1]
    client_id: str = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))["client_id"]
    return client_id


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app as TPPs reach it; a request carrying `SIGNED` leaves signed by its TPP's registered key."""
    signing: MessageSigning = app.state.message_signing

    async def sign(request: httpx.Request) -> None:
        if request.headers.get(SIGNATURE_HEADER) == SIGN_THE_BODY:
            client_id = _principal_client(request)
            request.headers[SIGNATURE_HEADER] = tpp_signature(
                request.content, tpp_key(client_id), iss=client_id, tan=signing.trust_anchor
            )

    transport = httpx.ASGITransport(app=CorrelationMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, event_hooks={"request": [sign]}) as http:
        yield http


Subscribe = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def subscribe(client: httpx.AsyncClient, tpp_headers: TppHeaders) -> Subscribe:
    """Subscribe a TPP (callback URL or none, every event type unless named); the created resource's Data."""

    async def make(client_id: str = TPP, callback_url: str | None = None, **data: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"Version": "4.0", **data}
        if callback_url is not None:
            body["CallbackUrl"] = callback_url
        headers = tpp_headers(client_id, scopes=("payments",), **SIGNED)
        response = await client.post(SUBSCRIPTIONS, json={"Data": body}, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["Data"]
        return created

    return make


@pytest.fixture
def tpp_events(platform: Platform) -> Consumer:
    """The consumer `bank.jobs.consumer_registry` registers, over this test's platform."""
    return tpp_events_consumer(event_signer(platform), platform.settings.public_base_url())


Publish = Callable[..., Awaitable[Event]]


@pytest.fixture
def publish(platform: Platform, tpp_events: Consumer) -> Publish:
    """Hand the consumer one core banking event, as the relay does (at most once per event id)."""

    async def hand(topic: str, event_type: str, payload: dict[str, Any], event_id: uuid.UUID | None = None) -> Event:
        event = Event(
            event_id=event_id or uuid.uuid4(),
            topic=topic,
            event_type=event_type,
            key=str(payload.get("payment_id") or payload.get("consent_id") or payload.get("order_id")),
            payload=payload,
            correlation_id=str(uuid.uuid4()),
            occurred_at=datetime.now(UTC),
        )
        await apply_once(platform.sessions, tpp_events, event)
        return event

    return hand


def payment_status_changed(client_id: str = TPP, status: str = "ACSC", payment_id: str | None = None) -> dict[str, Any]:
    """A `payment.status_changed` payload of a TPP's domestic payment, as core banking publishes it."""
    return {
        "payment_id": payment_id or str(uuid.uuid4()),
        "origin": "OPEN_BANKING",
        "route": "INTERNAL",
        "customer_id": str(uuid.uuid4()),
        "debtor_account_id": str(uuid.uuid4()),
        "creditor_account_id": None,
        "amount_minor": 1250,
        "currency": "GBP",
        "status": status,
        "reason": None,
        "consent_id": "pdc-" + uuid.uuid4().hex,
        "client_id": client_id,
        "scheme_transaction_id": None,
        "payee_id": None,
    }


async def poll(client: httpx.AsyncClient, tpp_headers: TppHeaders, client_id: str = TPP, **body: Any) -> dict[str, Any]:
    response = await client.post(EVENTS, json=body, headers=tpp_headers(client_id, scopes=("payments",), **JSON))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer

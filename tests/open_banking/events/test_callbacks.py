"""Callbacks: a TPP's HTTPS endpoint receives each SET, signed by the bank's key as its JWKS publishes it; a
failing endpoint is tried again, then the SET waits for polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth_server.oauth.config import JWKS_PATH
from obank.runtime import Platform
from obank.server import TLSFiles, bind_socket, build_server
from obank.topics import PAYMENTS_TOPIC
from open_banking.events import repository
from open_banking.events.delivery import DeliveryPolicy, callback_client, deliver_due
from open_banking.events.models import DeliveryStatus
from tests.auth_server.oauth.conftest import Pki, start_authorization_server
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.events.conftest import RESOURCE_UPDATE, TPP, Publish, Subscribe, payment_status_changed, poll

PUBLIC = "https://127.0.0.1:8443"


@dataclass
class Receiver:
    """A TPP's event-notifications endpoint over TLS (the test CA's server certificate), answering `status`."""

    port: int
    status: int = 202
    received: list[Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def callback_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/tpp/ob"


@pytest.fixture
async def receiver(pki: Pki) -> AsyncIterator[Receiver]:
    sock = bind_socket("127.0.0.1", 0)
    running = Receiver(sock.getsockname()[1])

    async def event_notifications(request: Request) -> Response:
        running.received.append(request)
        running.bodies.append(await request.body())
        return Response(status_code=running.status)

    app = Starlette(routes=[Route("/tpp/ob/event-notifications", event_notifications, methods=["POST"])])
    server = build_server(app, TLSFiles(pki.server.cert_file, pki.server.key_file, None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    yield running
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def bank_jwks(platform: Platform, pki: Pki) -> AsyncIterator[KeySet]:
    """The bank's JWK Set as a TPP fetches it: from the issuer's `jwks_uri`, over TLS."""
    running, stop = await start_authorization_server(platform, pki)
    try:
        async with running.http(cert=None) as http:
            response = await http.get(JWKS_PATH)
        assert response.status_code == 200, response.text
        yield KeySet.import_key_set(response.json())
    finally:
        await stop()


async def deliver(platform: Platform) -> int:
    async with callback_client(platform.settings) as http:
        return await deliver_due(platform, http, DeliveryPolicy.from_settings(platform.settings))


async def test_the_tpps_callback_gets_a_set_that_verifies_against_the_banks_jwks(
    platform: Platform,
    receiver: Receiver,
    subscribe: Subscribe,
    publish: Publish,
    bank_jwks: KeySet,
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
) -> None:
    await subscribe(TPP, receiver.callback_url)
    payload = payment_status_changed(status="ACSC")
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payload)

    assert await deliver(platform) == 1

    [request] = receiver.received
    [body] = receiver.bodies
    assert request.headers["content-type"] == "application/jwt"
    assert request.headers["x-fapi-financial-id"] == platform.settings.event_notifications_financial_id
    assert request.headers["x-fapi-interaction-id"]
    token = jwt.decode(body.decode(), bank_jwks, algorithms=["PS256"])
    assert token.header["typ"] == "secevent+jwt"
    assert token.header["alg"] == "PS256"
    assert token.header["kid"] in {key.kid for key in bank_jwks.keys}
    claims = token.claims
    assert claims["aud"] == TPP
    assert claims["iss"] == PUBLIC
    subject = claims["events"][RESOURCE_UPDATE]["subject"]
    assert subject["http://openbanking.org.uk/rid"] == payload["payment_id"]
    # A 202 is the TPP's acknowledgement: the SET is not polled again, nor POSTed again.
    assert await poll(client, tpp_headers) == {"moreAvailable": False, "sets": {}}
    assert await deliver(platform) == 0


async def test_a_failing_callback_is_retried_then_left_for_polling(
    platform: Platform,
    receiver: Receiver,
    subscribe: Subscribe,
    publish: Publish,
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
) -> None:
    receiver.status = 503
    await subscribe(TPP, receiver.callback_url)
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    # Two attempts (the test settings), no backoff: each round finds it due again until the last.
    assert await deliver(platform) == 1
    assert await deliver(platform) == 1
    assert await deliver(platform) == 0

    assert len(receiver.received) == 2
    assert receiver.bodies[0] == receiver.bodies[1]  # the same SET, as signed once
    polled = await poll(client, tpp_headers)
    [(jti, token)] = polled["sets"].items()
    assert token == receiver.bodies[0].decode()
    async with platform.sessions() as session:
        stored = await repository.event(session, jti)
    assert stored is not None
    assert (stored.delivery_status, stored.attempts, stored.last_failure) == (DeliveryStatus.FAILED, 2, "HTTP 503")


async def test_an_endpoint_that_does_not_answer_is_a_failed_attempt_due_again(
    platform: Platform, subscribe: Subscribe, publish: Publish
) -> None:
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    await subscribe(TPP, f"https://127.0.0.1:{port}/nobody-listens")
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    assert await deliver(platform) == 1

    async with platform.sessions() as session:
        [stored] = await repository.awaiting(session, TPP, 10)
    assert stored.delivery_status is DeliveryStatus.PENDING
    assert stored.last_failure == "ClientConnectorError"


async def test_unsubscribing_stops_callbacks_and_keeps_the_sets_for_polling(
    platform: Platform,
    receiver: Receiver,
    subscribe: Subscribe,
    publish: Publish,
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
) -> None:
    created = await subscribe(TPP, receiver.callback_url)
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())
    deleted = await client.delete(
        f"/open-banking/v4.0/event-subscriptions/{created['EventSubscriptionId']}",
        headers=tpp_headers(TPP, scopes=("payments",)),
    )
    assert deleted.status_code == 204

    assert await deliver(platform) == 0

    assert receiver.received == []
    assert len((await poll(client, tpp_headers))["sets"]) == 1


async def test_an_endpoint_whose_certificate_the_bank_does_not_trust_gets_nothing(
    platform: Platform, receiver: Receiver, subscribe: Subscribe, publish: Publish
) -> None:
    """TPP hosted endpoints show a certificate of a trust anchor the bank accepts (Event Notification API,
    "Transport Level Security"); without `event_notifications_ca_file` only the system's CAs are."""
    untrusting = platform.settings.model_copy(update={"event_notifications_ca_file": None})
    await subscribe(TPP, receiver.callback_url)
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    async with callback_client(untrusting) as http:
        assert await deliver_due(platform, http, DeliveryPolicy.from_settings(untrusting)) == 1

    assert receiver.received == []
    async with platform.sessions() as session:
        [stored] = await repository.awaiting(session, TPP, 10)
    assert stored.last_failure == "ClientConnectorCertificateError"


async def test_a_callback_host_at_an_internal_address_is_never_connected_to(
    platform: Platform, receiver: Receiver, subscribe: Subscribe, publish: Publish
) -> None:
    """The host is checked where the connection resolves it (`obank.outbound`), not only at registration: a name
    that resolves, or later re-resolves, to a loopback or private address reaches nothing."""
    strict = platform.settings.model_copy(update={"event_notifications_allow_loopback": False})
    await subscribe(TPP, receiver.callback_url)  # registered while loopback was allowed
    await publish(PAYMENTS_TOPIC, "payment.status_changed", payment_status_changed())

    async with callback_client(strict) as http:
        assert await deliver_due(platform, http, DeliveryPolicy.from_settings(strict)) == 1

    assert receiver.received == []
    async with platform.sessions() as session:
        [stored] = await repository.awaiting(session, TPP, 10)
    assert stored.delivery_status is DeliveryStatus.PENDING
    assert stored.last_failure == "ForbiddenAddress"

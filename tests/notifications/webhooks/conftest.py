"""Fixtures for webhooks: a test CA the delivery trusts, a real HTTPS receiver, endpoints, events to fan out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from notifications.app import create_app
from notifications.webhooks import service
from notifications.webhooks.consumers import webhook_fanout_consumer
from notifications.webhooks.delivery import DeliveryConfig, WebhookDelivery
from notifications.webhooks.models import WebhookMessage
from notifications.webhooks.schemas import EndpointCreate, SecretIssued
from obank.actor import Actor
from obank.certs import certificate_pem, create_certificate_authority, issue_server_certificate, private_key_pem
from obank.database import unit_of_work
from obank.outbox.consumers import ConsumerRegistry
from obank.outbox.record import NewEvent, record_events
from obank.outbox.relay import InProcessPublisher, OutboxRelay
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform
from obank.settings import Settings
from obank.topics import PAYMENTS_TOPIC
from obank.unit_of_work import UnitsOfWork
from tests.notifications.webhooks.receiver import Receiver, tls_files

STAFF = Actor.system("tests.webhooks")
# Short waits so a test steps through a whole schedule; jitter off so it can say when each attempt falls due.
FAST_SCHEDULE = [5.0, 300.0, 1800.0]


@pytest.fixture(scope="session")
def webhook_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a server certificate for localhost and 127.0.0.1: the receivers' TLS."""
    directory = tmp_path_factory.mktemp("webhook-pki")
    ca_cert, ca_key = create_certificate_authority("Webhook receivers' test CA")
    server_cert, server_key = issue_server_certificate(ca_cert, ca_key)
    (directory / "ca.pem").write_bytes(certificate_pem(ca_cert))
    (directory / "server.pem").write_bytes(certificate_pem(server_cert))
    (directory / "server.key").write_bytes(private_key_pem(server_key))
    return directory


@pytest.fixture
def settings(settings: Settings, webhook_pki: Path) -> Settings:
    """Receivers on 127.0.0.1 with the test CA's certificate; a short retry schedule without jitter."""
    return settings.model_copy(
        update={
            "webhooks_allow_private_networks": True,
            "webhooks_ca_file": webhook_pki / "ca.pem",
            "webhooks_retry_schedule_s": FAST_SCHEDULE,
            "webhooks_retry_jitter": 0.0,
            "webhooks_timeout_s": 5.0,
            "webhooks_lease_s": 30.0,
        }
    )


@pytest.fixture
async def receiver(webhook_pki: Path) -> AsyncIterator[Receiver]:
    running = Receiver()
    await running.start(tls_files(webhook_pki))
    yield running
    await running.stop()


@pytest.fixture
async def delivery(platform: Platform) -> AsyncIterator[WebhookDelivery]:
    async with WebhookDelivery(platform) as deliverer:
        yield deliverer


def delivery_with(platform: Platform, **changes: Any) -> WebhookDelivery:
    """A deliverer whose configuration differs from the settings'."""
    config = DeliveryConfig.from_settings(platform.settings)
    return WebhookDelivery(platform, DeliveryConfig(**{**_fields(config), **changes}))


def _fields(config: DeliveryConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in DeliveryConfig.__dataclass_fields__}


@pytest.fixture
def rules(platform: Platform) -> service.EndpointRules:
    return service.EndpointRules.from_settings(platform.settings)


Register = Callable[..., Any]


@pytest.fixture
def register(units: UnitsOfWork, rules: service.EndpointRules) -> Register:
    """Register an endpoint as staff would; the secret comes back once."""

    async def make(url: str, *events: str, ordered: bool = False, description: str = "") -> SecretIssued:
        body = EndpointCreate(url=url, event_types=list(events or ("*",)), ordered=ordered, description=description)
        async with units.begin(STAFF) as uow:
            return await service.create_endpoint(uow, body, rules)

    return make


def payment_event(
    event_type: str = "payment.status_changed", *, account: uuid.UUID | None = None, **payload: Any
) -> NewEvent:
    """A payment event as core banking publishes it (`core_banking.payments._snapshot`)."""
    payment_id = uuid.uuid4()
    snapshot = {
        "payment_id": str(payment_id),
        "origin": "CUSTOMER",
        "route": "INTERNAL",
        "customer_id": str(uuid.uuid4()),
        "debtor_account_id": str(account or uuid.uuid4()),
        "creditor_account_id": None,
        "amount_minor": 1234,
        "currency": "GBP",
        "status": "ACSC",
        "reason": None,
        "consent_id": None,
        "client_id": None,
        "scheme_transaction_id": None,
        "payee_id": None,
        **payload,
    }
    return NewEvent(topic=PAYMENTS_TOPIC, event_type=event_type, key=str(payment_id), payload=snapshot)


Publish = Callable[[Sequence[NewEvent]], Any]


@pytest.fixture
def publish(platform: Platform) -> Publish:
    """Commit events to the outbox and relay them to the webhooks' fan-out, as `obank serve` would."""
    registry = ConsumerRegistry()
    registry.register(webhook_fanout_consumer())
    relay = OutboxRelay(platform.sessions, InProcessPublisher(registry, platform.sessions), batch_size=500)

    async def go(events: Sequence[NewEvent]) -> None:
        async with unit_of_work(platform.sessions) as session:
            await record_events(session, events)
        while await relay.run_once():
            pass

    return go


async def messages_of(platform: Platform, endpoint_id: uuid.UUID) -> list[WebhookMessage]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.scalars(
            select(WebhookMessage).where(WebhookMessage.endpoint_id == endpoint_id).order_by(WebhookMessage.sequence)
        )
        return list(rows)


async def database_now(platform: Platform) -> datetime:
    async with unit_of_work(platform.sessions) as session:
        moment: datetime = (await session.execute(text("SELECT now()"))).scalar_one()
        return moment


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)


def utcnow() -> datetime:
    return datetime.now(UTC)


# The staff API.


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications") as http:
        yield http


HeadersFor = Callable[..., dict[str, str]]


@pytest.fixture
def headers_for(app: FastAPI) -> HeadersFor:
    """Headers carrying a gateway-signed assertion of a principal (staff by default) with `roles`."""

    def make(*roles: str, kind: PrincipalKind = "staff", subject: str = "staff-1") -> dict[str, str]:
        principal = Principal(
            subject=subject,
            kind=kind,
            interaction_id="00000000-0000-4000-8000-000000000000",
            roles=frozenset(roles),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "notifications")}

    return make


@pytest.fixture
def admin(headers_for: HeadersFor) -> dict[str, str]:
    return headers_for("admin")

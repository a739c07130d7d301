"""Customer notification fixtures: a real SMTP server (aiosmtpd) that can refuse some recipients, the
notifications app, customers with accounts, and the consumer fed from the outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from sqlalchemy import select

from core_banking.accounts.schemas import AccountRecord
from core_banking.customers.schemas import CustomerRecord
from core_banking.facade import InProcessCoreBanking
from notifications.app import create_app
from notifications.customers.consumers import customer_notifications_consumer
from notifications.customers.models import CustomerMessage
from notifications.customers.sending import NotificationSender, transports_for
from obank.database import unit_of_work
from obank.outbox.consumers import Consumer, apply_once
from obank.outbox.models import OutboxEvent
from obank.outbox.record import Event
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import new_account, new_customer


@dataclass
class SmtpSpy:
    """What a real SMTP server received; recipients in `refused` get a temporary failure (451)."""

    port: int = 0
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "451 4.3.0 Mailbox temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(content, policy=policy.default)))
        return "250 Message accepted"


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSpy]:
    spy = SmtpSpy()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(spy), host="127.0.0.1", port=0)
    spy.port = server.sockets[0].getsockname()[1]
    yield spy
    server.close()
    await server.wait_closed()


@pytest.fixture
def settings(settings: Settings, smtp: SmtpSpy) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "smtp_from": "obank <no-reply@bank.example>",
            "notifications_retry_backoff_s": 0.0,
            "notifications_max_attempts": 3,
        }
    )


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications") as http:
        yield http


@pytest.fixture
def headers_of(app: FastAPI) -> Callable[[uuid.UUID], dict[str, str]]:
    def make(customer_id: uuid.UUID) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id),
            kind="customer",
            interaction_id="00000000-0000-4000-8000-000000000005",
            client_id="obank-web",
            scopes=frozenset({"openid"}),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "notifications")}

    return make


@dataclass(frozen=True)
class Holder:
    customer: CustomerRecord
    account: AccountRecord


@pytest.fixture
def holder(platform: Platform) -> Callable[..., Any]:
    async def make(*, funded_minor: int = 100_000, **overrides: Any) -> Holder:
        customer = await new_customer(platform.sessions, platform.keyring, **overrides)
        account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=funded_minor)
        return Holder(customer, account)

    return make


@pytest.fixture
def consumer(platform: Platform) -> Consumer:
    return customer_notifications_consumer(platform.settings, InProcessCoreBanking(platform.sessions, platform.keyring))


@pytest.fixture
def sender(platform: Platform) -> NotificationSender:
    return NotificationSender(
        platform, InProcessCoreBanking(platform.sessions, platform.keyring), transports_for(platform)
    )


async def deliver_outbox(platform: Platform, consumer: Consumer) -> int:
    """Hand every event in the outbox to the consumer (once each, as the relay would); how many it applied."""
    async with unit_of_work(platform.sessions) as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.position))).all()
        events = [
            Event(row.event_id, row.topic, row.event_type, row.key, row.payload, row.correlation_id, row.occurred_at)
            for row in rows
        ]
    applied = 0
    for event in events:
        if event.topic in consumer.topics:
            applied += await apply_once(platform.sessions, consumer, event)
    return applied


async def messages_of(platform: Platform, customer_id: uuid.UUID) -> list[CustomerMessage]:
    async with unit_of_work(platform.sessions) as session:
        query = (
            select(CustomerMessage)
            .where(CustomerMessage.customer_id == customer_id)
            .order_by(CustomerMessage.created_at, CustomerMessage.kind, CustomerMessage.channel)
        )
        return list((await session.scalars(query)).all())

"""The scheme over the migrated test database: its directory seeded, messages delivered as the bank's events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from faster_payments import repository
from faster_payments.consumers import scheme_consumer
from faster_payments.messages import CreditTransfer, Message, Party, StatusReport, decode, encode
from faster_payments.models import ScheduledMessage
from faster_payments.registry import ensure_registry
from obank.database import unit_of_work
from obank.outbox import Event, apply_once
from obank.outbox.models import OutboxEvent
from obank.runtime import Platform
from obank.topics import FPS_TO_BANK_TOPIC, FPS_TO_SCHEME_TOPIC

BANK_SORT_CODE = "040075"
ADA = Party(name="Ada Lovelace", sort_code="309634", account_number="56100526")
SEACOLE_CLOSED = Party(name="Mary Seacole", sort_code="309634", account_number="18142912")
CUSTOMER = Party(name="Grace Hopper", sort_code=BANK_SORT_CODE, account_number="00000017")


@pytest.fixture
async def scheme(platform: Platform) -> Platform:
    """The platform with the scheme's directory seeded."""
    async with unit_of_work(platform.sessions) as session:
        await ensure_registry(session)
    return platform


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put logging back as it was after a test that configures it."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


def new_id() -> str:
    return uuid.uuid4().hex


def bank_payment(creditor: Party = ADA, *, created_at: datetime | None = None, **changes: Any) -> CreditTransfer:
    """A pacs.008 the bank sends out: its customer pays `creditor`."""
    fields: dict[str, Any] = {
        "message_id": new_id(),
        "transaction_id": new_id(),
        "end_to_end_id": "INV-2026-0042",
        "instruction_id": new_id(),
        "amount_minor": 12_345,
        "currency": "GBP",
        "debtor": CUSTOMER,
        "creditor": creditor,
        "reference": "Invoice 42",
        "created_at": created_at or datetime.now(UTC),
        "settlement_date": date(2026, 12, 5),
    }
    fields.update(changes)
    return CreditTransfer(**fields)


def bank_event(message: Message) -> Event:
    """The outbox event the bank publishes to the scheme for a message."""
    definition, xml = encode(message)
    key = message.transaction_id if isinstance(message, CreditTransfer) else message.original_transaction_id
    return Event(
        event_id=uuid.uuid4(),
        topic=FPS_TO_SCHEME_TOPIC,
        event_type=definition,
        key=key,
        payload={"xml": xml},
        correlation_id=new_id(),
    )


async def deliver(platform: Platform, message: Message | Event) -> bool:
    """Deliver a message (or a prepared event) to the scheme's consumer as the relay would."""
    event = message if isinstance(message, Event) else bank_event(message)
    return await apply_once(platform.sessions, scheme_consumer(platform.keyring), event)


async def scheduled(sessions: async_sessionmaker[AsyncSession], key: str | None = None) -> list[ScheduledMessage]:
    async with unit_of_work(sessions) as session:
        return list(await repository.list_scheduled(session, key))


async def replies(sessions: async_sessionmaker[AsyncSession], tx_id: str) -> list[StatusReport]:
    """The pacs.002 messages scheduled for the bank about a transaction, decoded."""
    reports = []
    for row in await scheduled(sessions, tx_id):
        message = decode(row.definition, row.xml)
        assert isinstance(message, StatusReport)
        reports.append(message)
    return reports


async def outbox_to_bank(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxEvent]:
    async with unit_of_work(sessions) as session:
        statement = select(OutboxEvent).where(OutboxEvent.topic == FPS_TO_BANK_TOPIC).order_by(OutboxEvent.position)
        return list((await session.execute(statement)).scalars().all())

"""Deliveries to a real HTTPS receiver, which verifies each with the Standard Webhooks reference library."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from notifications.webhooks.delivery import WebhookDelivery
from notifications.webhooks.models import MessageStatus, WebhookAttempt, webhook_id
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import (
    Publish,
    Register,
    database_now,
    delivery_with,
    later,
    messages_of,
    payment_event,
)
from tests.notifications.webhooks.receiver import Receiver


async def test_a_delivery_is_signed_as_standard_webhooks_says(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish, delivery: WebhookDelivery
) -> None:
    issued = await register(receiver.url("erp"), "payment.status_changed")
    receiver.trust("erp", issued.secret)
    event = payment_event(account=uuid.uuid4())
    await publish([event])

    assert await delivery.deliver_due() == 1

    (receipt,) = receiver.at("erp")
    assert receipt.verified and receipt.answered == 200
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert receipt.webhook_id == webhook_id(message.id)
    assert receipt.headers["content-type"] == "application/json"
    assert receipt.headers["webhook-signature"].startswith("v1,")
    assert set(receipt.payload) == {"type", "timestamp", "data"}
    assert receipt.payload["type"] == "payment.status_changed"
    assert receipt.payload["data"] == event.payload
    assert receipt.payload["timestamp"].endswith("Z")
    assert message.status is MessageStatus.DELIVERED and message.attempts == 1
    async with unit_of_work(platform.sessions) as session:
        (attempt,) = await session.scalars(select(WebhookAttempt).where(WebhookAttempt.message_id == message.id))
    assert (attempt.attempt, attempt.response_status, attempt.error) == (1, 200, None)
    assert attempt.latency_ms >= 0
    # Nothing of the answer's body is kept anywhere.
    assert "never keep" not in json.dumps([str(value) for value in vars(attempt).values()])


async def test_retries_follow_the_schedule_until_the_receiver_recovers(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish, delivery: WebhookDelivery
) -> None:
    issued = await register(receiver.url("flaky"), "*")
    receiver.trust("flaky", issued.secret)
    receiver.behave("flaky", fail_first=3, fail_status=503)
    await publish([payment_event()])
    start = await database_now(platform)

    assert await delivery.deliver_due(start) == 1
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.next_attempt_at == later(start, seconds=5)  # the schedule's first wait (no jitter here)
    assert await delivery.deliver_due(later(start, seconds=4.9)) == 0  # not yet due

    second = later(start, seconds=5)
    assert await delivery.deliver_due(second) == 1
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.next_attempt_at == later(second, seconds=300)
    third = later(second, seconds=300)
    assert await delivery.deliver_due(third) == 1
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.next_attempt_at == later(third, seconds=1800)
    assert message.last_response_status == 503
    assert await delivery.deliver_due(later(third, seconds=1800)) == 1

    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.status is MessageStatus.DELIVERED and message.attempts == 4
    assert [receipt.answered for receipt in receiver.at("flaky")] == [503, 503, 503, 200]
    assert len({receipt.webhook_id for receipt in receiver.at("flaky")}) == 1  # one message, four attempts


async def test_jitter_spreads_each_wait_around_the_schedule(platform: Platform) -> None:
    import random

    config = delivery_with(platform, retry_jitter=0.1).config
    rng = random.Random(7)
    waits = [config.retry_delay(2, rng).total_seconds() for _ in range(200)]
    assert 270 <= min(waits) < 285 and 315 < max(waits) <= 330
    assert config.max_attempts == 4

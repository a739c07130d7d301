"""A burst of events to 20 endpoints, 3 of them failing for a while, delivered by two processes' loops at once:
nothing lost, nothing accepted twice.

100 events by default (2,000 deliveries, about 10 s); `OBANK_WEBHOOKS_BURST=5000` runs the issue's full size
(100,000 deliveries, about 11 minutes), as `OBANK_PAYMENTS_STRESS` does for payments.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from sqlalchemy import func, select

from notifications.webhooks.models import MessageStatus, WebhookMessage, webhook_id
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import Publish, Register, delivery_with, payment_event
from tests.notifications.webhooks.receiver import Receiver

EVENTS = int(os.environ.get("OBANK_WEBHOOKS_BURST", "100"))
ENDPOINTS = 20
FAILING = 3
FAILURES = 60  # each failing endpoint answers 500 to its first requests, then recovers
DEADLINE_S = 60 + EVENTS * 0.2  # the full size took 650 s on a 2-core machine, receivers in-process

pytestmark = pytest.mark.timeout(DEADLINE_S + 60)


async def _statuses(platform: Platform) -> dict[MessageStatus, int]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(select(WebhookMessage.status, func.count()).group_by(WebhookMessage.status))
        return {status: count for status, count in rows}


async def test_a_burst_is_delivered_whole_and_once(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish
) -> None:
    names = [f"e{index:02d}" for index in range(ENDPOINTS)]
    endpoints = {}
    for index, name in enumerate(names):
        issued = await register(receiver.url(name), "payment.status_changed", ordered=index % 2 == 0)
        receiver.trust(name, issued.secret)
        endpoints[name] = issued.endpoint.id
        if index < FAILING:
            receiver.behave(name, fail_first=FAILURES, fail_status=500)
    events = [payment_event() for _ in range(EVENTS)]
    fast_retries = {"retry_schedule_s": (0.2, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), "retry_jitter": 0.1}
    # Two deliverers on one database, as two processes would be.
    deliverers = [delivery_with(platform, poll_interval_s=0.2, **fast_retries) for _ in range(2)]
    stop = asyncio.Event()
    await platform.listener.start()
    loops = [asyncio.create_task(deliverer.run(stop)) for deliverer in deliverers]
    started = time.monotonic()
    try:
        await publish(events)
        expected = EVENTS * ENDPOINTS
        while (await _statuses(platform)).get(MessageStatus.DELIVERED, 0) < expected:
            assert time.monotonic() - started < DEADLINE_S, await _statuses(platform)
            await asyncio.sleep(0.25)
    finally:
        stop.set()
        await asyncio.gather(*loops)
    assert await _statuses(platform) == {MessageStatus.DELIVERED: EVENTS * ENDPOINTS}

    payments = {event.payload["payment_id"] for event in events}
    async with unit_of_work(platform.sessions) as session:
        rows = (await session.execute(select(WebhookMessage.id, WebhookMessage.endpoint_id))).all()
    by_endpoint: dict[object, set[str]] = {}
    for message_id, endpoint_id in rows:
        by_endpoint.setdefault(endpoint_id, set()).add(webhook_id(message_id))
    for name in names:
        accepted = receiver.accepted_ids(name)
        assert set(accepted) == by_endpoint[endpoints[name]], name  # every message, and only those
        assert max(accepted.values()) == 1, name  # none accepted twice
        assert {receipt.payload["data"]["payment_id"] for receipt in receiver.accepted(name)} == payments
    assert all(receipt.verified for receipt in receiver.receipts)
    assert sum(1 for receipt in receiver.receipts if receipt.answered == 500) == FAILING * FAILURES

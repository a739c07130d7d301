"""A process killed while sending leaves its claims behind; when their lease ends another process sends them.

The receiver saw the first attempt too: the same `webhook-id` twice, the duplicate its idempotency key catches.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from notifications.webhooks.delivery import WebhookDelivery
from notifications.webhooks.models import MessageStatus, WebhookAttempt
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import PROJECT_ROOT, Settings
from tests.notifications.webhooks.conftest import Publish, Register, later, messages_of, payment_event
from tests.notifications.webhooks.receiver import Receiver


async def test_a_killed_processs_claims_are_delivered_by_another_after_the_lease(
    platform: Platform,
    settings: Settings,
    receiver: Receiver,
    register: Register,
    publish: Publish,
    delivery: WebhookDelivery,
) -> None:
    issued = await register(receiver.url("hangs"), "*")
    receiver.trust("hangs", issued.secret)
    receiver.behave("hangs", delay_s=30.0)  # answers long after the kill
    await publish([payment_event()])
    child_settings = settings.model_copy(update={"webhooks_timeout_s": 20.0, "webhooks_lease_s": 40.0})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.notifications.webhooks.delivery_process",
            "--settings",
            child_settings.model_dump_json(),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        deadline = time.monotonic() + 20
        while not receiver.behave("hangs").seen:  # the child claimed the message and its request arrived
            assert time.monotonic() < deadline, "the child never sent the message"
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    (claimed,) = await messages_of(platform, issued.endpoint.id)
    assert claimed.status is MessageStatus.PENDING and claimed.attempts_total == 1
    assert claimed.locked_until is not None

    receiver.behave("hangs", delay_s=0.0)
    # Before the lease ends the claim stands; after it another process takes the message over.
    assert await delivery.deliver_due(later(claimed.locked_until, seconds=-1)) == 0
    assert await delivery.deliver_due(later(claimed.locked_until, seconds=1)) == 1

    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.status is MessageStatus.DELIVERED and message.attempts_total == 2
    async with unit_of_work(platform.sessions) as session:
        numbers = list(
            await session.scalars(WebhookAttempt.__table__.select().with_only_columns(WebhookAttempt.attempt))
        )
    assert numbers == [2]  # the killed attempt left no record; its number is not reused
    assert receiver.behave("hangs").seen == 2  # the receiver saw both: one webhook-id, deduplicated there

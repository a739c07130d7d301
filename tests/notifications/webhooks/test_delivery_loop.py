"""The background loop as `obank serve` runs it: woken by new messages at commit; a slow receiver delays only
itself; a receiver past the timeout fails its attempt; addresses are checked at every delivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from notifications.webhooks.models import MessageStatus
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import Publish, Register, delivery_with, messages_of, payment_event
from tests.notifications.webhooks.receiver import Receiver


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_slow_receiver_never_delays_the_others(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish
) -> None:
    slow = await register(receiver.url("slow"), "*")
    fast = await register(receiver.url("fast"), "*")
    receiver.trust("slow", slow.secret)
    receiver.trust("fast", fast.secret)
    receiver.behave("slow", delay_s=2.0)
    deliverer = delivery_with(platform, endpoint_concurrency=2, poll_interval_s=5.0)
    stop = asyncio.Event()
    loop = asyncio.create_task(deliverer.run(stop))
    try:
        await platform.listener.start()
        started = time.monotonic()
        await publish([payment_event() for _ in range(20)])  # woken by the insert's NOTIFY, not the 5 s poll
        await _until(lambda: len(receiver.accepted("fast")) == 20)
        fast_done = time.monotonic() - started
        assert fast_done < 1.5, fast_done
        assert len(receiver.accepted("slow")) <= 2  # two at a time, two seconds each
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
    assert all(receipt.verified for receipt in receiver.receipts)


async def test_an_answer_later_than_the_timeout_fails_the_attempt(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish
) -> None:
    issued = await register(receiver.url("late"), "*")
    receiver.trust("late", issued.secret)
    receiver.behave("late", delay_s=1.5)
    async with delivery_with(platform, timeout_s=0.5) as deliverer:
        await publish([payment_event()])
        assert await deliverer.deliver_due() == 1
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.status is MessageStatus.PENDING and message.attempts == 1
    assert message.last_response_status is None and "Timeout" in (message.last_error or "")


async def test_a_host_name_resolves_to_an_address_checked_at_delivery(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish
) -> None:
    by_name = await register(receiver.url("named", host="localhost"), "*")
    by_address = await register(receiver.url("literal"), "*")
    receiver.trust("named", by_name.secret)
    receiver.trust("literal", by_address.secret)
    await publish([payment_event()])
    # The name resolves to loopback, and the certificate names localhost: delivered where private networks are
    # allowed...
    async with delivery_with(platform) as deliverer:
        assert await deliverer.deliver_due() == 2
    assert len(receiver.accepted("named")) == 1 and len(receiver.accepted("literal")) == 1
    # ...and refused, at delivery, where they are not (as if the name had been re-pointed at an internal address).
    await publish([payment_event()])
    async with delivery_with(platform, allow_private_networks=False) as deliverer:
        assert await deliverer.deliver_due() == 2
    assert len(receiver.receipts) == 2
    for endpoint in (by_name, by_address):
        last = (await messages_of(platform, endpoint.endpoint.id))[-1]
        assert (last.status, last.last_error) == (MessageStatus.PENDING, "ForbiddenDestination")

"""An endpoint that asked for order receives each account's messages one at a time, in order, across failures;
other accounts' messages are not held back."""

from __future__ import annotations

import uuid

from notifications.webhooks.delivery import WebhookDelivery
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import Publish, Register, database_now, later, messages_of, payment_event
from tests.notifications.webhooks.receiver import Receiver


async def test_one_accounts_messages_keep_their_order_across_a_failure(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish, delivery: WebhookDelivery
) -> None:
    issued = await register(receiver.url("ledger"), "payment.status_changed", ordered=True)
    receiver.trust("ledger", issued.secret)
    receiver.behave("ledger", fail_first=1)  # the first request (account A's first message) fails
    alice, bob = uuid.uuid4(), uuid.uuid4()
    events = [
        payment_event(account=alice, amount_minor=1),
        payment_event(account=alice, amount_minor=2),
        payment_event(account=bob, amount_minor=10),
        payment_event(account=alice, amount_minor=3),
    ]
    await publish(events)
    keys = [message.ordering_key for message in await messages_of(platform, issued.endpoint.id)]
    assert keys == [str(alice), str(alice), str(bob), str(alice)]
    start = await database_now(platform)

    await delivery.deliver_due(start)
    # Alice's first failed: her later ones wait; Bob's went.
    assert [r.payload["data"]["amount_minor"] for r in receiver.accepted("ledger")] == [10]
    assert [r.payload["data"]["amount_minor"] for r in receiver.at("ledger")] == [1, 10]

    await delivery.deliver_due(later(start, seconds=5))
    assert [r.payload["data"]["amount_minor"] for r in receiver.accepted("ledger")] == [10, 1, 2, 3]


async def test_an_unordered_endpoint_gets_no_ordering_key(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish
) -> None:
    issued = await register(receiver.url("any"), "*")
    await publish([payment_event(account=uuid.uuid4())])
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.ordering_key is None

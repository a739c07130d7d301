"""After the last attempt a message is dead-lettered; staff replay it, and it is delivered once."""

from __future__ import annotations

import httpx

from notifications.webhooks.delivery import WebhookDelivery
from notifications.webhooks.models import MessageStatus
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import Publish, Register, database_now, later, messages_of, payment_event
from tests.notifications.webhooks.receiver import Receiver


async def _dead_letter(
    platform: Platform, receiver: Receiver, register: Register, publish: Publish, delivery: WebhookDelivery
) -> tuple[str, str]:
    """An endpoint whose receiver answered 500 to every attempt of one message: (endpoint id, message id)."""
    issued = await register(receiver.url("down"), "payment.status_changed")
    receiver.trust("down", issued.secret)
    receiver.behave("down", status=500)
    await publish([payment_event()])
    moment = await database_now(platform)
    for wait in (0, 5, 300, 1800):  # the test schedule: four attempts in all
        moment = later(moment, seconds=wait)
        assert await delivery.deliver_due(moment) == 1
    assert await delivery.deliver_due(later(moment, days=2)) == 0  # nothing after the last
    (message,) = await messages_of(platform, issued.endpoint.id)
    assert message.status is MessageStatus.DEAD and message.attempts == 4 and message.finished_at is not None
    return str(issued.endpoint.id), str(message.id)


async def test_a_dead_letter_is_listed_and_replayed_once(
    platform: Platform,
    receiver: Receiver,
    register: Register,
    publish: Publish,
    delivery: WebhookDelivery,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    endpoint_id, message_id = await _dead_letter(platform, receiver, register, publish, delivery)
    dead = await client.get("/admin/v1/webhooks/messages", params={"status": "DEAD"}, headers=admin)
    assert [item["id"] for item in dead.json()] == [message_id]
    detail = (await client.get(f"/admin/v1/webhooks/messages/{message_id}", headers=admin)).json()
    assert [attempt["response_status"] for attempt in detail["attempt_log"]] == [500, 500, 500, 500]
    assert detail["payload"]["type"] == "payment.status_changed"

    receiver.behave("down", status=204)  # the integrator fixed their receiver
    replayed = await client.post(f"/admin/v1/webhooks/messages/{message_id}/replay", headers=admin)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "PENDING" and replayed.json()["attempts"] == 0
    again = await client.post(f"/admin/v1/webhooks/messages/{message_id}/replay", headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "webhook_message_not_replayable"

    assert await delivery.deliver_due() == 1
    assert await delivery.deliver_due() == 0
    assert receiver.accepted_ids("down") == {detail["webhook_id"]: 1}
    delivered = await client.post(f"/admin/v1/webhooks/messages/{detail['webhook_id']}/replay", headers=admin)
    assert delivered.status_code == 409  # a delivered message is not replayed
    detail = (await client.get(f"/admin/v1/webhooks/messages/{message_id}", headers=admin)).json()
    assert detail["status"] == "DELIVERED"
    assert [attempt["attempt"] for attempt in detail["attempt_log"]] == [1, 2, 3, 4, 5]
    assert endpoint_id == detail["endpoint_id"]


async def test_every_dead_letter_of_an_endpoint_is_replayed(
    platform: Platform,
    receiver: Receiver,
    register: Register,
    publish: Publish,
    delivery: WebhookDelivery,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    endpoint_id, _ = await _dead_letter(platform, receiver, register, publish, delivery)
    receiver.behave("down", status=200)
    replayed = await client.post(f"/admin/v1/webhooks/endpoints/{endpoint_id}/replay-dead", headers=admin)
    assert replayed.json() == {"replayed": 1}
    assert await delivery.deliver_due() == 1
    listed = await client.get(f"/admin/v1/webhooks/endpoints/{endpoint_id}/messages?status=DEAD", headers=admin)
    assert listed.json() == []

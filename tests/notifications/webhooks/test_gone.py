"""A receiver answering 410 Gone disables its endpoint; its messages wait for staff to enable it again."""

from __future__ import annotations

import httpx

from notifications.webhooks.delivery import WebhookDelivery
from notifications.webhooks.models import DisabledReason, MessageStatus
from notifications.webhooks.repository import get_endpoint
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import Publish, Register, messages_of, payment_event
from tests.notifications.webhooks.receiver import Receiver


async def test_410_disables_the_endpoint_and_enabling_resumes_it(
    platform: Platform,
    receiver: Receiver,
    register: Register,
    publish: Publish,
    delivery: WebhookDelivery,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    gone = await register(receiver.url("gone"), "*")
    other = await register(receiver.url("other"), "*")
    receiver.trust("gone", gone.secret)
    receiver.trust("other", other.secret)
    receiver.behave("gone", fail_first=1, fail_status=410)
    await publish([payment_event()])

    assert await delivery.deliver_due() == 2
    async with unit_of_work(platform.sessions) as session:
        endpoint = await get_endpoint(session, gone.endpoint.id)
    assert endpoint is not None and not endpoint.enabled and endpoint.disabled_reason is DisabledReason.GONE
    (held,) = await messages_of(platform, gone.endpoint.id)
    assert held.status is MessageStatus.PENDING and held.last_response_status == 410
    assert len(receiver.accepted("other")) == 1  # the other endpoint is not affected

    await publish([payment_event()])  # a disabled endpoint gets no new messages
    assert len(await messages_of(platform, gone.endpoint.id)) == 1
    assert await delivery.deliver_due() == 1  # only the other endpoint's
    read = (await client.get(f"/admin/v1/webhooks/endpoints/{gone.endpoint.id}", headers=admin)).json()
    assert (read["enabled"], read["disabled_reason"]) == (False, "GONE")

    enabled = await client.patch(
        f"/admin/v1/webhooks/endpoints/{gone.endpoint.id}", json={"enabled": True}, headers=admin
    )
    assert enabled.status_code == 200 and enabled.json()["disabled_reason"] is None
    assert await delivery.deliver_due() == 1
    assert receiver.accepted_ids("gone") == {receiver.at("gone")[0].webhook_id: 1}

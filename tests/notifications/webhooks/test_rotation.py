"""A rotated secret keeps signing beside the new one until the overlap ends; then only the new one signs."""

from __future__ import annotations

import httpx

from notifications.webhooks.delivery import WebhookDelivery
from obank.runtime import Platform
from tests.notifications.webhooks.conftest import Publish, Register, database_now, later, payment_event
from tests.notifications.webhooks.receiver import Receiver


async def test_both_secrets_sign_during_the_overlap_and_the_old_one_stops_after_it(
    platform: Platform,
    receiver: Receiver,
    register: Register,
    publish: Publish,
    delivery: WebhookDelivery,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    issued = await register(receiver.url("old"), "*")
    old_secret = issued.secret
    endpoint_id = issued.endpoint.id
    rotated = await client.post(f"/admin/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", headers=admin)
    assert rotated.status_code == 201, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != old_secret
    assert rotated.json()["previous_secret_expires_at"] is not None
    # During the overlap, a receiver still on the old secret and one already on the new both verify.
    receiver.trust("old", old_secret)
    await publish([payment_event()])
    now = await database_now(platform)
    assert await delivery.deliver_due(now) == 1
    (during,) = receiver.at("old")
    assert during.verified and len(during.headers["webhook-signature"].split(" ")) == 2

    receiver.trust("old", new_secret)
    await publish([payment_event()])
    now = await database_now(platform)
    assert await delivery.deliver_due(now) == 1
    assert all(receipt.verified for receipt in receiver.at("old"))

    # A day and an hour on, the old secret signs no more: a receiver still on it refuses (401, retried).
    after = later(now, hours=25)
    receiver.trust("old", old_secret)
    await publish([payment_event()])
    assert await delivery.deliver_due(after) == 1
    last = receiver.at("old")[-1]
    assert not last.verified and len(last.headers["webhook-signature"].split(" ")) == 1
    receiver.trust("old", new_secret)
    assert await delivery.deliver_due(later(after, seconds=5)) == 1
    assert receiver.at("old")[-1].verified

"""The consumer turns each event integrators may receive into one message per subscribed, enabled endpoint, once,
carrying only the catalogue's fields."""

from __future__ import annotations

import json
import uuid

from notifications.webhooks.catalogue import CATALOGUE, TOPICS
from notifications.webhooks.consumers import CONSUMER_NAME, fan_out, webhook_fanout_consumer
from notifications.webhooks.models import MessageStatus
from notifications.webhooks.schemas import EndpointUpdate
from notifications.webhooks.service import EndpointRules, update_endpoint
from obank.database import unit_of_work
from obank.outbox.consumers import apply_once
from obank.outbox.record import Event, NewEvent
from obank.runtime import Platform
from obank.topics import CONSENTS_TOPIC, PAYMENTS_TOPIC
from obank.unit_of_work import UnitsOfWork
from tests.notifications.webhooks.conftest import STAFF, Publish, Register, messages_of, payment_event


def _event(new: NewEvent) -> Event:
    return Event(uuid.uuid4(), new.topic, new.event_type, new.key, new.payload, "corr-1")


async def test_each_event_becomes_one_message_per_subscribed_endpoint_once(
    platform: Platform, register: Register, units: UnitsOfWork, rules: EndpointRules
) -> None:
    named = await register("https://127.0.0.1:9/named", "payment.status_changed")
    everything = await register("https://127.0.0.1:9/all", "*")
    elsewhere = await register("https://127.0.0.1:9/payees", "payee.added")
    disabled = await register("https://127.0.0.1:9/off", "*")
    async with units.begin(STAFF) as uow:
        await update_endpoint(uow, disabled.endpoint.id, EndpointUpdate(enabled=False), rules)
    event = _event(payment_event())
    consumer = webhook_fanout_consumer()

    assert await apply_once(platform.sessions, consumer, event)
    assert not await apply_once(platform.sessions, consumer, event)  # redelivered: skipped
    async with unit_of_work(platform.sessions) as session:
        assert await fan_out(session, event) == 0  # and the (endpoint, event) key refuses it besides

    for endpoint, count in ((named, 1), (everything, 1), (elsewhere, 0), (disabled, 0)):
        messages = await messages_of(platform, endpoint.endpoint.id)
        assert len(messages) == count
        assert all(
            message.status is MessageStatus.PENDING and message.event_id == event.event_id for message in messages
        )
    assert consumer.name == CONSUMER_NAME and PAYMENTS_TOPIC in TOPICS


async def test_events_outside_the_catalogue_are_not_sent(
    platform: Platform, register: Register, publish: Publish
) -> None:
    issued = await register("https://127.0.0.1:9/all", "*")
    await publish([payment_event("payment.screened"), payment_event("payment.fraud_decision")])
    assert await messages_of(platform, issued.endpoint.id) == []


async def test_data_holds_the_catalogues_fields_and_no_personal_data(
    platform: Platform, register: Register, publish: Publish
) -> None:
    issued = await register("https://127.0.0.1:9/consents", "consent.authorised")
    consent = {
        "consent_id": "pdc-1",
        "kind": "DOMESTIC_PAYMENT",
        "client_id": "tpp-1",
        "status": "AUTHORISED",
        "customer_id": str(uuid.uuid4()),
        "account_ids": [str(uuid.uuid4())],
        "revoked_by": None,
        # What a payment consent's snapshot also carries, which must never reach a receiver:
        "creditor_name": "Alan Turing",
        "creditor_identification": "40051576262352",
        "reference": "Rent for Alan",
        "debtor_name": "Alice Example",
        "debtor_identification": "04007512345678",
        "initiation": {"CreditorAccount": {"Name": "Alan Turing"}},
    }
    await publish([NewEvent(topic=CONSENTS_TOPIC, event_type="consent.authorised", key="pdc-1", payload=consent)])
    (message,) = await messages_of(platform, issued.endpoint.id)
    body = json.loads(message.body)
    assert body["data"] == {key: consent[key] for key in CATALOGUE["consent.authorised"].fields if key in consent}
    for personal in ("Alan Turing", "Alice Example", "40051576262352", "Rent for Alan"):
        assert personal not in message.body


def test_the_catalogue_names_published_topics_and_no_personal_fields() -> None:
    personal = {"name", "full_name", "email", "phone", "address", "creditor_name", "debtor_name", "reference"}
    personal |= {"creditor_identification", "debtor_identification", "description", "initiation", "risk"}
    for entry in CATALOGUE.values():
        assert not personal & set(entry.fields), entry.name
        assert entry.account_field is None or entry.account_field in entry.fields
        assert entry.topic.startswith("core_banking.")

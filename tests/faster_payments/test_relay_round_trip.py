"""The whole loop as it runs embedded: the bank's outbox event → relay → the scheme → dispatcher → the bank's topic."""

from __future__ import annotations

from faster_payments.consumers import SCHEME_CONSUMER, scheme_consumer
from faster_payments.dispatcher import dispatch_due
from faster_payments.messages import StatusReport, TransactionStatus, decode, encode
from obank.database import unit_of_work
from obank.outbox import ConsumerRegistry, InProcessPublisher, OutboxRelay, record_event
from obank.runtime import Platform
from obank.topics import FPS_TO_SCHEME_TOPIC
from tests.faster_payments.conftest import bank_payment, outbox_to_bank


async def test_a_payment_published_by_the_bank_is_answered_on_the_banks_topic(scheme: Platform) -> None:
    registry = ConsumerRegistry()
    consumer = registry.register(scheme_consumer(scheme.keyring))
    assert consumer.name == SCHEME_CONSUMER == "faster_payments.clearing"
    relay = OutboxRelay(scheme.sessions, InProcessPublisher(registry, scheme.sessions))
    payment = bank_payment()
    definition, xml = encode(payment)
    async with unit_of_work(scheme.sessions) as session:
        await record_event(
            session, topic=FPS_TO_SCHEME_TOPIC, event_type=definition, key=payment.transaction_id, payload={"xml": xml}
        )

    assert await relay.run_once() == 1  # the scheme's consumer cleared it
    assert await dispatch_due(scheme.sessions) == 1

    (answer,) = await outbox_to_bank(scheme.sessions)
    report = decode(answer.event_type, answer.payload["xml"])
    assert isinstance(report, StatusReport)
    assert (report.original_transaction_id, report.status) == (payment.transaction_id, TransactionStatus.ACSC)

"""Features rebuilt from the outbox after a restart give the same decisions as features kept event by event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from fraud.decisions import Decision, PaymentFacts, Recommendation
from fraud.engine import FraudEngine
from fraud.features.consumers import FEATURES_CONSUMER, features_consumer
from fraud.features.models import CustomerProfile, MuleAccount, PaymentAttempt, SignIn
from fraud.features.rebuild import rebuild_features
from fraud.features.service import mark_mule
from obank.actor import Actor
from obank.database import unit_of_work
from obank.outbox.consumers import apply_once
from obank.outbox.models import ConsumedEvent, OutboxEvent
from obank.outbox.record import Event
from obank.outbox.repository import to_event
from obank.runtime import Platform, build_platform
from obank.unit_of_work import UnitsOfWork
from tests.fraud.factories import creditor, facts, payee_added, payment_payload, security, settled, signed_in, submitted

ACTOR = Actor.system("fraud-tests")


async def publish(units: UnitsOfWork, *events: Event) -> None:
    """Record the events as their publishers do: through a unit of work, into the outbox at commit."""
    async with units.begin(ACTOR) as uow:
        for each in events:
            uow.publish(topic=each.topic, event_type=each.event_type, key=each.key, payload=each.payload)


async def deliver_all(platform: Platform) -> int:
    """Hand every outbox event to the features consumer, as the relay does (each applied once)."""
    async with platform.sessions() as session:
        rows = (await session.execute(select(OutboxEvent).order_by(OutboxEvent.position))).scalars().all()
    consumer = features_consumer()
    applied = 0
    for row in rows:
        if row.topic in consumer.topics:
            applied += await apply_once(platform.sessions, consumer, to_event(row))
    return applied


async def decisions(platform: Platform, payments: list[PaymentFacts]) -> list[Decision]:
    engine = FraudEngine.for_platform(platform)
    return [await engine.decide(payment) for payment in payments]


async def test_rebuilt_features_give_the_same_decisions_after_a_restart(platform: Platform, units: UnitsOfWork) -> None:
    # Sign-ins are dated by their events, which the outbox dates now: the story happens in the last days.
    now = datetime.now(UTC).replace(microsecond=0)
    customer, payee = uuid.uuid4(), uuid.uuid4()
    history = [
        facts(customer, 4_000 + 250 * (n % 4), now - timedelta(days=n + 1), creditor_account=creditor(1 + n % 2))
        for n in range(12)
    ]
    await publish(units, *(settled(payment) for payment in history))
    await publish(units, signed_in(customer, now, session_id="home", country="GB", device_hash="aa"))
    await publish(units, signed_in(customer, now, session_id="laptop", country="GB", device_hash="bb"))
    await publish(units, security("identity.password_changed", customer, now))
    await publish(units, payee_added(customer, payee, now - timedelta(minutes=30), now + timedelta(hours=23)))
    burst = [
        facts(customer, 10_000, now - timedelta(minutes=15 + 10 * n), creditor_account=creditor(7)) for n in range(3)
    ]
    await publish(units, *(submitted(payment) for payment in burst))
    async with units.begin(ACTOR) as uow:
        await mark_mule(uow, creditor(66), reason="known mule")
    assert await deliver_all(platform) == 12 + 2 + 1 + 1 + 3

    at = now + timedelta(minutes=1)  # after the sign-ins and the password change
    payments = [
        facts(customer, 4_500, at, creditor_account=creditor(1), session_id="home"),  # habitual
        facts(customer, 91_000, at, creditor_account=creditor(3), session_id="laptop"),  # large, new, new device
        facts(customer, 20_500, at, creditor_account=creditor(4), payee_id=payee, session_id="home"),  # takeover
        facts(customer, 9_000 + 1_000, at, creditor_account=creditor(7)),  # the fourth round amount in the hour
        facts(customer, 4_500, at, creditor_account=creditor(66)),  # to a mule
        facts(uuid.uuid4(), 250_000, at, creditor_account=creditor(1)),  # a customer without history
    ]
    kept = await decisions(platform, payments)
    assert [{hit.rule for hit in decision.rules} for decision in kept] == [
        set(),
        {"amount_anomaly", "new_payee_large_amount", "new_device", "account_takeover"},
        {"amount_anomaly", "new_payee_large_amount", "payee_cooling_off", "account_takeover"},
        {"round_amount_burst", "account_takeover"},
        {"mule_account"},
        {"amount_cold_start", "new_payee_large_amount"},
    ]
    assert [decision.recommendation for decision in kept] == [
        Recommendation.APPROVE,
        *[Recommendation.BLOCK] * 4,
        Recommendation.REVIEW,
    ]

    # Lose a feature table's content, then recover it from the outbox.
    async with unit_of_work(platform.sessions) as session:
        await session.execute(delete(CustomerProfile))
        await session.execute(delete(SignIn))
    assert await decisions(platform, payments) != kept
    replayed = await rebuild_features(platform.sessions)
    async with platform.sessions() as session:
        outbox_events = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic != "fraud.lists")
        )
        consumed = await session.scalar(
            select(func.count()).select_from(ConsumedEvent).where(ConsumedEvent.consumer == FEATURES_CONSUMER)
        )
        mules = await session.scalar(select(func.count()).select_from(MuleAccount))
    assert replayed == outbox_events == consumed == 19
    assert mules == 1  # analysts' decisions are not rebuilt away

    # A restart: every connection and session of the old process gone, a new platform and engine.
    await platform.engine.dispose()
    restarted = build_platform(platform.settings)
    try:
        assert await decisions(restarted, payments) == kept
        assert await deliver_all(restarted) == 0  # what the rebuild replayed is not applied again
        async with restarted.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(PaymentAttempt)) == 3
    finally:
        await restarted.close()


async def test_rebuild_of_an_empty_outbox_empties_the_features(platform: Platform) -> None:
    customer = uuid.uuid4()
    payment = facts(customer, 1_000, datetime.now(UTC))
    async with unit_of_work(platform.sessions) as session:
        session.add(
            PaymentAttempt(
                payment_id=payment.payment_id,
                customer_id=customer,
                amount_minor=1_000,
                currency="GBP",
                created_at=payment.created_at,
            )
        )
    assert payment_payload(payment, "PDNG")["payment_id"] == str(payment.payment_id)
    assert await rebuild_features(platform.sessions) == 0
    async with platform.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentAttempt)) == 0

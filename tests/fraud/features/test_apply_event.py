"""`apply_event`: each event type of the contract updates the features it feeds, once, in any order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from fraud.features.models import CustomerProfile, KnownCreditor, KnownDevice, PaymentAttempt, SavedPayee, SignIn
from fraud.features.service import RECENT_AMOUNTS, apply_event
from obank.database import unit_of_work
from obank.outbox.record import Event
from obank.runtime import Platform
from tests.fraud.factories import (
    creditor,
    event,
    facts,
    held,
    payee_added,
    rejected,
    security,
    settled,
    signed_in,
    submitted,
    transfer,
)

AT = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)  # 14:30 in London


async def apply(platform: Platform, *events: Event) -> None:
    async with unit_of_work(platform.sessions) as session:
        for each in events:
            await apply_event(session, each)


async def profile(platform: Platform, customer_id: uuid.UUID) -> CustomerProfile | None:
    async with platform.sessions() as session:
        return await session.get(CustomerProfile, customer_id)


async def test_submitted_and_held_payments_are_attempts_recorded_once(platform: Platform) -> None:
    customer = uuid.uuid4()
    payment = facts(customer, 12_345, AT)
    await apply(platform, held(payment), submitted(payment), submitted(payment))
    async with platform.sessions() as session:
        attempts = (await session.execute(select(PaymentAttempt))).scalars().all()
    assert [(a.payment_id, a.customer_id, a.amount_minor, a.currency, a.created_at) for a in attempts] == [
        (payment.payment_id, customer, 12_345, "GBP", AT)
    ]


async def test_a_settled_payment_joins_the_customers_habits_and_known_creditors(platform: Platform) -> None:
    customer = uuid.uuid4()
    first = facts(customer, 5_000, AT, creditor_account=creditor(7))
    second = facts(customer, 7_000, AT + timedelta(days=1), creditor_account=creditor(7))
    await apply(platform, settled(second), settled(first))  # out of order
    habits = await profile(platform, customer)
    assert habits is not None
    assert habits.settled_count == 2
    assert habits.recent_amounts == [7_000, 5_000]  # newest first, whatever the arrival order
    assert habits.hour_counts[14] == 2 and sum(habits.hour_counts) == 2
    async with platform.sessions() as session:
        known = await session.get(KnownCreditor, (customer, creditor(7)))
    assert known is not None
    assert (known.paid_count, known.first_paid_at, known.last_paid_at) == (2, AT, AT + timedelta(days=1))


async def test_the_habits_keep_only_the_latest_amounts(platform: Platform) -> None:
    customer = uuid.uuid4()
    payments = [facts(customer, 100 + n, AT + timedelta(minutes=n)) for n in range(RECENT_AMOUNTS + 3)]
    await apply(platform, *(settled(payment) for payment in reversed(payments)))
    habits = await profile(platform, customer)
    assert habits is not None
    assert habits.settled_count == RECENT_AMOUNTS + 3
    assert habits.recent_amounts == [100 + n for n in reversed(range(3, RECENT_AMOUNTS + 3))]


async def test_rejected_payments_and_other_events_change_no_habit(platform: Platform) -> None:
    customer = uuid.uuid4()
    payment = facts(customer, 5_000, AT)
    flagged = event("core_banking.payments", "payment.fraud_flagged", "k", {"customer_id": str(customer)}, AT)
    await apply(platform, rejected(payment), flagged, event("core_banking.consents", "consent.created", "k", {}, AT))
    assert await profile(platform, customer) is None


async def test_transfers_make_known_creditors_and_only_others_accounts_make_habits(platform: Platform) -> None:
    customer = uuid.uuid4()
    await apply(platform, transfer(customer, 20_000, AT, creditor(1), own=True))
    assert await profile(platform, customer) is None
    await apply(platform, transfer(customer, 3_000, AT, creditor(2), own=False))
    habits = await profile(platform, customer)
    assert habits is not None and habits.recent_amounts == [3_000]
    async with platform.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(KnownCreditor))
    assert count == 2


async def test_an_added_payee_is_kept_with_its_cooling_off(platform: Platform) -> None:
    customer, payee = uuid.uuid4(), uuid.uuid4()
    await apply(platform, payee_added(customer, payee, AT, AT + timedelta(days=1)))
    async with platform.sessions() as session:
        saved = await session.get(SavedPayee, payee)
    assert saved is not None
    assert (saved.customer_id, saved.added_at, saved.cooling_off_until) == (customer, AT, AT + timedelta(days=1))


async def test_sign_ins_record_country_device_and_whether_it_was_new(platform: Platform) -> None:
    customer = uuid.uuid4()
    await apply(
        platform,
        signed_in(customer, AT, session_id="s1", country="GB", device_hash="AA11"),
        signed_in(customer, AT + timedelta(hours=1), session_id="s2", country="gb", device_hash="aa11"),
        signed_in(customer, AT + timedelta(hours=2), session_id="s3", country="FR", device_hash="bb22"),
        signed_in(None, AT, session_id="staff", country="GB", device_hash="cc33"),  # a staff member: ignored
        signed_in(customer, AT + timedelta(hours=3), session_id="s4", country="Germany", device_hash="not hex"),
    )
    async with platform.sessions() as session:
        sign_ins = (await session.execute(select(SignIn).order_by(SignIn.signed_in_at))).scalars().all()
        devices = (await session.execute(select(KnownDevice.device_hash))).scalars().all()
    assert [(s.session_id, s.country, s.device_hash, s.new_device) for s in sign_ins] == [
        ("s1", "GB", "aa11", False),  # the first device ever is no news
        ("s2", "GB", "aa11", False),
        ("s3", "FR", "bb22", True),
        ("s4", None, None, False),
    ]
    assert sorted(devices) == ["aa11", "bb22"]


async def test_credential_changes_are_dated_on_the_profile(platform: Platform) -> None:
    customer = uuid.uuid4()
    await apply(
        platform,
        security("identity.password_changed", customer, AT + timedelta(hours=2)),
        security("identity.password_reset", customer, AT),  # older, arriving later: the latest stays
        security("mfa.enrolled", customer, AT + timedelta(hours=1)),
        security("identity.password_changed", None, AT + timedelta(hours=5)),  # staff
    )
    habits = await profile(platform, customer)
    assert habits is not None
    assert (habits.password_changed_at, habits.totp_changed_at) == (AT + timedelta(hours=2), AT + timedelta(hours=1))


async def test_a_malformed_event_is_skipped_without_changing_anything(platform: Platform) -> None:
    customer = uuid.uuid4()
    payment = facts(customer, 5_000, AT)
    broken = settled(payment)
    broken.payload["amount_minor"] = "5000"
    no_id = submitted(payment)
    del no_id.payload["payment_id"]
    bad_time = payee_added(customer, uuid.uuid4(), AT, AT)
    bad_time.payload["created_at"] = "yesterday"
    await apply(platform, broken, no_id, bad_time)
    async with platform.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PaymentAttempt)) == 0
        assert await session.scalar(select(func.count()).select_from(SavedPayee)) == 0
        assert await session.scalar(select(func.count()).select_from(CustomerProfile)) == 0

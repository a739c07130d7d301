"""`purge_features`: attempts, sign-ins and payees older than any rule looks back are forgotten; nothing newer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fraud.features.jobs import PAYEE_RETENTION, purge_features
from fraud.features.models import PaymentAttempt, SavedPayee, SignIn
from fraud.features.service import apply_event
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.fraud.factories import facts, payee_added, signed_in, submitted

DUE = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)


async def test_purge_keeps_what_the_rules_still_read(platform: Platform) -> None:
    settings = platform.settings
    customer = uuid.uuid4()
    attempts_edge = DUE - timedelta(seconds=settings.fraud_attempts_retention_s)
    sign_ins_edge = DUE - timedelta(days=settings.fraud_sign_in_history_days)
    payees_edge = DUE - PAYEE_RETENTION
    old_attempt, kept_attempt = (
        facts(customer, 1, attempts_edge - timedelta(seconds=1)),
        facts(customer, 1, attempts_edge),
    )
    old_payee, kept_payee = uuid.uuid4(), uuid.uuid4()
    async with unit_of_work(platform.sessions) as session:
        for each in (
            submitted(old_attempt),
            submitted(kept_attempt),
            signed_in(customer, sign_ins_edge - timedelta(seconds=1), session_id="old", country="GB", device_hash="a"),
            signed_in(customer, sign_ins_edge, session_id="kept", country="GB", device_hash="a"),
            payee_added(customer, old_payee, payees_edge - timedelta(days=2), payees_edge - timedelta(seconds=1)),
            payee_added(customer, kept_payee, payees_edge - timedelta(days=2), payees_edge),
        ):
            await apply_event(session, each)

    assert await purge_features(platform, DUE) == {"attempts": 1, "sign_ins": 1, "payees": 1}
    async with platform.sessions() as session:
        assert (await session.execute(select(PaymentAttempt.payment_id))).scalars().all() == [kept_attempt.payment_id]
        assert (await session.execute(select(SignIn.session_id))).scalars().all() == ["kept"]
        assert (await session.execute(select(SavedPayee.payee_id))).scalars().all() == [kept_payee]
    assert await purge_features(platform, DUE) == {"attempts": 0, "sign_ins": 0, "payees": 0}

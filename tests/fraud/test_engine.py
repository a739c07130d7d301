"""The engine: one statement per decision, features as they stood before the payment, sign-in assessments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event

from fraud.decisions import Recommendation, SignInFacts
from fraud.engine import FraudEngine
from fraud.features.service import allow_creditor, apply_event, mark_mule
from obank.actor import Actor
from obank.database import unit_of_work
from obank.outbox.record import Event
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.fraud.factories import creditor, facts, payee_added, security, settled, signed_in, submitted

AT = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
ANALYST = Actor.system("fraud-tests")


async def apply(platform: Platform, *events: Event) -> None:
    async with unit_of_work(platform.sessions) as session:
        for each in events:
            await apply_event(session, each)


@contextmanager
def statements(platform: Platform) -> Iterator[list[str]]:
    """The SQL statements the platform's engine runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa_event.listen(platform.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(platform.engine.sync_engine, "before_cursor_execute", record)


async def habitual_customer(platform: Platform, *, payments: int = 10) -> uuid.UUID:
    """A customer who paid creditor 1 about £50 every day at 14:30 London time."""
    customer = uuid.uuid4()
    history = [
        facts(customer, 5_000 + 100 * (n % 3), AT - timedelta(days=n + 1), creditor_account=creditor(1))
        for n in range(payments)
    ]
    await apply(platform, *(settled(payment) for payment in history))
    return customer


async def test_decide_reads_everything_in_one_statement(platform: Platform) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = await habitual_customer(platform)
    await apply(platform, signed_in(customer, AT - timedelta(minutes=5), session_id="s", country="GB", device_hash="a"))
    payment = facts(customer, 5_000, AT, creditor_account=creditor(1), payee_id=uuid.uuid4(), session_id="s")
    await engine.decide(payment)  # warm the pool and the geolocation
    with statements(platform) as seen:
        decision = await engine.decide(payment)
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT")
    assert decision.recommendation is Recommendation.APPROVE
    assert decision.engine == "rules-v1"


async def test_the_decision_does_not_depend_on_the_payments_own_attempt(platform: Platform) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = await habitual_customer(platform)
    earlier = [facts(customer, 1_000, AT - timedelta(minutes=n + 1)) for n in range(4)]
    same_time = facts(customer, 1_000, AT)  # made at the same instant: not before this payment
    later = facts(customer, 1_000, AT + timedelta(seconds=1))
    await apply(platform, *(submitted(payment) for payment in [*earlier, same_time, later]))
    payment = facts(customer, 1_000, AT)
    before = await engine.decide(payment)
    await apply(platform, submitted(payment))
    after = await engine.decide(payment)
    assert before == after
    assert [hit.rule for hit in before.rules] == ["velocity"]  # four earlier attempts and this one


async def test_a_large_payment_to_a_mule_from_a_new_device_is_blocked(platform: Platform, units: UnitsOfWork) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = await habitual_customer(platform)
    await apply(
        platform,
        signed_in(customer, AT - timedelta(days=3), session_id="old", country="GB", device_hash="aa"),
        signed_in(customer, AT - timedelta(minutes=3), session_id="new", country="GB", device_hash="bb"),
    )
    payment = facts(customer, 400_000, AT, creditor_account=creditor(9), session_id="new")
    decision = await engine.decide(payment)
    assert {hit.rule for hit in decision.rules} == {"amount_anomaly", "new_payee_large_amount", "new_device"}
    assert decision.recommendation is Recommendation.BLOCK
    async with units.begin(ANALYST) as uow:
        await mark_mule(uow, creditor(9), reason="reported by the receiving bank")
        await allow_creditor(uow, customer, creditor(9), until=None)
    allowed = await engine.decide(payment)
    assert [hit.rule for hit in allowed.rules] == ["mule_account", "new_device"]
    assert allowed.recommendation is Recommendation.BLOCK


async def test_an_account_takeover_is_stopped(platform: Platform) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = await habitual_customer(platform)
    payee = uuid.uuid4()
    await apply(
        platform,
        security("identity.password_changed", customer, AT - timedelta(hours=3)),
        payee_added(customer, payee, AT - timedelta(hours=2), AT + timedelta(hours=22)),
    )
    payment = facts(customer, 10_000, AT, creditor_account=creditor(5), payee_id=payee)
    decision = await engine.decide(payment)
    assert {hit.rule for hit in decision.rules} == {"account_takeover", "payee_cooling_off"}
    assert decision.recommendation is Recommendation.BLOCK
    # A day later (the same hour) the password change is no longer recent, and the cooling-off is over.
    later = facts(customer, 10_000, AT + timedelta(days=1), creditor_account=creditor(5), payee_id=payee)
    assert (await engine.decide(later)).rules == ()


async def test_impossible_travel_between_the_sessions_sign_in_and_the_one_before(platform: Platform) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = await habitual_customer(platform)
    await apply(
        platform,
        signed_in(customer, AT - timedelta(hours=1), session_id="home", country="GB", device_hash="aa"),
        signed_in(customer, AT - timedelta(minutes=10), session_id="far", country="AU", device_hash="aa"),
    )
    far = await engine.decide(facts(customer, 5_000, AT, creditor_account=creditor(1), session_id="far"))
    assert [hit.rule for hit in far.rules] == ["impossible_travel"]
    assert far.recommendation is Recommendation.REVIEW
    home = await engine.decide(facts(customer, 5_000, AT, creditor_account=creditor(1), session_id="home"))
    assert [hit.rule for hit in home.rules] == ["impossible_travel"]  # the latest sign-in, in Australia
    assert (await engine.decide(facts(customer, 5_000, AT, creditor_account=creditor(1)))).rules == ()


async def test_decide_survives_odd_facts(platform: Platform) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = uuid.uuid4()
    odd = facts(
        customer,
        10**15,
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        creditor_account="12\x0034",
        session_id="x\x00" * 200,
    )
    decision = await engine.decide(odd)
    assert decision.recommendation is not Recommendation.APPROVE  # a cold start, far too large
    naive = facts(customer, 100, datetime(1, 1, 1, 0, 0), session_id="s")
    assert (await engine.decide(naive)).rules == ()


async def test_assess_sign_in_new_device_new_country_and_travel(platform: Platform) -> None:
    engine = FraudEngine.for_platform(platform)
    customer = uuid.uuid4()

    def attempt(device: str | None, ip: str | None, at: datetime) -> SignInFacts:
        return SignInFacts(uuid.uuid4(), customer, device, ip, at)

    first = await engine.assess_sign_in(attempt("aa", "81.2.69.142", AT))
    assert (first.country, first.new_device, first.decision.recommendation) == ("GB", False, Recommendation.APPROVE)
    await apply(platform, signed_in(customer, AT, session_id="s1", country="GB", device_hash="aa"))

    same = await engine.assess_sign_in(attempt("AA", "81.2.69.142", AT + timedelta(hours=1)))
    assert (same.new_device, same.decision.rules) == (False, ())
    other = await engine.assess_sign_in(attempt("bb", "10.1.2.3", AT + timedelta(hours=1)))
    assert (other.country, other.new_device) == (None, True)
    assert other.decision.recommendation is Recommendation.MONITOR
    # Sydney ten minutes after London, on a new device: new device, new country and impossible travel.
    far = await engine.assess_sign_in(attempt("cc", "1.1.1.1", AT + timedelta(minutes=10)))
    assert far.country == "AU"
    assert [hit.rule for hit in far.decision.rules] == ["new_device", "new_country", "impossible_travel"]
    assert far.decision.recommendation is Recommendation.BLOCK
    # A week later Australia is only a new country.
    later = await engine.assess_sign_in(attempt("aa", "1.1.1.1", AT + timedelta(days=7)))
    assert [hit.rule for hit in later.decision.rules] == ["new_country"]

"""Fault injection: answers to the bank lost, duplicated or delayed, within settings refused when out of range."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from faster_payments import service
from faster_payments.messages import StatusRequest, TransactionStatus
from faster_payments.schemas import Faults
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.faster_payments.conftest import bank_payment, deliver, replies, scheduled


async def _set(platform: Platform, **faults: Any) -> Faults:
    async with unit_of_work(platform.sessions) as session:
        return await service.set_faults(session, **faults)


async def test_the_scheme_starts_without_faults_and_a_ten_second_window(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as session:
        assert await service.get_faults(session) == Faults(
            delay_min_ms=0, delay_max_ms=0, drop_rate=0.0, duplicate_rate=0.0, timeout_s=10.0
        )


async def test_settings_change_only_what_is_given_and_persist(platform: Platform) -> None:
    await _set(platform, delay_min_ms=100, delay_max_ms=2000, drop_rate=0.1)
    await _set(platform, duplicate_rate=0.25, timeout_s=3)
    async with unit_of_work(platform.sessions) as session:
        assert await service.get_faults(session) == Faults(
            delay_min_ms=100, delay_max_ms=2000, drop_rate=0.1, duplicate_rate=0.25, timeout_s=3.0
        )


@pytest.mark.parametrize(
    "faults",
    [
        {"drop_rate": 1.01},
        {"drop_rate": -0.1},
        {"duplicate_rate": 2},
        {"duplicate_rate": math.nan},
        {"delay_min_ms": -1},
        {"delay_min_ms": 500, "delay_max_ms": 100},
        {"delay_max_ms": 1.5},
        {"timeout_s": 0},
        {"timeout_s": math.inf},
    ],
)
async def test_out_of_range_settings_are_refused_and_change_nothing(platform: Platform, faults: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (the contract: a ValueError)
        await _set(platform, **faults)
    async with unit_of_work(platform.sessions) as session:
        assert await service.get_faults(session) == Faults()


async def test_a_dropped_answer_is_never_scheduled_but_the_payment_is_cleared(scheme: Platform) -> None:
    await _set(scheme, drop_rate=1.0)
    payment = bank_payment()
    await deliver(scheme, payment)

    assert await scheduled(scheme.sessions, payment.transaction_id) == []
    async with unit_of_work(scheme.sessions) as session:
        recorded = await service.get_transaction(session, payment.transaction_id)
    assert recorded is not None and recorded.status is TransactionStatus.ACSC


async def test_a_duplicated_answer_is_scheduled_twice_identically(scheme: Platform) -> None:
    await _set(scheme, duplicate_rate=1.0)
    payment = bank_payment()
    await deliver(scheme, payment)

    first, second = await scheduled(scheme.sessions, payment.transaction_id)
    assert first.xml == second.xml  # the same message delivered twice
    assert len(await replies(scheme.sessions, payment.transaction_id)) == 2


async def test_a_delayed_answer_is_due_within_the_delay_window(scheme: Platform) -> None:
    await _set(scheme, delay_min_ms=1000, delay_max_ms=3000, duplicate_rate=1.0)
    payment = bank_payment()
    async with unit_of_work(scheme.sessions) as session:
        before = datetime.now(UTC)
        await service.clear_credit_transfer(session, payment, now=before)

    rows = await scheduled(scheme.sessions, payment.transaction_id)
    assert len(rows) == 2
    for row in rows:
        assert before + timedelta(milliseconds=1000) <= row.deliver_at <= before + timedelta(milliseconds=3000)


async def test_delays_are_drawn_from_the_whole_window(scheme: Platform) -> None:
    await _set(scheme, delay_min_ms=0, delay_max_ms=10_000)
    now = datetime.now(UTC)
    rng = random.Random(20261205)
    async with unit_of_work(scheme.sessions) as session:
        for _ in range(20):
            await service.clear_credit_transfer(session, bank_payment(), now=now, rng=rng)
    delays = [(row.deliver_at - now).total_seconds() for row in await scheduled(scheme.sessions)]
    assert len(delays) == 20
    assert min(delays) < 3 and max(delays) > 7


async def test_answers_to_status_requests_go_through_the_same_faults(scheme: Platform) -> None:
    payment = bank_payment()
    await deliver(scheme, payment)
    await _set(scheme, drop_rate=1.0)
    request = StatusRequest(
        message_id="REQ-1",
        original_message_id=payment.message_id,
        original_transaction_id=payment.transaction_id,
        original_end_to_end_id=payment.end_to_end_id,
        created_at=datetime.now(UTC),
    )
    await deliver(scheme, request)
    assert len(await scheduled(scheme.sessions, payment.transaction_id)) == 1  # only the first answer

    await _set(scheme, drop_rate=0.0, duplicate_rate=1.0)
    await deliver(scheme, request)  # asked again (a new event)
    assert len(await scheduled(scheme.sessions, payment.transaction_id)) == 3

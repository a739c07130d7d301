"""The fraud bench's data set: reproducible from its seed, each pattern labelled with its signal, events as agreed."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bench.fraud import consequences
from bench.fraud_data import (
    LONDON,
    PATTERNS,
    FraudDataset,
    LabelledPayment,
    generate,
)
from fraud.decisions import Decision, Recommendation, RuleHit
from obank.outbox.record import Event

SMALL: dict[str, Any] = {"transactions": 2_000, "customers": 120, "weeks": 2, "history_weeks": 1}
PAYMENT_FIELDS = {
    "payment_id",
    "origin",
    "route",
    "customer_id",
    "debtor_account_id",
    "creditor_account_id",
    "amount_minor",
    "currency",
    "status",
    "reason",
    "consent_id",
    "client_id",
    "payee_id",
    "created_at",
    "creditor_account",
    "session_id",
}


@pytest.fixture(scope="module")
def dataset() -> FraudDataset:
    return generate(seed=11, **SMALL)


def events_of(dataset: FraudDataset) -> list[Event]:
    return [*dataset.history, *(item for item in dataset.timeline if isinstance(item, Event))]


def test_the_same_seed_gives_the_same_data_set(dataset: FraudDataset) -> None:
    assert generate(seed=11, **SMALL) == dataset


def test_another_seed_gives_another_data_set(dataset: FraudDataset) -> None:
    other = generate(seed=12, **SMALL)
    assert [payment.facts for payment in other.payments] != [payment.facts for payment in dataset.payments]


def test_the_default_size_is_about_one_to_two_percent_fraud() -> None:
    payments = generate(20_000, seed=3, customers=600).payments
    fraud = sum(payment.fraudulent for payment in payments)
    assert len(payments) >= 20_000
    assert 0.01 <= fraud / len(payments) <= 0.02


def test_every_pattern_is_labelled_and_each_case_keeps_one_label(dataset: FraudDataset) -> None:
    payments = dataset.payments
    assert set(Counter(payment.pattern for payment in payments)) == {*PATTERNS, None}
    by_case: dict[int, set[str | None]] = {}
    for payment in payments:
        if payment.case_id is not None:
            by_case.setdefault(payment.case_id, set()).add(payment.pattern)
        assert payment.kind == (payment.pattern or payment.kind)
    assert all(len(labels) == 1 for labels in by_case.values())
    assert sum(dataset.cases.values()) == len(by_case)


def test_history_precedes_go_live_and_the_timeline_is_in_time_order(dataset: FraudDataset) -> None:
    assert all(event.occurred_at < dataset.live_from for event in dataset.history)
    moments = [item.occurred_at if isinstance(item, Event) else item.facts.created_at for item in dataset.timeline]
    assert moments == sorted(moments)
    assert moments[0] >= dataset.live_from
    assert {event.event_type for event in dataset.history} >= {"payment.submitted", "payment.status_changed"}


def test_each_payment_comes_from_a_session_its_customer_signed_in_before(dataset: FraudDataset) -> None:
    sessions = {
        event.payload["session_id"]: (event.payload["customer_id"], event.occurred_at)
        for event in events_of(dataset)
        if event.event_type == "login.succeeded"
    }
    for payment in dataset.payments:
        if payment.kind == "rent":  # a standing order: the scheduler pays, nobody is signed in
            assert payment.facts.session_id is None
            continue
        customer_id, signed_in_at = sessions[payment.facts.session_id]
        assert customer_id == str(payment.facts.customer_id)
        assert signed_in_at <= payment.facts.created_at


def test_events_carry_the_contract_fields(dataset: FraudDataset) -> None:
    required = {
        "login.succeeded": {"customer_id", "country", "device_hash", "session_id", "actor_kind", "ip_hash"},
        "payee.added": {"payee_id", "customer_id", "cooling_off_until", "created_at"},
        "transfer.completed": {
            "customer_id",
            "amount_minor",
            "currency",
            "created_at",
            "creditor_account",
            "own_account",
        },
        "identity.password_changed": {"customer_id"},
        "identity.password_reset": {"customer_id"},
        "mfa.enrolled": {"customer_id"},
        "payment.submitted": PAYMENT_FIELDS,
        "payment.status_changed": PAYMENT_FIELDS,
    }
    seen = set()
    for event in events_of(dataset):
        if event.event_type in required:
            assert required[event.event_type] <= set(event.payload), event.event_type
            seen.add(event.event_type)
        if "creditor_account" in event.payload:
            assert len(event.payload["creditor_account"]) == 14 and event.payload["creditor_account"].isdigit()
    # Resets are rare in a small data set; every other kind of event is always there.
    assert seen >= set(required) - {"identity.password_reset"}
    for payment in dataset.payments:
        assert len(payment.facts.creditor_account) == 14 and payment.facts.creditor_account.isdigit()
        assert payment.facts.amount_minor > 0 and isinstance(payment.facts.amount_minor, int)


def test_each_pattern_carries_its_signal(dataset: FraudDataset) -> None:
    events = events_of(dataset)
    sign_ins = {event.payload["session_id"]: event for event in events if event.event_type == "login.succeeded"}
    payees = {event.payload["payee_id"]: event.occurred_at for event in events if event.event_type == "payee.added"}
    changes = [event for event in events if event.event_type in ("identity.password_changed", "mfa.enrolled")]
    changes += [event for event in events if event.event_type == "identity.password_reset"]
    cases: dict[int, list[LabelledPayment]] = {}
    for payment in dataset.payments:
        facts = payment.facts
        if payment.pattern is None:
            assert facts.creditor_account not in dataset.mule_accounts
            continue
        assert payment.case_id is not None
        cases.setdefault(payment.case_id, []).append(payment)
        if payment.pattern == "mule_account":
            assert facts.creditor_account in dataset.mule_accounts
        elif payment.pattern == "unusual_hour":
            assert 1 <= facts.created_at.astimezone(LONDON).hour <= 4
        elif payment.pattern == "payee_cooling_off":
            assert facts.created_at - payees[str(facts.payee_id)] < timedelta(hours=24)
        elif payment.pattern == "account_takeover":
            assert facts.created_at - payees[str(facts.payee_id)] < timedelta(hours=24)
            assert any(
                event.payload["customer_id"] == str(facts.customer_id)
                and timedelta(0) < facts.created_at - event.occurred_at < timedelta(hours=24)
                for event in changes
            )
        elif payment.pattern == "impossible_travel":
            abroad = sign_ins[facts.session_id]
            assert any(
                event.payload["customer_id"] == str(facts.customer_id)
                and event.payload["country"] != abroad.payload["country"]
                and timedelta(0) < abroad.occurred_at - event.occurred_at < timedelta(hours=2)
                for event in sign_ins.values()
            )
        elif payment.pattern == "new_device":
            device = sign_ins[facts.session_id].payload["device_hash"]
            earlier = [event for event in sign_ins.values() if event.payload["device_hash"] == device]
            assert min(event.occurred_at for event in earlier) >= facts.created_at - timedelta(hours=1)
        elif payment.pattern == "round_amount_burst":
            assert facts.amount_minor % 5_000 == 0  # £50 steps
    for case in cases.values():
        if case[0].pattern == "velocity":
            assert len(case) >= 6
            assert case[-1].facts.created_at - case[0].facts.created_at < timedelta(minutes=20)


@pytest.mark.parametrize(
    ("recommendation", "outcome"),
    [
        (Recommendation.APPROVE, ("payment.submitted", "ACSC")),
        (Recommendation.MONITOR, ("payment.submitted", "ACSC")),
        (Recommendation.REVIEW, ("payment.submitted", "payment.fraud_flagged")),
        (Recommendation.BLOCK, ("payment.submitted", "payment.fraud_flagged", "RJCT")),
    ],
)
def test_only_payments_let_through_settle(
    dataset: FraudDataset, recommendation: Recommendation, outcome: tuple[str, ...]
) -> None:
    payment = next(payment for payment in dataset.payments if not payment.held_for_confirmation)
    decision = Decision(60, recommendation, (RuleHit("velocity", 60),), "rules-v1")
    events = consequences(payment, decision)
    names = [
        event.payload["status"] if event.event_type == "payment.status_changed" else event.event_type
        for event in events
    ]
    assert tuple(names) == outcome
    assert all(event.payload["payment_id"] == str(payment.facts.payment_id) for event in events)
    assert [event.occurred_at for event in events] == sorted(event.occurred_at for event in events)
    assert len({event.event_id for event in itertools.chain(events, consequences(payment, decision))}) == len(events)

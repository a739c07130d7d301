"""The `fraud.alerts` consumer: a flagged payment raises an alert (or joins the customer's unresolved one), once;
a customer's confirmation is noted; final statuses land on the links, whichever order the events arrive in."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from fraud.alerts.service import CUSTOMER_CONFIRMED_NOTE, TOPIC
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.fraud.alerts.conftest import (
    BASE,
    Apply,
    Raise,
    alert_of_payment,
    audit_actions,
    flagged_event,
    outbox_types,
    payment_event,
    payment_snapshot,
)


async def test_a_flagged_payment_raises_an_alert_with_its_decision_once(
    platform: Platform, client: httpx.AsyncClient, analyst: dict[str, str], apply: Apply
) -> None:
    customer_id = uuid.uuid4()
    snapshot = payment_snapshot(customer_id=customer_id, amount_minor=480_000)
    correlation_id = str(uuid.uuid4())
    event = flagged_event(snapshot, score=82, recommendation="REVIEW", correlation_id=correlation_id)
    assert await apply(event)
    assert not await apply(event)  # a redelivery changes nothing

    alert_id = await alert_of_payment(platform, uuid.UUID(snapshot["payment_id"]))
    detail = (await client.get(f"{BASE}/alerts/{alert_id}", headers=analyst)).json()
    assert (detail["status"], detail["score"], detail["recommendation"]) == ("OPEN", 82, "REVIEW")
    assert (detail["customer_id"], detail["correlation_id"]) == (str(customer_id), correlation_id)
    assert detail["rules"] == [
        {"rule": "new_payee_large_amount", "contribution": 40},
        {"rule": "unusual_hour", "contribution": 35},
    ]
    (payment,) = detail["payments"]
    assert (payment["payment_id"], payment["amount_minor"], payment["currency"]) == (
        snapshot["payment_id"],
        480_000,
        "GBP",
    )
    assert (payment["creditor_account"], payment["final_status"]) == ("40051576262352", None)
    assert await audit_actions(platform, str(alert_id)) == ["fraud_alert.raised"]
    assert await outbox_types(platform, TOPIC, str(alert_id)) == ["fraud_alert.raised"]


async def test_a_customers_next_flagged_payment_joins_their_unresolved_alert(
    platform: Platform, client: httpx.AsyncClient, analyst: dict[str, str], apply: Apply, raise_alert: Raise
) -> None:
    customer_id = uuid.uuid4()
    alert_id, first = await raise_alert(customer_id)
    second = payment_snapshot(customer_id=customer_id, amount_minor=990_000)
    assert await apply(flagged_event(second, score=95, recommendation="BLOCK", rules=(("mule_creditor", 100),)))
    assert await alert_of_payment(platform, uuid.UUID(second["payment_id"])) == alert_id

    detail = (await client.get(f"{BASE}/alerts/{alert_id}", headers=analyst)).json()
    assert (detail["score"], detail["recommendation"]) == (95, "BLOCK")  # the strongest of its payments
    assert [rule["rule"] for rule in detail["rules"]] == ["mule_creditor", "new_payee_large_amount", "unusual_hour"]
    assert [p["payment_id"] for p in detail["payments"]] == [str(first), second["payment_id"]]
    assert await audit_actions(platform, str(alert_id)) == ["fraud_alert.raised", "fraud_alert.payment_linked"]

    other_alert, _ = await raise_alert()  # another customer: an alert of their own
    assert other_alert != alert_id
    listed = (await client.get(f"{BASE}/alerts", headers=analyst)).json()
    assert len(listed) == 2


async def test_a_customers_confirmation_is_noted_and_the_final_status_recorded(
    platform: Platform, client: httpx.AsyncClient, analyst: dict[str, str], apply: Apply, raise_alert: Raise
) -> None:
    alert_id, payment_id = await raise_alert()
    released = {**payment_snapshot(payment_id=payment_id), "released_by": "customer", "staff_id": None}
    assert await apply(payment_event("payment.released", released))
    settled = payment_snapshot(payment_id=payment_id, status="ACSC")
    assert await apply(payment_event("payment.status_changed", settled))
    unrelated = payment_snapshot(status="ACSC")  # a payment never flagged: nothing to record
    assert await apply(payment_event("payment.status_changed", unrelated))

    detail = (await client.get(f"{BASE}/alerts/{alert_id}", headers=analyst)).json()
    (payment,) = detail["payments"]
    assert (payment["final_status"], payment["released_by"]) == ("ACSC", "customer")
    assert [(note["author"], note["text"]) for note in detail["notes"]] == [("system", CUSTOMER_CONFIRMED_NOTE)]
    assert await audit_actions(platform, str(alert_id)) == [
        "fraud_alert.raised",
        "fraud_alert.payment_released",
        "fraud_alert.noted",
        "fraud_alert.payment_settled",
    ]
    async with unit_of_work(platform.sessions) as session:
        early = await session.scalar(text("SELECT count(*) FROM fraud.alert_early_outcomes"))
    assert early == 0


async def test_outcomes_that_arrive_before_the_flag_wait_for_it(
    client: httpx.AsyncClient, analyst: dict[str, str], apply: Apply, platform: Platform
) -> None:
    blocked = payment_snapshot(status="PDNG")
    rejected = {**blocked, "status": "RJCT", "reason": "FRAD"}
    assert await apply(payment_event("payment.status_changed", rejected))
    assert await apply(flagged_event(blocked, score=97, recommendation="BLOCK"))
    held = payment_snapshot()
    released = {**held, "released_by": "customer", "staff_id": None}
    assert await apply(payment_event("payment.released", released))
    assert await apply(flagged_event(held))

    blocked_alert = await alert_of_payment(platform, uuid.UUID(blocked["payment_id"]))
    detail = (await client.get(f"{BASE}/alerts/{blocked_alert}", headers=analyst)).json()
    assert [(p["final_status"], p["final_reason"]) for p in detail["payments"]] == [("RJCT", "FRAD")]
    held_alert = await alert_of_payment(platform, uuid.UUID(held["payment_id"]))
    detail = (await client.get(f"{BASE}/alerts/{held_alert}", headers=analyst)).json()
    assert [p["released_by"] for p in detail["payments"]] == ["customer"]
    assert [note["text"] for note in detail["notes"]] == [CUSTOMER_CONFIRMED_NOTE]


async def test_a_payment_event_breaking_the_contract_is_skipped(
    platform: Platform, apply: Apply, client: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    snapshot = payment_snapshot()
    broken = flagged_event(snapshot, score=750)
    assert await apply(broken)  # consumed, so it is not retried for ever
    no_id = payment_event("payment.released", {"payment_id": "not-a-uuid", "released_by": "customer"})
    assert await apply(no_id)
    assert (await client.get(f"{BASE}/alerts", headers=analyst)).json() == []

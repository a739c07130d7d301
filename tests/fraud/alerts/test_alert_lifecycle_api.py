"""Analysts work an alert: claim (OPEN → INVESTIGATING), note, resolve as FRAUD (the payees become mules) or
FALSE_POSITIVE (the payees are allow-listed for the customer); illegal steps are 409; every change is audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from fraud.alerts.service import TOPIC
from fraud.features import repository as features_repository
from fraud.features import service as features_service
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.fraud.alerts.conftest import BASE, CREDITOR, HeadersFor, Raise, audit_actions, outbox_types

OTHER_CREDITOR = "20000312345678"


async def test_an_alert_is_claimed_noted_and_resolved_as_fraud(
    platform: Platform, client: httpx.AsyncClient, analyst: dict[str, str], raise_alert: Raise
) -> None:
    customer_id = uuid.uuid4()
    alert_id, _ = await raise_alert(customer_id)
    await raise_alert(customer_id, creditor_account=OTHER_CREDITOR)

    claimed = await client.post(f"{BASE}/alerts/{alert_id}/claim", headers=analyst)
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["status"], claimed.json()["assigned_to"]) == ("INVESTIGATING", "analyst-1")
    again = await client.post(f"{BASE}/alerts/{alert_id}/claim", headers=analyst)
    assert again.status_code == 200  # one's own claim again changes nothing

    note = "Called the customer: they never asked for these; card and phone lost on Monday."
    noted = await client.post(f"{BASE}/alerts/{alert_id}/notes", json={"text": note}, headers=analyst)
    assert noted.status_code == 201, noted.text
    assert (noted.json()["author"], noted.json()["text"]) == ("analyst-1", note)

    resolved = await client.post(
        f"{BASE}/alerts/{alert_id}/resolve", json={"outcome": "FRAUD", "note": "confirmed takeover"}, headers=analyst
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolution"], body["resolved_by"]) == ("RESOLVED", "FRAUD", "analyst-1")
    assert body["resolved_at"] is not None

    async with unit_of_work(platform.sessions) as session:
        mules = await features_service.list_mules(session, keyring=platform.keyring)
        sealed = list((await session.execute(text("SELECT text_sealed FROM fraud.alert_notes"))).scalars())
    assert sorted((mule.creditor_account, mule.alert_id) for mule in mules) == [
        (OTHER_CREDITOR, alert_id),
        (CREDITOR, alert_id),
    ]
    assert all(b"card and phone" not in row and b"takeover" not in row for row in sealed)  # sealed at rest
    listed = (await client.get(f"{BASE}/mule-accounts", headers=analyst)).json()
    assert [row["creditor_account"] for row in listed] == [OTHER_CREDITOR, CREDITOR]

    detail = (await client.get(f"{BASE}/alerts/{alert_id}", headers=analyst)).json()
    assert [n["text"] for n in detail["notes"]] == [note, "confirmed takeover"]
    assert await audit_actions(platform, str(alert_id)) == [
        "fraud_alert.raised",
        "fraud_alert.payment_linked",
        "fraud_alert.claimed",
        "fraud_alert.noted",
        "fraud_alert.noted",
        "fraud_alert.resolved",
    ]
    assert await audit_actions(platform, CREDITOR) == ["mule.marked"]
    assert (await outbox_types(platform, TOPIC, str(alert_id)))[-1] == "fraud_alert.resolved"

    # Resolved: neither claimed nor resolved again; a late finding may still be noted.
    for path, body_ in (("claim", None), ("resolve", {"outcome": "FALSE_POSITIVE", "note": "no"})):
        refused = await client.post(f"{BASE}/alerts/{alert_id}/{path}", json=body_, headers=analyst)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "fraud_alert_illegal_transition"
    late = await client.post(f"{BASE}/alerts/{alert_id}/notes", json={"text": "bank informed"}, headers=analyst)
    assert late.status_code == 201


async def test_a_false_positive_allow_lists_the_customers_payees(
    platform: Platform, client: httpx.AsyncClient, analyst: dict[str, str], raise_alert: Raise
) -> None:
    customer_id = uuid.uuid4()
    alert_id, _ = await raise_alert(customer_id)
    assert (await client.post(f"{BASE}/alerts/{alert_id}/claim", headers=analyst)).status_code == 200
    resolved = await client.post(
        f"{BASE}/alerts/{alert_id}/resolve",
        json={"outcome": "FALSE_POSITIVE", "note": "the customer's new landlord"},
        headers=analyst,
    )
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("FALSE_POSITIVE", "FALSE_POSITIVE")
    async with unit_of_work(platform.sessions) as session:
        allowed = await features_repository.get_allowed(session, customer_id, CREDITOR)
        assert await features_service.list_mules(session) == []
    assert allowed is not None and allowed.alert_id == alert_id and allowed.until is not None
    expected = datetime.now(UTC) + timedelta(days=platform.settings.fraud_false_positive_allow_days)
    assert abs(allowed.until - expected) < timedelta(minutes=1)
    assert await audit_actions(platform, f"{customer_id}:{CREDITOR}") == ["creditor.allowed"]

    # Resolved: the customer's next flagged payment raises a new alert.
    next_alert, _ = await raise_alert(customer_id)
    assert next_alert != alert_id


async def test_illegal_steps_are_refused_with_409_and_change_nothing(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, raise_alert: Raise
) -> None:
    alert_id, _ = await raise_alert()
    first, second = headers_for("fraud_analyst"), headers_for("fraud_analyst", subject="analyst-2")
    resolve = {"outcome": "FRAUD", "note": "looks bad"}

    unclaimed = await client.post(f"{BASE}/alerts/{alert_id}/resolve", json=resolve, headers=first)
    assert (unclaimed.status_code, unclaimed.json()["code"]) == (409, "fraud_alert_illegal_transition")

    assert (await client.post(f"{BASE}/alerts/{alert_id}/claim", headers=first)).status_code == 200
    taken = await client.post(f"{BASE}/alerts/{alert_id}/claim", headers=second)
    assert (taken.status_code, taken.json()["code"]) == (409, "fraud_alert_claimed")
    others = await client.post(f"{BASE}/alerts/{alert_id}/resolve", json=resolve, headers=second)
    assert (others.status_code, others.json()["code"]) == (409, "fraud_alert_claimed")
    assert await audit_actions(platform, str(alert_id)) == ["fraud_alert.raised", "fraud_alert.claimed"]

    forced = await client.post(f"{BASE}/alerts/{alert_id}/claim", params={"force": "true"}, headers=second)
    assert (forced.status_code, forced.json()["assigned_to"]) == (200, "analyst-2")
    mine = await client.get(f"{BASE}/alerts", params={"assigned_to": "analyst-2"}, headers=second)
    assert [a["id"] for a in mine.json()] == [str(alert_id)]
    assert (await client.get(f"{BASE}/alerts", params={"assigned_to": "analyst-1"}, headers=first)).json() == []

    missing = await client.post(f"{BASE}/alerts/{uuid.uuid4()}/claim", headers=first)
    assert (missing.status_code, missing.json()["code"]) == (404, "fraud_alert_not_found")


async def test_alerts_are_listed_newest_first_filtered_and_paged(
    client: httpx.AsyncClient, analyst: dict[str, str], raise_alert: Raise
) -> None:
    ids = [(await raise_alert())[0] for _ in range(5)]
    customer_id = uuid.uuid4()
    theirs, _ = await raise_alert(customer_id)
    await client.post(f"{BASE}/alerts/{theirs}/claim", headers=analyst)

    everything = (await client.get(f"{BASE}/alerts", headers=analyst)).json()
    assert [a["id"] for a in everything] == [str(i) for i in [theirs, *reversed(ids)]]
    page = (await client.get(f"{BASE}/alerts", params={"limit": 2}, headers=analyst)).json()
    following = await client.get(f"{BASE}/alerts", params={"limit": 2, "before": page[-1]["id"]}, headers=analyst)
    assert [a["id"] for a in page + following.json()] == [a["id"] for a in everything[:4]]
    opened = (await client.get(f"{BASE}/alerts", params={"status": "OPEN"}, headers=analyst)).json()
    assert len(opened) == 5
    by_customer = await client.get(f"{BASE}/alerts", params={"customer_id": str(customer_id)}, headers=analyst)
    assert [a["id"] for a in by_customer.json()] == [str(theirs)]
    now = datetime.now(UTC)
    window = {
        "created_from": (now - timedelta(hours=1)).isoformat(),
        "created_to": (now + timedelta(hours=1)).isoformat(),
    }
    assert len((await client.get(f"{BASE}/alerts", params=window, headers=analyst)).json()) == 6
    future = {"created_from": (now + timedelta(hours=1)).isoformat()}
    assert (await client.get(f"{BASE}/alerts", params=future, headers=analyst)).json() == []
    unknown = await client.get(f"{BASE}/alerts", params={"before": str(uuid.uuid4())}, headers=analyst)
    assert unknown.status_code == 422 and unknown.json()["detail"].startswith("before:")

"""End-to-end journeys through the gateway, shared by the in-process and the distributed deployment tests."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

# The sign-in itself is the bank's own script (benches use it too); the journeys below start from it.
from bank.demo_sign_in import authorize, customer_login, redeem_code, staff_login

__all__ = ["authorize", "customer_login", "customer_moves_money", "redeem_code", "staff_login"]


async def customer_moves_money(client: httpx.AsyncClient, demo: dict[str, Any]) -> str:
    """Log in with password + TOTP, list accounts, move money with an idempotency key, see it in history.

    Returns the interaction id the transfer was sent with (its audit record and event carry it).
    """
    token = await customer_login(client, demo)
    auth = {"authorization": f"Bearer {token}"}
    listed = await client.get("/api/v1/accounts", headers=auth)
    assert listed.status_code == 200, listed.text
    accounts = listed.json()
    expected = {account["id"] for account in demo["customers"][0]["accounts"]}
    assert {account["id"] for account in accounts} == expected
    gbp = [account for account in accounts if account["currency"] == "GBP"]
    source, destination = gbp[0], gbp[1]
    before = (await client.get(f"/api/v1/accounts/{source['id']}/balances", headers=auth)).json()

    key = str(uuid.uuid4())
    interaction_id = str(uuid.uuid4())
    transfer = {
        "source_account_id": source["id"],
        "destination_account_id": destination["id"],
        "amount_minor": 1_234,
        "currency": "GBP",
        "description": "Savings top-up " + key[:8],
    }
    headers = auth | {"idempotency-key": key, "x-fapi-interaction-id": interaction_id}
    created = await client.post("/api/v1/transfers", headers=headers, json=transfer)
    assert created.status_code == 201, created.text
    assert created.headers["x-fapi-interaction-id"] == interaction_id
    replayed = await client.post("/api/v1/transfers", headers=auth | {"idempotency-key": key}, json=transfer)
    assert replayed.status_code == 201 and replayed.json() == created.json()
    clash = await client.post(
        "/api/v1/transfers", headers=auth | {"idempotency-key": key}, json=transfer | {"amount_minor": 999}
    )
    assert clash.status_code == 422, clash.text

    history = await client.get(f"/api/v1/accounts/{source['id']}/transactions", headers=auth)
    assert history.status_code == 200, history.text
    lines = history.json()["transactions"]
    assert any(line["description"] == transfer["description"] and abs(line["amount_minor"]) == 1_234 for line in lines)
    after = (await client.get(f"/api/v1/accounts/{source['id']}/balances", headers=auth)).json()
    assert after["booked_minor"] == before["booked_minor"] - 1_234, (before, after)
    return interaction_id


async def customer_pays_a_new_payee_by_standing_order(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    """Through the gateway: check a name at another bank (confirmation of payee through the scheme's directory),
    save them as a payee, set up a monthly standing order to them, see it, pause it; another customer sees none
    of it."""
    token = await customer_login(client, demo)
    auth = {"authorization": f"Bearer {token}"}
    alan = {"name": "alan turing", "sort_code": "40-05-15", "account_number": "76262352"}
    checked = await client.post("/api/v1/payee-confirmations", headers=auth, json=alan)
    assert checked.status_code == 201, checked.text
    assert checked.json()["result"] == "MATCH", checked.text
    payee = {**alan, "reference": "Rent", "confirmation_id": checked.json()["id"]}
    added = await client.post(
        "/api/v1/beneficiaries", headers=auth | {"idempotency-key": str(uuid.uuid4())}, json=payee
    )
    assert added.status_code == 201, added.text
    payee_id = added.json()["id"]
    source = next(account for account in demo["customers"][0]["accounts"] if account["currency"] == "GBP")
    order = {
        "from_account_id": source["id"],
        "payee_id": payee_id,
        "amount_minor": 2_500,
        "currency": "GBP",
        "repeat": "LAST_DAY_OF_MONTH",
        "first_date": (date.today() + timedelta(days=1)).isoformat(),
        "count": 12,
    }
    created = await client.post(
        "/api/v1/scheduled-payments", headers=auth | {"idempotency-key": str(uuid.uuid4())}, json=order
    )
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assert created.json()["reference"] == "Rent" and created.json()["next_payment_at"]
    listed = await client.get("/api/v1/scheduled-payments", headers=auth)
    assert listed.status_code == 200 and order_id in {o["id"] for o in listed.json()}, listed.text
    paused = await client.post(f"/api/v1/scheduled-payments/{order_id}/pause", headers=auth)
    assert paused.status_code == 200 and paused.json()["status"] == "PAUSED", paused.text

    other = await customer_login(other_client, demo, customer_index=1)
    theirs = {"authorization": f"Bearer {other}"}
    assert (await other_client.get(f"/api/v1/scheduled-payments/{order_id}", headers=theirs)).status_code == 404
    assert (await other_client.get(f"/api/v1/beneficiaries/{payee_id}", headers=theirs)).status_code == 404

"""Paying a saved payee: at once when small or once its cooling-off is over; held for the customer's confirmation
(step-up SCA) when above the limit during it; cancelled by the customer or rejected when left unconfirmed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from audit.trail import platform_units
from core_banking.jobs import run_due_payment_orders
from core_banking.payments import service
from obank.actor import Actor
from obank.claims import ACR_CA
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import account, new_account, new_customer
from tests.core_banking.payments.test_payment_saga import final

pytestmark = pytest.mark.usefixtures("rails")
ScaHeaders = Callable[..., dict[str, str]]
ALAN = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}
LIMIT = 10_000  # the default cooling-off limit


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A week's cooling-off, so that a standing order's first run (the next business day) falls inside it."""
    return settings.model_copy(update={"payees_cooling_off_s": 7 * 86_400})


@pytest.fixture
async def payer(platform: Platform) -> dict[str, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000_000)
    return {"customer": customer.id, "account": debtor.id}


async def add_payee(client: httpx.AsyncClient, headers: dict[str, str], payee: dict[str, str] = ALAN) -> str:
    """Check the payee's name and save them, as the app does (the simulated scheme does not answer here)."""
    checked = await client.post("/api/v1/payee-confirmations", json=payee, headers=headers)
    assert checked.status_code == 201, checked.text
    answer = checked.json()
    body = {**payee, "reference": "Invoice 7", "confirmation_id": answer["id"]}
    if answer["result"] != "MATCH":
        body["confirmed_despite"] = answer["result"]
    added = await client.post(
        "/api/v1/beneficiaries", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert added.status_code == 201, added.text
    return str(added.json()["id"])


async def pay(
    client: httpx.AsyncClient, headers: dict[str, str], payer: dict[str, uuid.UUID], payee_id: str, amount: int
) -> httpx.Response:
    body = {"debtor_account_id": str(payer["account"]), "amount_minor": amount, "currency": "GBP", "payee_id": payee_id}
    return await client.post("/api/v1/payments", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})


async def step_of(platform: Platform, payment_id: str) -> tuple[str, int]:
    async with unit_of_work(platform.sessions) as session:
        row = (
            await session.execute(
                text("SELECT status, step FROM core_banking.payments WHERE id = :id"), {"id": uuid.UUID(payment_id)}
            )
        ).one()
    return str(row.status), int(row.step)


async def test_a_large_payment_in_the_cooling_off_waits_for_the_customers_confirmation(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(payer["customer"])
    payee_id = await add_payee(client, headers)
    response = await pay(client, headers, payer, payee_id, LIMIT + 1)
    assert response.status_code == 202, response.text
    payment = response.json()
    assert payment["status"] == "PDNG" and payment["payee_id"] == payee_id and payment["reference"] == "Invoice 7"
    assert payment["confirm_by"] is not None
    assert await step_of(platform, payment["id"]) == ("PDNG", service.HELD)
    assert (await account(platform.sessions, payer["account"])).balances.available.minor == 1_000_000 - LIMIT - 1

    refused = await client.post(
        f"/api/v1/payments/{payment['id']}/confirm", headers=sca_headers(payer["customer"], acr=ACR_CA)
    )
    assert refused.status_code == 401 and "insufficient_user_authentication" in refused.headers["www-authenticate"]
    assert await step_of(platform, payment["id"]) == ("PDNG", service.HELD)

    confirmed = await client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirm_by"] is None
    assert (await final(platform, payment["id"]))["status"] == "ACSC"
    again = await client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=headers)
    assert again.status_code == 200 and again.json()["status"] == "ACSC"
    cancel = await client.post(f"/api/v1/payments/{payment['id']}/cancel", headers=headers)
    assert cancel.status_code == 409 and cancel.json()["code"] == "payment_not_held"


async def test_small_payments_and_payments_after_the_cooling_off_go_at_once(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(payer["customer"])
    payee_id = await add_payee(client, headers)
    small = (await pay(client, headers, payer, payee_id, LIMIT)).json()
    assert small["confirm_by"] is None and (await final(platform, small["id"]))["status"] == "ACSC"
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text(
                "UPDATE core_banking.payees SET created_at = created_at - interval '8 days',"
                " cooling_off_until = cooling_off_until - interval '8 days' WHERE id = :id"
            ),
            {"id": uuid.UUID(payee_id)},
        )
    large = (await pay(client, headers, payer, payee_id, 20_000)).json()
    assert large["confirm_by"] is None and (await final(platform, large["id"]))["status"] == "ACSC"


async def test_a_held_payment_cancelled_or_left_unconfirmed_releases_its_funds(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(payer["customer"])
    payee_id = await add_payee(client, headers)
    cancelled = (await pay(client, headers, payer, payee_id, 50_000)).json()
    forgotten = (await pay(client, headers, payer, payee_id, 30_000)).json()
    assert (await account(platform.sessions, payer["account"])).balances.available.minor == 920_000

    answer = await client.post(f"/api/v1/payments/{cancelled['id']}/cancel", headers=headers)
    assert answer.status_code == 200 and (answer.json()["status"], answer.json()["reason"]) == ("RJCT", "CUST")
    assert (await client.post(f"/api/v1/payments/{cancelled['id']}/cancel", headers=headers)).status_code == 200
    late = await client.post(f"/api/v1/payments/{cancelled['id']}/confirm", headers=headers)
    assert late.status_code == 409 and late.json()["code"] == "payment_not_held"

    deadline = datetime.fromisoformat(forgotten["confirm_by"])
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        assert await service.reject_unconfirmed(uow, now=deadline - timedelta(seconds=1)) == 0
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        assert await service.reject_unconfirmed(uow, now=deadline) == 1
    row = await final(platform, forgotten["id"])
    assert (row["status"], row["reason"]) == ("RJCT", "NOAS")
    expired = await client.post(f"/api/v1/payments/{forgotten['id']}/confirm", headers=headers)
    assert expired.status_code == 409
    balances = (await account(platform.sessions, payer["account"])).balances
    assert (balances.available.minor, balances.booked.minor) == (1_000_000, 1_000_000)


async def test_a_standing_order_to_a_payee_needs_sca_and_its_run_in_the_cooling_off_is_held(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(payer["customer"])
    payee_id = await add_payee(client, headers)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    body: dict[str, Any] = {
        "from_account_id": str(payer["account"]),
        "payee_id": payee_id,
        "amount_minor": 40_000,
        "currency": "GBP",
        "repeat": "WEEKLY",
        "first_date": tomorrow.isoformat(),
    }
    one_factor = {**sca_headers(payer["customer"], acr=ACR_CA), "Idempotency-Key": "so"}
    refused = await client.post("/api/v1/scheduled-payments", json=body, headers=one_factor)
    assert refused.status_code == 401, refused.text
    created = await client.post("/api/v1/scheduled-payments", json=body, headers={**headers, "Idempotency-Key": "so"})
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["payee_id"] == payee_id and order["reference"] == "Invoice 7") or order["reference"] is None
    assert order["payee"]["name"] == "Alan Turing"
    await run_due_payment_orders(platform, now=datetime.fromisoformat(order["next_payment_at"]))
    ran = (await client.get(f"/api/v1/scheduled-payments/{order['id']}", headers=headers)).json()
    (run,) = ran["runs"]
    assert run["outcome"] == "PAID"
    assert await step_of(platform, run["payment_id"]) == ("PDNG", service.HELD)


async def test_another_customers_payee_cannot_be_paid(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: dict[str, uuid.UUID]
) -> None:
    payee_id = await add_payee(client, sca_headers(payer["customer"]))
    intruder = await new_customer(platform.sessions, platform.keyring)
    own = await new_account(platform.sessions, platform.keyring, intruder.id, funded_minor=50_000)
    headers = sca_headers(intruder.id)
    response = await pay(client, headers, {"customer": intruder.id, "account": own.id}, payee_id, 100)
    assert response.status_code == 404, response.text
    order = {
        "from_account_id": str(own.id),
        "payee_id": payee_id,
        "amount_minor": 100,
        "currency": "GBP",
        "repeat": "ONCE",
        "first_date": (datetime.now(UTC).date() + timedelta(days=3)).isoformat(),
    }
    created = await client.post("/api/v1/scheduled-payments", json=order, headers={**headers, "Idempotency-Key": "x"})
    assert created.status_code == 404, created.text
    both = {"debtor_account_id": str(own.id), "amount_minor": 1, "currency": "GBP", "payee_id": payee_id, "payee": ALAN}
    mixed = await client.post("/api/v1/payments", json=both, headers={**headers, "Idempotency-Key": "y"})
    assert mixed.status_code == 422 and mixed.json()["detail"].startswith("payee")


async def test_the_answer_kept_under_the_idempotency_key_is_sealed_and_replays(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: dict[str, uuid.UUID]
) -> None:
    headers = {**sca_headers(payer["customer"]), "Idempotency-Key": "pay-once"}
    body = {"debtor_account_id": str(payer["account"]), "amount_minor": 700, "currency": "GBP", "payee": ALAN}
    first = await client.post("/api/v1/payments", json=body, headers=headers)
    replayed = await client.post("/api/v1/payments", json=body, headers=headers)
    assert first.status_code == replayed.status_code == 202
    assert replayed.json() == first.json() and replayed.headers["idempotent-replayed"] == "true"
    assert first.json()["payee"]["name"] == "Alan Turing"
    async with unit_of_work(platform.sessions) as session:
        sealed, clear = (
            await session.execute(text("SELECT response_sealed, response_body FROM core_banking.idempotency_keys"))
        ).one()
    assert clear is None and b"Turing" not in sealed and b"76262352" not in sealed

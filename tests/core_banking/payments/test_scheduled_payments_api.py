"""`/api/v1/scheduled-payments`: a customer's own scheduled payments and standing orders, through the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core_banking.jobs import run_due_payment_orders
from core_banking.ledger.periods import BANK_TIMEZONE, bank_day
from core_banking.payment_orders.schedule import month_end
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer

ScaHeaders = Callable[..., dict[str, str]]
PATH = "/api/v1/scheduled-payments"


@pytest.fixture
async def saver(platform: Platform) -> dict[str, uuid.UUID]:
    """A customer with a current account (funded) and a savings account of their own."""
    customer = await new_customer(platform.sessions, platform.keyring)
    current = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=500_000)
    savings = await new_account(platform.sessions, platform.keyring, customer.id)
    return {"customer": customer.id, "current": current.id, "savings": savings.id}


def to_savings(saver: dict[str, uuid.UUID], **fields: Any) -> dict[str, Any]:
    tomorrow = bank_day(datetime.now(UTC)) + timedelta(days=1)
    body: dict[str, Any] = {
        "from_account_id": str(saver["current"]),
        "to_account_id": str(saver["savings"]),
        "amount_minor": 5_000,
        "currency": "GBP",
        "reference": "Savings",
        "repeat": "MONTHLY",
        "first_date": tomorrow.isoformat(),
    }
    body.update(fields)
    return {name: value for name, value in body.items() if value is not None}


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await client.post(PATH, json=body, headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


async def test_a_standing_order_to_an_own_account_is_set_up_read_listed_and_paid_on_its_day(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(saver["customer"])
    first = date(2027, 1, 20)
    response = await create(client, headers, to_savings(saver, first_date=first.isoformat(), count=3), key="so-1")
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["kind"] == "STANDING_ORDER" and order["status"] == "ACTIVE" and order["repeat"] == "MONTHLY"
    assert order["frequency"] == "MNTH" and order["count"] == 3 and order["origin"] == "CUSTOMER"
    assert order["payee"]["scheme"] == "UK.OBIE.SortCodeAccountNumber" and order["payee"]["name"] == "Ada Lovelace"
    assert datetime.fromisoformat(order["next_payment_at"]) == datetime(2027, 1, 20, 6, tzinfo=BANK_TIMEZONE)
    # The same key and body replay the answer; the same key with another body is refused.
    replay = await create(client, headers, to_savings(saver, first_date=first.isoformat(), count=3), key="so-1")
    assert replay.status_code == 201 and replay.json()["id"] == order["id"]
    other = await create(client, headers, to_savings(saver, first_date=first.isoformat(), count=4), key="so-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"

    listed = await client.get(PATH, headers=headers)
    assert [o["id"] for o in listed.json()] == [order["id"]]
    assert (await client.get(PATH, headers=headers, params={"status": "CANCELLED"})).json() == []

    assert await run_due_payment_orders(platform, now=datetime(2027, 1, 20, 7, tzinfo=BANK_TIMEZONE)) == 1
    read = (await client.get(f"{PATH}/{order['id']}", headers=headers)).json()
    assert [(run["sequence"], run["outcome"], run["due_date"]) for run in read["runs"]] == [(1, "PAID", "2027-01-20")]
    assert datetime.fromisoformat(read["next_payment_at"]) == datetime(2027, 2, 22, 6, tzinfo=BANK_TIMEZONE)  # Sat 20th


async def test_last_day_of_month_pays_on_each_months_last_day(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(saver["customer"])
    body = to_savings(saver, repeat="LAST_DAY_OF_MONTH", first_date="2027-02-03")
    order = (await create(client, headers, body)).json()
    assert order["repeat"] == "LAST_DAY_OF_MONTH" and order["first_date"] == "2027-02-03"
    # February 2027 ends on Sunday the 28th: the next business day is Monday 1 March.
    assert datetime.fromisoformat(order["next_payment_at"]) == datetime(2027, 3, 1, 6, tzinfo=BANK_TIMEZONE)
    assert month_end(date(2028, 2, 1)) == date(2028, 2, 29)


async def test_pause_skips_the_dates_passed_and_resume_carries_on(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(saver["customer"])
    tomorrow = bank_day(datetime.now(UTC)) + timedelta(days=1)
    order = (await create(client, headers, to_savings(saver, repeat="WEEKLY", first_date=tomorrow.isoformat()))).json()
    paused = await client.post(f"{PATH}/{order['id']}/pause", headers=headers)
    assert paused.status_code == 200 and paused.json()["status"] == "PAUSED"
    assert paused.json()["next_payment_at"] is None
    assert (await client.post(f"{PATH}/{order['id']}/pause", headers=headers)).json()["status"] == "PAUSED"
    # Nothing runs while paused, even long after its date.
    assert await run_due_payment_orders(platform, now=datetime.now(UTC) + timedelta(days=20)) == 0
    # Two weeks later: the two dates passed meanwhile are skipped, the third is next.
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text(
                "UPDATE core_banking.payment_orders SET first_date = first_date - 14, updated_at = now() WHERE id = :id"
            ),
            {"id": uuid.UUID(order["id"])},
        )
    resumed = await client.post(f"{PATH}/{order['id']}/resume", headers=headers)
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["status"] == "ACTIVE"
    assert [(r["sequence"], r["outcome"], r["reason"]) for r in body["runs"]] == [
        (1, "SKIPPED", "PAUSED"),
        (2, "SKIPPED", "PAUSED"),
    ]
    assert datetime.fromisoformat(body["next_payment_at"]) > datetime.now(UTC)


async def test_a_scheduled_payment_cannot_be_paused_but_its_date_and_amount_can_change(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(saver["customer"])
    order = (await create(client, headers, to_savings(saver, repeat="ONCE", first_date="2027-06-01"))).json()
    assert order["kind"] == "SCHEDULED" and order["repeat"] == "ONCE"
    refused = await client.post(f"{PATH}/{order['id']}/pause", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "payment_order_conflict"
    changed = await client.patch(
        f"{PATH}/{order['id']}",
        headers=headers,
        json={"amount_minor": 7_500, "currency": "GBP", "first_date": "2027-06-07", "reference": "Holiday"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["amount_minor"], body["first_date"], body["reference"]) == (7_500, "2027-06-07", "Holiday")
    assert datetime.fromisoformat(body["next_payment_at"]) == datetime(2027, 6, 7, 6, tzinfo=BANK_TIMEZONE)
    assert body["next_amount_minor"] == 7_500
    end = await client.patch(f"{PATH}/{order['id']}", headers=headers, json={"count": 2})
    assert end.status_code == 422 and end.json()["detail"].startswith("count:")


async def test_a_larger_amount_needs_a_fresh_strong_authentication(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    order = (await create(client, sca_headers(saver["customer"]), to_savings(saver))).json()
    one_factor = sca_headers(saver["customer"], acr=None)
    large = await client.patch(
        f"{PATH}/{order['id']}", headers=one_factor, json={"amount_minor": 25_001, "currency": "GBP"}
    )
    assert large.status_code == 401 and "insufficient_user_authentication" in large.headers["www-authenticate"]
    small = await client.patch(
        f"{PATH}/{order['id']}", headers=one_factor, json={"amount_minor": 100, "currency": "GBP"}
    )
    assert small.status_code == 200 and small.json()["amount_minor"] == 100


async def test_cancel_stops_an_order_and_its_end_is_final(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    headers = sca_headers(saver["customer"])
    order = (await create(client, headers, to_savings(saver))).json()
    assert (await client.delete(f"{PATH}/{order['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"{PATH}/{order['id']}", headers=headers)).status_code == 204
    read = (await client.get(f"{PATH}/{order['id']}", headers=headers)).json()
    assert read["status"] == "CANCELLED" and read["next_payment_at"] is None
    for action in ("pause", "resume"):
        ended = await client.post(f"{PATH}/{order['id']}/{action}", headers=headers)
        assert ended.status_code == 409 and ended.json()["code"] == "payment_order_ended"
    assert await run_due_payment_orders(platform, now=datetime.now(UTC) + timedelta(days=40)) == 0


async def test_another_customers_order_is_not_found(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, saver: dict[str, uuid.UUID]
) -> None:
    order = (await create(client, sca_headers(saver["customer"]), to_savings(saver))).json()
    intruder = await new_customer(platform.sessions, platform.keyring, full_name="Eve Intruder")
    headers = sca_headers(intruder.id)
    url = f"{PATH}/{order['id']}"
    answers = [
        await client.get(url, headers=headers),
        await client.patch(url, headers=headers, json={"reference": "Mine now"}),
        await client.delete(url, headers=headers),
        await client.post(f"{url}/pause", headers=headers),
        await client.post(f"{url}/resume", headers=headers),
    ]
    assert [answer.status_code for answer in answers] == [404] * 5
    assert (await client.get(PATH, headers=headers)).json() == []
    # Nor can the intruder pay from or into the victim's accounts.
    own = await new_account(platform.sessions, platform.keyring, intruder.id, funded_minor=10_000)
    stolen_to = to_savings(saver, from_account_id=str(own.id))
    assert (await create(client, headers, stolen_to)).status_code == 404
    stolen_from = to_savings(saver, to_account_id=str(own.id))
    assert (await create(client, headers, stolen_from)).status_code == 404
    read = (await client.get(url, headers=sca_headers(saver["customer"]))).json()
    assert read["status"] == "ACTIVE" and read["reference"] == "Savings"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"repeat": "DAILY"}, "repeat"),
        ({"repeat": "ONCE", "count": 2}, "count"),
        ({"count": 0}, "count"),
        ({"count": 10_001}, "count"),
        ({"count": 3, "final_date": "2099-01-01"}, "count"),
        ({"first_date": "2020-01-01"}, "first_date"),
        ({"first_date": "9999-12-31"}, "first_date"),
        ({"first_date": "2027-02-30"}, "first_date"),
        ({"first_date": "2027-03-01", "final_date": "2027-02-01"}, "final_date"),
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": 10**30}, "amount_minor"),
        ({"amount_minor": "12.50"}, "amount_minor"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": "EUR"}, "currency"),
        ({"reference": "Rent\u0000"}, "reference"),
        ({"reference": "x" * 19}, "reference"),
        ({"to_account_id": None}, "payee_id"),
        ({"payee_id": str(uuid.UUID(int=1))}, "payee_id"),
        ({"from_account_id": "not-a-uuid"}, "from_account_id"),
        ({"every": "week"}, "every"),
    ],
    ids=[
        "daily",
        "once-with-count",
        "count-zero",
        "count-too-many",
        "two-ends",
        "past-date",
        "far-date",
        "no-such-day",
        "final-before-first",
        "zero-amount",
        "huge-amount",
        "decimal-amount",
        "unknown-currency",
        "other-currency",
        "nul-byte",
        "long-reference",
        "no-target",
        "two-targets",
        "bad-uuid",
        "unknown-field",
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    saver: dict[str, uuid.UUID],
    fields: dict[str, Any],
    field: str,
) -> None:
    body = to_savings(saver, **{name: value for name, value in fields.items() if value is not None})
    for name, value in fields.items():
        if value is None:
            body.pop(name)
    response = await create(client, sca_headers(saver["customer"]), body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"], response.json()
    async with unit_of_work(platform.sessions) as session:
        assert await session.scalar(text("SELECT count(*) FROM core_banking.payment_orders")) == 0

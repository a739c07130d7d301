"""The payment saga end to end in one process: accepted, screened, sent, answered; settled or compensated."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core_banking.accounts.models import InternalPurpose
from core_banking.payments.errors import PaymentNotFound
from faster_payments import service as scheme_service
from faster_payments.messages import Party
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import account, ledger_problems, new_account, new_customer

pytestmark = pytest.mark.usefixtures("rails")
ScaHeaders = Callable[..., dict[str, str]]

ALAN = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}


async def pay(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    debtor: uuid.UUID,
    payee: dict[str, Any],
    amount_minor: int = 1_000,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    body = {"debtor_account_id": str(debtor), "amount_minor": amount_minor, "currency": "GBP", "payee": payee, **extra}
    return await client.post(
        "/api/v1/payments", json=body, headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex}
    )


async def final(platform: Platform, payment_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """The payment's row once settled or rejected."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with unit_of_work(platform.sessions) as session:
            row = (
                (
                    await session.execute(
                        text("SELECT * FROM core_banking.payments WHERE id = :id"), {"id": uuid.UUID(payment_id)}
                    )
                )
                .mappings()
                .one()
            )
        if row["status"] in ("ACSC", "RJCT"):
            return dict(row)
        assert asyncio.get_running_loop().time() < deadline, f"payment {payment_id} still {row['status']}"
        await asyncio.sleep(0.05)


async def settlement_balance(platform: Platform) -> int:
    async with unit_of_work(platform.sessions) as session:
        balance = await session.scalar(
            text("SELECT booked_balance_minor FROM core_banking.accounts WHERE internal_purpose = :p"),
            {"p": InternalPurpose.FASTER_PAYMENTS.value},
        )
    return int(balance or 0)


@pytest.fixture
async def payer(platform: Platform) -> tuple[uuid.UUID, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=100_000)
    return customer.id, debtor.id


async def test_a_payment_to_another_bank_settles_against_the_scheme_account(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    response = await pay(client, sca_headers(customer_id), debtor, ALAN, 2_500, reference="Rent")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "PDNG" and accepted["amount_minor"] == 2_500
    assert (await account(platform.sessions, debtor)).balances.available.minor == 97_500

    row = await final(platform, accepted["id"])
    assert row["status"] == "ACSC" and row["route"] == "FASTER_PAYMENTS"
    after = await account(platform.sessions, debtor)
    assert (after.balances.booked.minor, after.balances.available.minor) == (97_500, 97_500)
    assert await settlement_balance(platform) == 2_500
    shown = (await client.get(f"/api/v1/payments/{accepted['id']}", headers=sca_headers(customer_id))).json()
    assert [step["status"] for step in shown["history"]] == ["PDNG", "ACSP", "ACSC"]
    assert shown["payee"]["name"] == "Alan Turing"
    async with unit_of_work(platform.sessions) as session:
        assert await ledger_problems(await session.connection()) == []


async def test_a_payment_between_customers_of_the_bank_settles_at_once(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    friend = await new_customer(platform.sessions, platform.keyring, full_name="Grace Hopper")
    payee_account = await new_account(platform.sessions, platform.keyring, friend.id)
    payee = {"name": "Grace Hopper", "iban": payee_account.iban}
    response = await pay(client, sca_headers(customer_id), debtor, payee, 4_000)
    assert response.status_code == 202, response.text
    row = await final(platform, response.json()["id"])
    assert (row["status"], row["route"]) == ("ACSC", "INTERNAL")
    assert (await account(platform.sessions, payee_account.id)).balances.booked.minor == 4_000
    assert (await account(platform.sessions, debtor)).balances.booked.minor == 96_000
    assert await settlement_balance(platform) == 0


@pytest.mark.parametrize(
    ("payee", "reason"),
    [
        ({"name": "Mary Seacole", "sort_code": "309634", "account_number": "18142912"}, "AC04"),  # closed
        ({"name": "Someone Else", "sort_code": "400515", "account_number": "76262352"}, "BE01"),  # name mismatch
        ({"name": "Nobody", "sort_code": "400515", "account_number": "00000000"}, "AC01"),  # not in the registry
    ],
)
async def test_a_rejected_payment_leaves_the_balance_as_before(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    payer: Any,
    payee: dict[str, str],
    reason: str,
) -> None:
    customer_id, debtor = payer
    response = await pay(client, sca_headers(customer_id), debtor, payee, 3_000)
    if response.status_code == 422:  # a number failing the modulus check never reaches the scheme
        assert reason == "AC01"
        assert (await account(platform.sessions, debtor)).balances.available.minor == 100_000
        return
    row = await final(platform, response.json()["id"])
    assert (row["status"], row["reason"]) == ("RJCT", reason)
    after = await account(platform.sessions, debtor)
    assert (after.balances.booked.minor, after.balances.available.minor) == (100_000, 100_000)
    assert await settlement_balance(platform) == 0


async def test_an_unanswered_payment_is_chased_then_rejected_and_its_hold_released(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    async with unit_of_work(platform.sessions) as session:
        await scheme_service.set_faults(session, drop_rate=1.0)
    response = await pay(client, sca_headers(customer_id), debtor, ALAN, 1_500)
    history = f"/api/v1/accounts/{debtor}/transactions"
    waiting = (await client.get(history, headers=sca_headers(customer_id))).json()
    assert [(p["direction"], p["amount_minor"]) for p in waiting["pending"]] == [("debit", 1_500)]
    row = await final(platform, response.json()["id"], timeout=20)
    after = (await client.get(history, headers=sca_headers(customer_id))).json()
    assert after["pending"] == [] and len(after["transactions"]) == 1  # the funding deposit only
    assert (row["status"], row["reason"]) == ("RJCT", "AB05") and row["status_requests"] >= 2
    assert (await account(platform.sessions, debtor)).balances.available.minor == 100_000


async def test_a_payment_received_from_another_bank_is_credited_once_however_often_it_arrives(
    platform: Platform, payer: Any
) -> None:
    _, creditor = payer
    ours = await account(platform.sessions, creditor)
    async with unit_of_work(platform.sessions) as session:
        await scheme_service.set_faults(session, duplicate_rate=1.0)
        sent = await scheme_service.send_inbound(
            session,
            debtor=Party(name="Alan Turing", sort_code="400515", account_number="76262352"),
            creditor=Party(name="Ada Lovelace", sort_code=ours.sort_code, account_number=ours.account_number),
            amount_minor=12_345,
            currency="GBP",
            reference="Invoice 7",
        )
    deadline = asyncio.get_running_loop().time() + 10
    while (await account(platform.sessions, creditor)).balances.booked.minor != 112_345:
        assert asyncio.get_running_loop().time() < deadline, (await account(platform.sessions, creditor)).balances
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the duplicate has had time to arrive
    assert (await account(platform.sessions, creditor)).balances.booked.minor == 112_345
    assert await settlement_balance(platform) == -12_345
    async with unit_of_work(platform.sessions) as session:
        answered = await scheme_service.get_transaction(session, sent.transaction_id)
    assert answered is not None and answered.status == "ACSC"


async def test_refusals_hold_nothing(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    headers = sca_headers(customer_id)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"amount_minor": 0}, 422, "amount_minor"),
        ({"amount_minor": -5}, 422, "amount_minor"),
        ({"amount_minor": 10**16}, 422, "amount_minor"),
        ({"amount_minor": 1.5}, 422, "amount_minor"),
        ({"amount_minor": 200_000}, 422, "insufficient_funds"),
        ({"payee": {**ALAN, "account_number": "76262353"}}, 422, "modulus"),
        ({"payee": {"name": "X", "iban": "GB00NWBK60161331926819"}}, 422, "IBAN"),
        ({"payee": {"name": "X", "iban": "DE89370400440532013000"}}, 422, "GB"),
        ({"payee": {"name": "X", "sort_code": "400515"}}, 422, "payee"),
        ({"currency": "EUR"}, 422, "currency"),
        ({"reference": "r" * 19}, 422, "reference"),
        ({"payee": {**ALAN, "name": "A\u0000B"}}, 422, ""),
    ]
    for change, status, mentions in cases:
        body = {"payee": ALAN, "amount_minor": 1_000, **change}
        payee, amount = body.pop("payee"), body.pop("amount_minor")
        response = await pay(client, headers, debtor, payee, amount, **body)
        assert response.status_code == status, (change, response.text)
        assert mentions in response.text, (change, response.text)
    other = await new_customer(platform.sessions, platform.keyring)
    foreign = await new_account(platform.sessions, platform.keyring, other.id, funded_minor=5_000)
    assert (await pay(client, headers, foreign.id, ALAN)).status_code == 404
    after = await account(platform.sessions, debtor)
    assert (after.balances.booked.minor, after.balances.available.minor) == (100_000, 100_000)
    async with unit_of_work(platform.sessions) as session:
        assert await session.scalar(text("SELECT count(*) FROM core_banking.payments")) == 0


async def test_the_same_key_gives_one_payment_even_in_parallel(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    headers = sca_headers(customer_id)
    responses = await asyncio.gather(*(pay(client, headers, debtor, ALAN, 700, key="same-key") for _ in range(8)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    other = await pay(client, headers, debtor, ALAN, 701, key="same-key")
    assert other.status_code == 422 and "idempotency" in other.text.lower()
    await final(platform, responses[0].json()["id"])
    assert (await account(platform.sessions, debtor)).balances.booked.minor == 99_300
    listed = (await client.get("/api/v1/payments", headers=headers)).json()
    assert [p["id"] for p in listed] == [responses[0].json()["id"]]


async def test_another_customer_cannot_see_a_payment(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    made = (await pay(client, sca_headers(customer_id), debtor, ALAN)).json()
    stranger = await new_customer(platform.sessions, platform.keyring)
    response = await client.get(f"/api/v1/payments/{made['id']}", headers=sca_headers(stranger.id))
    assert response.status_code == 404
    assert PaymentNotFound.code in response.text

"""The payment saga and customers' transfers with each fraud recommendation: BLOCK rejects (compensated),
REVIEW holds the funds until the customer confirms with SCA or an analyst releases (settles) or rejects it
(compensated), MONITOR and APPROVE go on; money is conserved whichever way a payment ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from audit.trail import platform_units
from bank.jobs import consumer_registry
from core_banking.app import create_app
from core_banking.facade import InProcessCoreBanking
from core_banking.jobs import run_payment_chase
from core_banking.payments import service
from core_banking.payments.errors import PaymentNotHeld
from faster_payments.dispatcher import run_dispatcher
from fraud.decisions import Decision, PaymentFacts, Recommendation, RuleHit
from obank.actor import Actor
from obank.claims import ACR_CA
from obank.database import unit_of_work
from obank.outbox.worker import run_worker
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.core_banking.helpers import account, ledger_problems, new_account, new_customer
from tests.core_banking.payments.test_payment_saga import final, settlement_balance

ScaHeaders = Callable[..., dict[str, str]]
ALAN = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}
FUNDED = 100_000


class Fixed:
    """The fraud decision a test sets: every payment gets `recommendation`, with one rule fired."""

    def __init__(self) -> None:
        self.recommendation = Recommendation.APPROVE
        self.asked: list[PaymentFacts] = []

    async def decide(self, payment: PaymentFacts) -> Decision:
        self.asked.append(payment)
        score = {"APPROVE": 0, "MONITOR": 40, "REVIEW": 70, "BLOCK": 100}[self.recommendation.value]
        return Decision(score, self.recommendation, (RuleHit("velocity", score),), engine="fixed")


@pytest.fixture
def fraud() -> Fixed:
    return Fixed()


@pytest.fixture
def app(platform: Platform, fraud: Fixed) -> FastAPI:
    return create_app(platform, fraud=fraud)


@pytest.fixture
async def rails(platform: Platform, fraud: Fixed) -> AsyncIterator[None]:
    stop = asyncio.Event()
    registry = consumer_registry(platform, fraud=fraud)
    tasks = [
        asyncio.create_task(run_worker(platform, registry, stop=stop, handle_signals=False)),
        asyncio.create_task(run_payment_chase(platform, stop)),
        asyncio.create_task(run_dispatcher(platform.sessions, stop, interval_s=0.02)),
    ]
    yield
    stop.set()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result


@pytest.fixture
async def payer(platform: Platform) -> tuple[uuid.UUID, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=FUNDED)
    return customer.id, debtor.id


async def pay(client: httpx.AsyncClient, headers: dict[str, str], debtor: uuid.UUID, amount: int) -> dict[str, Any]:
    body = {"debtor_account_id": str(debtor), "amount_minor": amount, "currency": "GBP", "payee": ALAN}
    response = await client.post(
        "/api/v1/payments", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def row_of(platform: Platform, payment_id: str) -> dict[str, Any]:
    async with unit_of_work(platform.sessions) as session:
        result = await session.execute(
            text("SELECT * FROM core_banking.payments WHERE id = :id"), {"id": uuid.UUID(payment_id)}
        )
        return dict(result.mappings().one())


async def in_review(platform: Platform, payment_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while (row := await row_of(platform, payment_id))["step"] != service.IN_REVIEW:
        assert asyncio.get_running_loop().time() < deadline, f"payment still at step {row['step']}"
        await asyncio.sleep(0.05)
    return row


async def events_of(platform: Platform, payment_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT event_type, payload FROM platform.outbox_events WHERE key = :key ORDER BY position"),
            {"key": payment_id},
        )
        return [(row.event_type, row.payload) for row in rows]


async def conserved(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as session:
        assert await ledger_problems(await session.connection()) == []


@pytest.mark.usefixtures("rails")
async def test_a_blocked_payment_is_rejected_and_its_funds_released(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, fraud: Fixed
) -> None:
    customer_id, debtor = payer
    fraud.recommendation = Recommendation.BLOCK
    payment = await pay(client, sca_headers(customer_id), debtor, 2_500)
    row = await final(platform, payment["id"])
    assert (row["status"], row["reason"], row["fraud_recommendation"]) == ("RJCT", "FRAD", "BLOCK")
    balances = (await account(platform.sessions, debtor)).balances
    assert (balances.booked.minor, balances.available.minor) == (FUNDED, FUNDED)
    assert await settlement_balance(platform) == 0
    flagged = [payload for kind, payload in await events_of(platform, payment["id"]) if kind == service.FRAUD_FLAGGED]
    assert flagged and flagged[0]["fraud"]["recommendation"] == "BLOCK"
    assert flagged[0]["fraud"]["rules"] == [{"rule": "velocity", "contribution": 100}]
    shown = (await client.get(f"/api/v1/payments/{payment['id']}", headers=sca_headers(customer_id))).json()
    assert shown["reason_text"] == service.FRAUD_TEXT  # general terms: never which rule fired
    (asked,) = fraud.asked
    assert asked.creditor_account == "40051576262352" and asked.external
    await conserved(platform)


@pytest.mark.usefixtures("rails")
async def test_a_payment_held_for_review_settles_once_an_analyst_releases_it(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, fraud: Fixed
) -> None:
    customer_id, debtor = payer
    fraud.recommendation = Recommendation.REVIEW
    payment = await pay(client, sca_headers(customer_id), debtor, 7_000)
    row = await in_review(platform, payment["id"])
    assert (row["status"], row["fraud_recommendation"]) == ("PDNG", "REVIEW")
    shown = (await client.get(f"/api/v1/payments/{payment['id']}", headers=sca_headers(customer_id))).json()
    assert shown["held_for"] == "FRAUD_REVIEW" and shown["confirm_by"] is not None
    balances = (await account(platform.sessions, debtor)).balances
    assert (balances.booked.minor, balances.available.minor) == (FUNDED, FUNDED - 7_000)

    core = InProcessCoreBanking(platform.sessions, platform.keyring)
    released = await core.release_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-1")
    assert released.held_for is None
    assert (await final(platform, payment["id"]))["status"] == "ACSC"
    again = await core.release_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-1")
    assert again.status.value == "ACSC"  # idempotent
    with pytest.raises(PaymentNotHeld):
        await core.reject_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-1")
    kinds = [kind for kind, _ in await events_of(platform, payment["id"])]
    assert kinds.count(service.FRAUD_FLAGGED) == 1 and kinds.count(service.RELEASED) == 1
    released_event = next(p for k, p in await events_of(platform, payment["id"]) if k == service.RELEASED)
    assert (released_event["released_by"], released_event["staff_id"]) == ("staff", "analyst-1")
    assert await settlement_balance(platform) == 7_000
    balances = (await account(platform.sessions, debtor)).balances
    assert (balances.booked.minor, balances.available.minor) == (FUNDED - 7_000, FUNDED - 7_000)
    await conserved(platform)


@pytest.mark.usefixtures("rails")
async def test_a_payment_held_for_review_rejected_by_an_analyst_is_compensated(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, fraud: Fixed
) -> None:
    customer_id, debtor = payer
    fraud.recommendation = Recommendation.REVIEW
    payment = await pay(client, sca_headers(customer_id), debtor, 9_000)
    await in_review(platform, payment["id"])
    core = InProcessCoreBanking(platform.sessions, platform.keyring)
    rejected = await core.reject_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-2")
    assert (rejected.status.value, rejected.reason) == ("RJCT", "FRAD")
    assert (await core.reject_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-2")).reason == "FRAD"
    with pytest.raises(PaymentNotHeld):
        await core.release_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-2")
    late = await client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=sca_headers(customer_id))
    assert late.status_code == 409, late.text
    balances = (await account(platform.sessions, debtor)).balances
    assert (balances.booked.minor, balances.available.minor) == (FUNDED, FUNDED)
    assert await settlement_balance(platform) == 0
    await conserved(platform)


@pytest.mark.usefixtures("rails")
async def test_the_customer_confirms_a_payment_held_for_review_with_a_fresh_strong_authentication(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, fraud: Fixed
) -> None:
    customer_id, debtor = payer
    fraud.recommendation = Recommendation.REVIEW
    payment = await pay(client, sca_headers(customer_id), debtor, 3_000)
    await in_review(platform, payment["id"])
    one_factor = sca_headers(customer_id, acr=ACR_CA)
    refused = await client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=one_factor)
    assert refused.status_code == 401 and "insufficient_user_authentication" in refused.headers["www-authenticate"]
    stranger = await new_customer(platform.sessions, platform.keyring)
    other = await client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=sca_headers(stranger.id))
    assert other.status_code == 404
    confirmed = await client.post(f"/api/v1/payments/{payment['id']}/confirm", headers=sca_headers(customer_id))
    assert confirmed.status_code == 200, confirmed.text
    assert (await final(platform, payment["id"]))["status"] == "ACSC"
    released = [p for k, p in await events_of(platform, payment["id"]) if k == service.RELEASED]
    assert [(p["released_by"], p["staff_id"]) for p in released] == [("customer", None)]
    await conserved(platform)


@pytest.mark.usefixtures("rails")
async def test_a_payment_left_in_review_past_its_window_is_rejected(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, fraud: Fixed
) -> None:
    customer_id, debtor = payer
    fraud.recommendation = Recommendation.REVIEW
    payment = await pay(client, sca_headers(customer_id), debtor, 4_000)
    row = await in_review(platform, payment["id"])
    deadline = row["answer_due_at"]
    assert deadline - row["created_at"] >= timedelta(seconds=platform.settings.fraud_review_window_s - 5)
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        assert await service.reject_unconfirmed(uow, now=deadline - timedelta(seconds=1)) == 0
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        assert await service.reject_unconfirmed(uow, now=deadline) == 1
    row = await final(platform, payment["id"])
    assert (row["status"], row["reason"]) == ("RJCT", "FRAD")
    assert (await account(platform.sessions, debtor)).balances.available.minor == FUNDED
    await conserved(platform)


@pytest.mark.usefixtures("rails")
@pytest.mark.parametrize("recommendation", [Recommendation.APPROVE, Recommendation.MONITOR])
async def test_approved_and_monitored_payments_go_on(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    payer: Any,
    fraud: Fixed,
    recommendation: Recommendation,
) -> None:
    customer_id, debtor = payer
    fraud.recommendation = recommendation
    payment = await pay(client, sca_headers(customer_id), debtor, 1_500)
    row = await final(platform, payment["id"])
    assert (row["status"], row["fraud_recommendation"]) == ("ACSC", recommendation.value)
    kinds = [kind for kind, _ in await events_of(platform, payment["id"])]
    assert service.FRAUD_FLAGGED not in kinds
    await conserved(platform)


async def test_a_payment_held_for_review_survives_a_restart_and_is_released_after_it(
    settings: Settings, fraud: Fixed, sca_headers: ScaHeaders
) -> None:
    """The hold is the payment's row and its ledger hold: a new platform (a restarted process) releases it."""
    first = build_platform(settings)
    customer = await new_customer(first.sessions, first.keyring)
    debtor = await new_account(first.sessions, first.keyring, customer.id, funded_minor=FUNDED)
    fraud.recommendation = Recommendation.REVIEW
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(first, consumer_registry(first, fraud=fraud), stop=stop, handle_signals=False)
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(first, fraud=fraud)), base_url="http://core-banking"
    ) as http:
        payment = await pay(http, sca_headers(customer.id), debtor.id, 5_000)
    await in_review(first, payment["id"])
    stop.set()
    await worker
    await first.close()

    second = build_platform(settings)
    try:
        stop = asyncio.Event()
        fraud.recommendation = Recommendation.APPROVE
        rails = asyncio.gather(
            run_worker(second, consumer_registry(second, fraud=fraud), stop=stop, handle_signals=False),
            run_dispatcher(second.sessions, stop, interval_s=0.02),
        )
        core = InProcessCoreBanking(second.sessions, second.keyring)
        await core.release_reviewed_payment(uuid.UUID(payment["id"]), staff_id="analyst-1")
        row = await final(second, payment["id"])
        assert (row["status"], row["route"]) == ("ACSC", "FASTER_PAYMENTS")
        stop.set()
        await rails
        await conserved(second)
    finally:
        await second.close()


# Customers' transfers to other customers ------------------------------------------------------------------


async def transfer(
    client: httpx.AsyncClient, headers: dict[str, str], source: uuid.UUID, destination: uuid.UUID, amount: int
) -> httpx.Response:
    body = {
        "source_account_id": str(source),
        "destination_account_id": str(destination),
        "amount_minor": amount,
        "currency": "GBP",
        "description": "Lunch",
    }
    return await client.post("/api/v1/transfers", json=body, headers={**headers, "Idempotency-Key": "t-1"})


async def test_transfers_are_screened_before_money_moves(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, fraud: Fixed
) -> None:
    customer_id, debtor = payer
    friend = await new_customer(platform.sessions, platform.keyring, full_name="Grace Hopper")
    friends = await new_account(platform.sessions, platform.keyring, friend.id)
    own_savings = await new_account(platform.sessions, platform.keyring, customer_id)

    fraud.recommendation = Recommendation.BLOCK
    stopped = await transfer(client, sca_headers(customer_id), debtor, friends.id, 2_000)
    assert stopped.status_code == 403, stopped.text
    assert stopped.json()["code"] == "transfer_stopped_by_fraud_checks"
    assert (await account(platform.sessions, debtor)).balances.booked.minor == FUNDED
    async with unit_of_work(platform.sessions) as session:
        recorded = await session.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'transfer.fraud_stopped'")
        )
    assert recorded == 1

    own = await transfer(client, sca_headers(customer_id), debtor, own_savings.id, 1_000)
    assert own.status_code == 201, own.text  # between one's own accounts: not screened
    assert [facts.creditor_account for facts in fraud.asked] == [f"{friends.sort_code}{friends.account_number}"]

    fraud.recommendation = Recommendation.REVIEW
    headers = {**sca_headers(customer_id, acr=ACR_CA)}
    body = {
        "source_account_id": str(debtor),
        "destination_account_id": str(friends.id),
        "amount_minor": 2_000,
        "currency": "GBP",
        "description": "Lunch",
    }
    challenge = await client.post("/api/v1/transfers", json=body, headers={**headers, "Idempotency-Key": "t-2"})
    assert challenge.status_code == 401 and "insufficient_user_authentication" in challenge.headers["www-authenticate"]
    made = await client.post(
        "/api/v1/transfers", json=body, headers={**sca_headers(customer_id), "Idempotency-Key": "t-2"}
    )
    assert made.status_code == 201, made.text
    assert (await account(platform.sessions, friends.id)).balances.booked.minor == 2_000
    async with unit_of_work(platform.sessions) as session:
        decisions = await session.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'transfer.fraud_decision'")
        )
        payload = await session.scalar(
            text(
                "SELECT payload FROM platform.outbox_events WHERE event_type = 'transfer.completed'"
                " ORDER BY position DESC LIMIT 1"
            )
        )
    assert decisions == 1
    assert payload["own_account"] is False
    assert payload["creditor_account"] == f"{friends.sort_code}{friends.account_number}"

"""An analyst releases or rejects a payment held for review through core banking's facade: the payment settles or
is rejected, the decision is noted on its alert, and the final status reaches the alert's link. Core banking's
saga, the scheme and the alerts consumer run on the outbox relay, as in `obank serve`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from core_banking.app import create_app as create_core_banking_app
from core_banking.jobs import scheme_timing
from core_banking.payments.consumers import saga_consumer
from core_banking.payments.consumers import scheme_consumer as payments_scheme_consumer
from faster_payments import service as scheme_service
from faster_payments.consumers import scheme_consumer as clearing_consumer
from faster_payments.dispatcher import run_dispatcher
from faster_payments.registry import ensure_registry
from fraud.alerts.consumers import alerts_consumer
from fraud.decisions import Decision, PaymentFacts, Recommendation, RuleHit
from obank.claims import ACR_SCA
from obank.database import unit_of_work
from obank.outbox.consumers import ConsumerRegistry
from obank.outbox.worker import run_worker
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.core_banking.helpers import new_account, new_customer
from tests.fraud.alerts.conftest import BASE, CREDITOR, alert_of_payment

ALAN = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}
FUNDED = 100_000


class Review:
    """Every payment goes to review, one rule fired."""

    async def decide(self, payment: PaymentFacts) -> Decision:
        return Decision(70, Recommendation.REVIEW, (RuleHit("new_payee_large_amount", 70),), engine="test")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbox_poll_interval_s": 0.02, "payments_scheme_answer_timeout_s": 5.0})


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    built = build_platform(settings)
    async with unit_of_work(built.sessions) as session:
        await ensure_registry(session)
        await scheme_service.set_faults(session, timeout_s=2.0)
    yield built
    await built.close()


@pytest.fixture
async def rails(platform: Platform) -> AsyncIterator[None]:
    """The relay with the saga (every payment to review), both sides of the scheme, and the alerts consumer."""
    registry = ConsumerRegistry()
    registry.register(saga_consumer(platform.keyring, Review(), scheme_timing(platform)))
    registry.register(payments_scheme_consumer(platform.keyring))
    registry.register(clearing_consumer(platform.keyring))
    registry.register(alerts_consumer(platform.keyring))
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_worker(platform, registry, stop=stop, handle_signals=False)),
        asyncio.create_task(run_dispatcher(platform.sessions, stop, interval_s=0.02)),
    ]
    yield
    stop.set()
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result


@pytest.fixture
async def bank(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """Core banking's app, where customers pay."""
    app = create_core_banking_app(platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as http:
        yield http


async def _pay(app: FastAPI, bank: httpx.AsyncClient, customer_id: uuid.UUID, debtor: uuid.UUID) -> str:
    """The customer pays Alan 70.00 with a fresh strong authentication; the payment's id."""
    principal = Principal(
        subject=str(customer_id),
        kind="customer",
        interaction_id=str(uuid.uuid4()),
        client_id="obank-web",
        scopes=frozenset({"accounts", "payments"}),
        acr=ACR_SCA,
        auth_time=int(time.time()) - 10,
    )
    assertion = app.state.internal_assertions.sign(principal, "core_banking")  # the gateway's key, shared
    body = {"debtor_account_id": str(debtor), "amount_minor": 7_000, "currency": "GBP", "payee": ALAN}
    response = await bank.post(
        "/api/v1/payments",
        json=body,
        headers={PRINCIPAL_HEADER: assertion, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def _eventually(platform: Platform, query: str, payment_id: str, expected: Any, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with unit_of_work(platform.sessions) as session:
            found = (await session.execute(text(query), {"p": uuid.UUID(payment_id)})).first()
        if found is not None and tuple(found) == expected:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still {found} rather than {expected}"
        await asyncio.sleep(0.05)


_LINK = "SELECT final_status, final_reason, released_by FROM fraud.alert_payments WHERE payment_id = :p"


@pytest.mark.usefixtures("rails")
async def test_an_analyst_releases_one_held_payment_and_rejects_another(
    platform: Platform, app: FastAPI, client: httpx.AsyncClient, bank: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=FUNDED)
    first = await _pay(app, bank, customer.id, debtor.id)
    await _eventually(platform, _LINK, first, (None, None, None))  # flagged: on an alert, held
    alert_id = await alert_of_payment(platform, uuid.UUID(first))

    released = await client.post(f"{BASE}/payments/{first}/release", headers=analyst)
    assert released.status_code == 200, released.text
    assert released.json()["decision"] == "released" and released.json()["alert_id"] == str(alert_id)
    await _eventually(platform, _LINK, first, ("ACSC", None, "staff"))
    again = await client.post(f"{BASE}/payments/{first}/release", headers=analyst)
    assert (again.status_code, again.json()["status"]) == (200, "ACSC")  # idempotent
    late = await client.post(f"{BASE}/payments/{first}/reject", headers=analyst)
    assert (late.status_code, late.json()["code"]) == (409, "payment_not_held")

    second = await _pay(app, bank, customer.id, debtor.id)
    await _eventually(platform, _LINK, second, (None, None, None))
    assert await alert_of_payment(platform, uuid.UUID(second)) == alert_id  # joins the customer's open alert
    rejected = await client.post(f"{BASE}/payments/{second}/reject", headers=analyst)
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["decision"], rejected.json()["status"], rejected.json()["reason"]) == (
        "rejected",
        "RJCT",
        "FRAD",
    )
    await _eventually(platform, _LINK, second, ("RJCT", "FRAD", None))

    detail = (await client.get(f"{BASE}/alerts/{alert_id}", headers=analyst)).json()
    assert [(note["author"], note["text"]) for note in detail["notes"]] == [
        ("analyst-1", f"the analyst released payment {first}"),
        ("analyst-1", f"the analyst rejected payment {second}"),
    ]
    assert {payment["creditor_account"] for payment in detail["payments"]} == {CREDITOR}

"""Fixtures for investigations: the audit app over a fresh database, staff assertions addressed to `audit`, and a
small bank story with real records from several contexts (onboarding, notification preferences, a payment the
fraud checks stop and the alert it raises, another customer's payment, a job over two accounts)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from audit.app import create_app
from audit.trail import platform_units
from bank.jobs import consumer_registry
from core_banking.app import create_app as create_core_banking_app
from faster_payments.registry import ensure_registry
from fraud.decisions import Decision, PaymentFacts, Recommendation, RuleHit
from notifications.customers import service as notifications
from notifications.customers.schemas import PreferencesUpdate
from obank.actor import Actor, ActorKind
from obank.claims import ACR_SCA
from obank.correlation import bind_correlation_id
from obank.database import unit_of_work
from obank.outbox.worker import run_worker
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.problems import PROBLEM_MEDIA_TYPE
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.core_banking.helpers import new_account, new_customer

BASE = "/admin/v1/audit"
HeadersFor = Callable[..., dict[str, str]]
ALAN = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The outbox relay polls every 20 ms, so the payment saga runs quickly."""
    return settings.model_copy(update={"outbox_poll_interval_s": 0.02})


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    built = build_platform(settings)
    async with unit_of_work(built.sessions) as session:
        await ensure_registry(session)  # the scheme's accounts, for confirmation of payee
    yield built
    await built.close()


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://audit") as http:
        yield http


@pytest.fixture
def headers_for(app: FastAPI) -> HeadersFor:
    """Headers carrying a gateway-signed assertion of a principal (staff by default) with `roles`."""

    def make(*roles: str, kind: PrincipalKind = "staff", subject: str = "staff-1") -> dict[str, str]:
        principal = Principal(
            subject=subject,
            kind=kind,
            interaction_id="00000000-0000-4000-8000-000000000000",
            roles=frozenset(roles),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "audit")}

    return make


def problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The problem document of a refusal with one of `statuses`."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["code"]
    return body


class Blocking:
    """The fraud checks stop every payment (BLOCK), so each raises an alert in the fraud context."""

    async def decide(self, payment: PaymentFacts) -> Decision:
        return Decision(100, Recommendation.BLOCK, (RuleHit("mule_account", 100),), engine="fixed")


@dataclass(frozen=True)
class Story:
    """Ids and correlation ids of what happened, each step bound to a correlation id of its own."""

    customer_id: uuid.UUID
    account_id: uuid.UUID
    payment_id: uuid.UUID
    onboarding: str
    preferences: str
    payment: str
    other_customer_id: uuid.UUID
    other_account_id: uuid.UUID
    other_onboarding: str
    other_payment: str
    statements_job: str


def new_correlation() -> str:
    """Bind a fresh correlation id, as a request or a job run would."""
    correlation_id = str(uuid.uuid4())
    bind_correlation_id(correlation_id)
    return correlation_id


async def rows(platform: Platform, query: str, **params: Any) -> list[Any]:
    async with unit_of_work(platform.sessions) as session:
        return list((await session.execute(text(query), params)).all())


async def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return found


async def _pay(platform: Platform, app: FastAPI, customer_id: uuid.UUID, account_id: uuid.UUID) -> uuid.UUID:
    """The customer pays Alan Turing £12.34 through core banking's API (signed in strongly a moment ago)."""
    principal = Principal(
        subject=str(customer_id),
        kind="customer",
        interaction_id="00000000-0000-4000-8000-000000000002",
        client_id="obank-web",
        scopes=frozenset({"accounts", "payments"}),
        acr=ACR_SCA,
        auth_time=int(time.time()) - 10,
    )
    headers = {
        PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking"),
        "Idempotency-Key": uuid.uuid4().hex,
    }
    body = {"debtor_account_id": str(account_id), "amount_minor": 1_234, "currency": "GBP", "payee": ALAN}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as http:
        response = await http.post("/api/v1/payments", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["id"])


async def _alerted(platform: Platform, payment_id: uuid.UUID) -> bool:
    found = await rows(platform, "SELECT 1 FROM fraud.alert_payments WHERE payment_id = :p", p=payment_id)
    final = await rows(platform, "SELECT 1 FROM core_banking.payments WHERE id = :p AND status = 'RJCT'", p=payment_id)
    return bool(found and final)


@pytest.fixture
async def story(platform: Platform) -> Story:
    """Two customers onboarded by staff; ours sets notification preferences; each pays and is stopped by the fraud
    checks (an alert each); then a statements job writes a record on both accounts under one correlation id."""
    onboarding = new_correlation()
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=100_000)
    other_onboarding = new_correlation()
    other = await new_customer(platform.sessions, platform.keyring)
    other_account = await new_account(platform.sessions, platform.keyring, other.id, funded_minor=100_000)

    preferences = new_correlation()
    async with platform_units(platform).begin(Actor(ActorKind.CUSTOMER, str(customer.id), "obank-web")) as uow:
        await notifications.replace_preferences(uow, customer.id, PreferencesUpdate(low_balance_threshold_minor=5_000))

    core_banking = create_core_banking_app(platform, fraud=Blocking())
    stop = asyncio.Event()
    registry = consumer_registry(platform, fraud=Blocking())
    worker = asyncio.create_task(run_worker(platform, registry, stop=stop, handle_signals=False))
    try:
        payment = new_correlation()
        payment_id = await _pay(platform, core_banking, customer.id, account.id)
        other_payment = new_correlation()
        other_payment_id = await _pay(platform, core_banking, other.id, other_account.id)
        await _until(lambda: _alerted(platform, payment_id))
        await _until(lambda: _alerted(platform, other_payment_id))
    finally:
        stop.set()
        await worker

    statements_job = new_correlation()
    async with platform_units(platform).begin(Actor.system("statements")) as uow:
        for account_id in (account.id, other_account.id):
            uow.audit(action="statement.issued", entity_type="account", entity_id=str(account_id), after={})
    new_correlation()  # the test's own requests come after, under another id
    return Story(
        customer_id=customer.id,
        account_id=account.id,
        payment_id=payment_id,
        onboarding=onboarding,
        preferences=preferences,
        payment=payment,
        other_customer_id=other.id,
        other_account_id=other_account.id,
        other_onboarding=other_onboarding,
        other_payment=other_payment,
        statements_job=statements_job,
    )


BEFORE = {"status": "ACTIVE", "holder": "Wilhelmina Plaintext"}
AFTER = {"status": "FROZEN", "holder": "Wilhelmina Plaintext"}


@pytest.fixture
async def record_id(platform: Platform) -> uuid.UUID:
    """One audit record, written by a unit of work as any context writes it: a support agent froze an account."""
    account_id = uuid.uuid4()
    new_correlation()
    async with platform_units(platform).begin(Actor(ActorKind.STAFF, "support-9")) as uow:
        uow.audit(action="account.frozen", entity_type="account", entity_id=str(account_id), before=BEFORE, after=AFTER)
    (row,) = await rows(platform, "SELECT record_id FROM audit.audit_records WHERE entity_id = :e", e=str(account_id))
    new_correlation()
    found: uuid.UUID = row.record_id
    return found

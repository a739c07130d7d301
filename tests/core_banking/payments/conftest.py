"""Payment fixtures: a platform whose outbox relay, scheme and chase run quickly, and rails to run them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from bank.jobs import consumer_registry
from core_banking.jobs import run_payment_chase
from faster_payments import service as scheme_service
from faster_payments.dispatcher import run_dispatcher
from faster_payments.registry import ensure_registry
from obank.claims import ACR_SCA
from obank.database import unit_of_work
from obank.outbox.worker import run_worker
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform, build_platform
from obank.settings import Settings

Rails = Callable[[], Any]
QUICK_SCHEME_WINDOW_S = 2.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Quick rails: the relay polls every 20 ms; the scheme, whose window is 2 s, is chased after 1 s, twice,
    then given up once its window has passed."""
    return settings.model_copy(
        update={
            "outbox_poll_interval_s": 0.02,
            "payments_scheme_answer_timeout_s": 1.0,
            "payments_status_requests": 2,
            "payments_scheme_window_s": QUICK_SCHEME_WINDOW_S,
            "payments_chase_interval_s": 0.05,
        }
    )


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    built = build_platform(settings)
    async with unit_of_work(built.sessions) as session:
        await ensure_registry(session)
        await scheme_service.set_faults(session, timeout_s=QUICK_SCHEME_WINDOW_S)
    yield built
    await built.close()


@asynccontextmanager
async def running(platform: Platform) -> AsyncIterator[None]:
    """The outbox relay with every consumer (saga, bank and, when embedded, the scheme's), the chase, and the
    scheme's dispatcher when embedded."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_worker(platform, consumer_registry(platform), stop=stop, handle_signals=False)),
        asyncio.create_task(run_payment_chase(platform, stop)),
    ]
    if platform.settings.scheme_embedded:
        tasks.append(asyncio.create_task(run_dispatcher(platform.sessions, stop, interval_s=0.02)))
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


@pytest.fixture
async def rails(platform: Platform) -> AsyncIterator[None]:
    async with running(platform):
        yield


@pytest.fixture
def sca_headers(app: FastAPI) -> Callable[..., dict[str, str]]:
    """Headers of customer `customer_id` signed in with password + TOTP `age_s` seconds ago (or with `acr`)."""

    def make(customer_id: uuid.UUID, *, acr: str | None = ACR_SCA, age_s: int = 10) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id),
            kind="customer",
            interaction_id="00000000-0000-4000-8000-000000000002",
            client_id="obank-web",
            scopes=frozenset({"accounts", "payments"}),
            acr=acr,
            auth_time=int(time.time()) - age_s,
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}

    return make

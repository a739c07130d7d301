"""The saga and the scheme over a real Kafka-protocol broker: embedded, and with the scheme as its own process."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from faster_payments import service as scheme_service
from faster_payments.messages import Party
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import account, new_account, new_customer
from tests.core_banking.payments.conftest import running
from tests.core_banking.payments.test_payment_saga import ALAN, final, pay

ROOT = Path(__file__).resolve().parents[3]
ScaHeaders = Callable[..., dict[str, str]]


@pytest.fixture
def settings(settings: Settings, kafka_bootstrap: str) -> Settings:
    return settings.model_copy(
        update={
            "kafka_bootstrap_servers": kafka_bootstrap,
            "kafka_topic_prefix": f"payments.{uuid.uuid4().hex[:8]}.",
            "kafka_idempotent_producer": False,  # Tansu's memory engine (see tests/obank/outbox/test_kafka.py)
            "payments_scheme_window_s": 60.0,
            "payments_scheme_answer_timeout_s": 5.0,
        }
    )


async def scenario(platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders) -> None:
    """An external payment settles, a refused one compensates, a duplicated inbound payment credits once."""
    async with unit_of_work(platform.sessions) as session:
        await scheme_service.set_faults(session, timeout_s=60, duplicate_rate=1.0)
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=50_000)
    headers = sca_headers(customer.id)
    settled = await pay(client, headers, debtor.id, ALAN, 1_000)
    closed = {"name": "Mary Seacole", "sort_code": "309634", "account_number": "18142912"}
    refused = await pay(client, headers, debtor.id, closed, 2_000)
    async with unit_of_work(platform.sessions) as session:
        await scheme_service.send_inbound(
            session,
            debtor=Party(name="Alan Turing", sort_code="400515", account_number="76262352"),
            creditor=Party(name="Ada Lovelace", sort_code=debtor.sort_code, account_number=debtor.account_number),
            amount_minor=700,
        )
    assert (await final(platform, settled.json()["id"], timeout=90))["status"] == "ACSC"
    assert (await final(platform, refused.json()["id"], timeout=90))["reason"] == "AC04"
    deadline = asyncio.get_running_loop().time() + 60
    while (await account(platform.sessions, debtor.id)).balances.booked.minor != 49_700:
        assert asyncio.get_running_loop().time() < deadline, (await account(platform.sessions, debtor.id)).balances
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # the duplicate has come through the broker too
    assert (await account(platform.sessions, debtor.id)).balances.booked.minor == 49_700


async def test_the_saga_and_the_embedded_scheme_through_the_broker(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders
) -> None:
    async with running(platform):
        await scenario(platform, client, sca_headers)


@pytest.fixture
async def scheme_process(settings: Settings) -> AsyncIterator[asyncio.subprocess.Process]:
    """`obank scheme run`: the scheme as a process of its own, reaching the bank only through Kafka."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
    env.update(
        {
            f"OBANK_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in settings.model_dump(mode="json").items()
            if value is not None and not isinstance(value, dict)
        }
    )
    env["OBANK_ENCRYPTION_KEYS"] = settings.encryption_keys or ""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bank.cli import main; main()", "scheme", "run", cwd=ROOT, env=env
    )
    yield process
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_the_scheme_as_its_own_process(
    settings: Settings,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    scheme_process: Any,
    platform: Platform,
) -> None:
    bank_only = dataclasses.replace(platform, settings=settings.model_copy(update={"scheme_embedded": False}))
    async with running(bank_only):
        await scenario(platform, client, sca_headers)

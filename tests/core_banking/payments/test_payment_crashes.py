"""A payments worker SIGKILLed between any two saga steps: the next worker ends the payment exactly once.

Each case submits one payment to another bank, starts a worker process (`saga_process.py`), waits until the
payment reaches the step named, kills the worker with SIGKILL, starts a fresh one, and checks the payment
ended settled or rejected, never both and never neither: the hold captured xor voided, one settlement entry
or none, and the customer's balance moved once or not at all.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.payments import service
from core_banking.payments.schemas import PaymentInitiation
from faster_payments import service as scheme_service
from obank.actor import Actor, ActorKind
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from obank.settings import Settings
from tests.core_banking.helpers import account, ledger_problems, new_account, new_customer

ROOT = Path(__file__).resolve().parents[3]
ALAN = CreditorAccount("Alan Turing", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "40051576262352")
FUNDED, AMOUNT = 50_000, 1_234
WINDOW_S = 10.0

State = dict[str, Any]


async def state(platform: Platform, payment_id: uuid.UUID) -> State:
    async with unit_of_work(platform.sessions) as session:
        row = (
            (
                await session.execute(
                    text(
                        "SELECT p.step, p.status, p.reason, p.status_requests, p.settlement_entry_id,"
                        " h.status AS hold_status, t.status AS scheme_status"
                        " FROM core_banking.payments p JOIN core_banking.holds h ON h.id = p.hold_id"
                        " LEFT JOIN faster_payments.transactions t ON t.tx_id = p.scheme_transaction_id"
                        " WHERE p.id = :id"
                    ),
                    {"id": payment_id},
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def start_worker(settings: Settings) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.core_banking.payments.saga_process",
        "--settings",
        settings.model_dump_json(),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line.strip() == b"running", line
    return process


async def until(platform: Platform, payment_id: uuid.UUID, reached: Callable[[State], bool], timeout: float) -> State:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        current = await state(platform, payment_id)
        if reached(current):
            return current
        assert asyncio.get_running_loop().time() < deadline, f"never reached: {current}"
        await asyncio.sleep(0.005)


def kill(process: asyncio.subprocess.Process) -> Awaitable[int]:
    process.send_signal(signal.SIGKILL)
    return process.wait()


# (name, scheme faults, the state at which the worker is killed, the final status expected)
CASES: list[tuple[str, dict[str, Any], Callable[[State], bool], str]] = [
    ("accepted, not screened", {}, lambda s: s["step"] == 1, "ACSC"),
    ("screened, not sent", {}, lambda s: s["step"] == 2, "ACSC"),
    ("sent, not answered", {"delay_min_ms": 600, "delay_max_ms": 800}, lambda s: s["step"] == 3, "ACSC"),
    (
        "answered by the scheme, not applied",
        {"delay_min_ms": 600, "delay_max_ms": 800},
        lambda s: s["step"] == 3 and s["scheme_status"] == "ACSC",
        "ACSC",
    ),
    ("rejected by the scheme, not applied", {}, lambda s: s["step"] == 3 and s["scheme_status"] == "RJCT", "RJCT"),
    ("chased, not given up", {"drop_rate": 1.0}, lambda s: s["status_requests"] >= 1 and s["step"] == 3, "RJCT"),
]


@pytest.mark.parametrize(("name", "faults", "reached", "expected"), CASES, ids=[case[0] for case in CASES])
async def test_a_worker_killed_between_two_steps_leaves_one_outcome(
    platform: Platform,
    settings: Settings,
    name: str,
    faults: dict[str, Any],
    reached: Callable[[State], bool],
    expected: str,
) -> None:
    # A slow relay opens a gap after each step, for the kill to fall into; the scheme's window is wide enough
    # for the restarts (10 s, on both sides).
    settings = settings.model_copy(update={"payments_scheme_window_s": WINDOW_S})
    slow = settings.model_copy(update={"outbox_poll_interval_s": 0.4})
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=FUNDED)
    creditor = ALAN
    if name.startswith("rejected"):
        creditor = CreditorAccount("Mary Seacole", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "30963418142912")
    async with unit_of_work(platform.sessions) as session:
        await scheme_service.set_faults(session, timeout_s=WINDOW_S, **faults)
        if name.startswith("rejected"):
            await scheme_service.set_faults(session, delay_min_ms=600, delay_max_ms=800)
    async with platform_units(platform).begin(Actor(ActorKind.CUSTOMER, str(customer.id))) as uow:
        payment = await service.submit_payment(
            uow, PaymentInitiation(customer.id, debtor.id, Money(AMOUNT, "GBP"), creditor, reference="Crash test")
        )

    first = await start_worker(slow)
    try:
        killed_at = await until(platform, payment.id, reached, timeout=30)
    finally:
        await kill(first)
    assert killed_at["status"] not in ("ACSC", "RJCT") or name.startswith("chased"), killed_at

    second = await start_worker(settings)
    try:
        done = await until(platform, payment.id, lambda s: s["status"] in ("ACSC", "RJCT"), timeout=30)
        await asyncio.sleep(1.0)  # any redelivery or late answer has arrived and changed nothing
        after = await state(platform, payment.id)
    finally:
        await kill(second)

    assert after == done
    assert after["status"] == expected, after
    balances = (await account(platform.sessions, debtor.id)).balances
    if expected == "ACSC":
        assert (after["hold_status"], after["settlement_entry_id"] is not None) == ("CAPTURED", True)
        assert (balances.booked.minor, balances.available.minor) == (FUNDED - AMOUNT, FUNDED - AMOUNT)
    else:
        assert (after["hold_status"], after["settlement_entry_id"]) == ("VOIDED", None)
        assert (balances.booked.minor, balances.available.minor) == (FUNDED, FUNDED)
    async with unit_of_work(platform.sessions) as session:
        entries = await session.scalar(
            text("SELECT count(*) FROM core_banking.journal_entries WHERE reference = :ref"), {"ref": str(payment.id)}
        )
        assert entries == (1 if expected == "ACSC" else 0)
        assert await ledger_problems(await session.connection()) == []

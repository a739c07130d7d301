"""`obank scheme ...` as an operator runs it: faults, the directory, a payment in, recent transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Protocol

import pytest
from typer.testing import CliRunner, Result

from faster_payments import service
from faster_payments.cli import app
from faster_payments.messages import CreditTransfer, decode
from faster_payments.schemas import Faults
from obank.database import unit_of_work
from obank.runtime import build_platform
from obank.settings import Settings, get_settings
from tests.faster_payments.conftest import outbox_to_bank


class Invoke(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Iterator[Invoke]:
    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    yield invoke
    get_settings.cache_clear()


def _faults(settings: Settings) -> Faults:
    async def read() -> Faults:
        platform = build_platform(settings)
        try:
            async with unit_of_work(platform.sessions) as session:
                return await service.get_faults(session)
        finally:
            await platform.close()

    return asyncio.run(read())


def _payments_to_bank(settings: Settings) -> list[CreditTransfer]:
    async def read() -> list[CreditTransfer]:
        platform = build_platform(settings)
        try:
            events = await outbox_to_bank(platform.sessions)
        finally:
            await platform.close()
        decoded = [decode(event.event_type, event.payload["xml"]) for event in events]
        return [message for message in decoded if isinstance(message, CreditTransfer)]

    return asyncio.run(read())


def test_operators_set_and_show_faults(run: Invoke, settings: Settings) -> None:
    result = run("faults", "--delay-ms", "100-2000", "--drop", "0.1", "--duplicate", "0.2", "--timeout-s", "5")
    assert result.exit_code == 0, result.output
    assert _faults(settings) == Faults(
        delay_min_ms=100, delay_max_ms=2000, drop_rate=0.1, duplicate_rate=0.2, timeout_s=5.0
    )
    shown = run("faults")
    assert shown.exit_code == 0 and "100-2000" in shown.output

    refused = run("faults", "--drop", "1.5")
    assert refused.exit_code == 2 and "between 0 and 1" in refused.output
    assert _faults(settings).drop_rate == 0.1


def test_operators_list_the_directory(run: Invoke) -> None:
    result = run("accounts")
    assert result.exit_code == 0, result.output
    for expected in ("Albion Mutual", "30-96-34", "56100526", "Ada Lovelace", "CLOSED"):
        assert expected in result.output


def test_operators_pay_a_customer_in_and_see_it_among_the_transactions(run: Invoke, settings: Settings) -> None:
    result = run(
        "pay-in",
        "--sort-code", "04-00-75",
        "--account-number", "00000017",
        "--name", "Grace Hopper",
        "--amount-minor", "1999",
        "--reference", "Thanks",
        "--payer", "400515-76262352",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (payment,) = _payments_to_bank(settings)
    assert payment.transaction_id in result.output and "GBP 19.99" in result.output
    assert (payment.creditor.sort_code, payment.creditor.account_number, payment.amount_minor) == (
        "040075",
        "00000017",
        1999,
    )
    assert payment.debtor.name == "Alan Turing"

    listed = run("transactions")
    assert listed.exit_code == 0, listed.output
    assert payment.transaction_id in listed.output and "PDNG" in listed.output


def test_a_payment_in_from_an_account_outside_the_directory_is_refused(run: Invoke, settings: Settings) -> None:
    result = run(
        "pay-in", "--sort-code", "040075", "--account-number", "00000017", "--name", "Grace Hopper",
        "--amount-minor", "100", "--payer", "309634-18142912",
    )  # fmt: skip
    assert result.exit_code == 2
    assert _payments_to_bank(settings) == []

"""Staff search for customers: by name or email (keyed hashes, normalised), by IBAN or sort code and account number
(normalised); exactly one way per request; customers onboarded before name hashes found once backfilled."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text
from typer.testing import CliRunner

from audit.trail import platform_units
from bank.cli import app as cli
from core_banking.accounts.models import AccountType
from core_banking.customer_search import service as search_service
from core_banking.customers import pii
from core_banking.customers import service as customers_service
from obank.actor import Actor
from obank.database import unit_of_work
from obank.runtime import Platform, build_platform
from obank.settings import Settings, get_settings
from tests.core_banking.conftest import CustomerHeadersFor, HeadersFor
from tests.core_banking.helpers import new_account, new_customer

SEARCH = "/admin/v1/customers"
FULL_WIDTH_ADA = "\uff21\uff44\uff41"  # "Ada" in full-width letters, which NFKC folds to ASCII


async def _found(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await client.get(SEARCH, params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_names_are_normalised_before_hashing() -> None:
    assert pii.normalise_name("  Ada \t  LOVELACE\n") == "ada lovelace"
    assert (
        pii.normalise_name(FULL_WIDTH_ADA + "\u3000Lovelace") == "ada lovelace"
    )  # full-width letters and space (NFKC)
    assert pii.normalise_name("Grete STRASSE") == pii.normalise_name("grete straße")  # case folding
    assert pii.normalise_name("Zoe\u0301") == pii.normalise_name("Zoé")  # composed and decomposed accents


async def test_staff_find_customers_by_each_key(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    ada = await new_customer(platform.sessions, platform.keyring, full_name="Ada Lovelace", email="Ada.L@Example.com")
    current = await new_account(platform.sessions, platform.keyring, ada.id)
    savings = await new_account(platform.sessions, platform.keyring, ada.id, account_type=AccountType.SAVINGS)
    grete = await new_customer(platform.sessions, platform.keyring, full_name="Grete Straße")
    other = await new_account(platform.sessions, platform.keyring, grete.id)
    auditor = headers_for("auditor")

    by_name = await _found(client, auditor, name="  ada   LOVELACE ")
    assert by_name == [
        {
            "id": str(ada.id),
            "full_name": "Ada Lovelace",
            "kyc_status": "VERIFIED",
            "created_at": by_name[0]["created_at"],
            "accounts": [
                {
                    "id": str(opened.id),
                    "iban": opened.iban,
                    "sort_code": "04-00-75",
                    "account_number": opened.account_number,
                    "status": "ACTIVE",
                }
                for opened in (current, savings)
            ],
        }
    ]
    assert [c["id"] for c in await _found(client, auditor, name=f"{FULL_WIDTH_ADA} Lovelace")] == [str(ada.id)]
    assert [c["id"] for c in await _found(client, auditor, name="GRETE STRASSE")] == [str(grete.id)]
    assert [c["id"] for c in await _found(client, auditor, email=" ada.l@EXAMPLE.com ")] == [str(ada.id)]
    spaced_iban = " ".join(other.iban[i : i + 4] for i in range(0, len(other.iban), 4)).lower()
    assert [c["id"] for c in await _found(client, auditor, iban=spaced_iban)] == [str(grete.id)]
    for sort_code in ("04-00-75", "040075"):
        found = await _found(client, auditor, sort_code=sort_code, account_number=savings.account_number)
        assert [c["id"] for c in found] == [str(ada.id)]

    for params in (
        {"name": "Ada Byron"},
        {"name": "Ada"},  # exact names only
        {"email": "nobody@example.com"},
        {"iban": "GB00OBNK04007500000000"},
        {"sort_code": "04-00-75", "account_number": "00000000"},
        {"sort_code": "11-22-33", "account_number": current.account_number},
    ):
        assert await _found(client, auditor, **params) == []


async def test_customers_sharing_a_name_are_all_found_oldest_first(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    first = await new_customer(platform.sessions, platform.keyring, full_name="John Smith")
    second = await new_customer(platform.sessions, platform.keyring, full_name="john smith")
    found = await _found(client, headers_for("support"), name="John Smith")
    assert [(c["id"], c["full_name"], c["accounts"]) for c in found] == [
        (str(first.id), "John Smith", []),
        (str(second.id), "john smith", []),
    ]


async def test_one_way_of_searching_per_request(
    client: httpx.AsyncClient, headers_for: HeadersFor, customer_headers: CustomerHeadersFor
) -> None:
    admin = headers_for("admin")
    refused: list[dict[str, str]] = [
        {},
        {"name": "Ada", "email": "ada@example.com"},
        {"iban": "GB29NWBK60161331926819", "sort_code": "04-00-75", "account_number": "12345678"},
        {"sort_code": "04-00-75"},
        {"account_number": "12345678"},
        {"sort_code": "04-00", "account_number": "12345678"},
        {"sort_code": "ab-cd-ef", "account_number": "12345678"},
        {"sort_code": "04-00-75", "account_number": "1234"},
        {"iban": "not an iban!"},
        {"name": "   "},
        {"name": "x" * 141},
        {"email": ""},
        {"name": "Ada\x00"},
    ]
    for params in refused:
        response = await client.get(SEARCH, params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    customer = await client.get(SEARCH, params={"name": "Ada"}, headers=customer_headers(uuid.uuid4()))
    assert (customer.status_code, customer.json()["code"]) == (403, "forbidden")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put logging back as it was: the CLI binds it to a stream closed after the test."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_customers_onboarded_before_name_hashes_are_found_once_backfilled(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    old = [await new_customer(platform.sessions, platform.keyring, full_name=f"Old Timer {n}") for n in range(3)]
    async with platform.engine.begin() as connection:
        await connection.execute(text("UPDATE core_banking.customers SET full_name_hash = NULL"))
    staff = headers_for("support")
    assert await _found(client, staff, name="Old Timer 1") == []

    units = platform_units(platform)
    done = []
    while True:
        async with units.begin(Actor.system("test")) as uow:
            batch = await customers_service.backfill_name_hashes(uow, batch_size=2)
        if not batch:
            break
        done.append(batch)
    assert done == [2, 1]
    assert [c["id"] for c in await _found(client, staff, name="old timer 1")] == [str(old[1].id)]
    async with platform.engine.connect() as connection:
        actions = await connection.execute(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'customer.name_hashes_backfilled'")
        )
        assert actions.scalar_one() == 2


def test_the_backfill_command(settings: Settings, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> None:
    async def onboard_before_name_hashes() -> uuid.UUID:
        platform = build_platform(settings)
        try:
            customer = await new_customer(platform.sessions, platform.keyring, full_name="Grace Hopper")
            async with platform.engine.begin() as connection:
                await connection.execute(text("UPDATE core_banking.customers SET full_name_hash = NULL"))
            return customer.id
        finally:
            await platform.close()

    async def found_by_name() -> list[uuid.UUID]:
        platform = build_platform(settings)
        try:
            async with unit_of_work(platform.sessions) as session:
                search = search_service.customer_search(name="grace hopper")
                return [c.id for c in await search_service.search_customers(session, platform.keyring, search)]
        finally:
            await platform.close()

    customer_id = asyncio.run(onboard_before_name_hashes())
    assert asyncio.run(found_by_name()) == []
    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["customers", "backfill-name-hashes"])
        assert result.exit_code == 0, result.output
        assert "for 1 customer(s)" in result.output
        again = CliRunner().invoke(cli, ["customers", "backfill-name-hashes"])
        assert "for 0 customer(s)" in again.output
    finally:
        get_settings.cache_clear()
    assert asyncio.run(found_by_name()) == [customer_id]

"""Payee fixtures: the app with the scheme's directory for confirmation of payee, customers with accounts, SCA
principals, and helpers to check and add payees through the API."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from audit.verify import decrypt_record
from core_banking.accounts.schemas import AccountRecord
from core_banking.app import create_app
from core_banking.customers.schemas import CustomerRecord
from faster_payments.facade import SchemeDirectory
from faster_payments.registry import ensure_registry
from obank.claims import ACR_SCA
from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.core_banking.helpers import new_account, new_customer

ScaHeaders = Callable[..., dict[str, str]]
BENEFICIARIES = "/api/v1/beneficiaries"
CONFIRMATIONS = "/api/v1/payee-confirmations"
# Accounts of the scheme's directory (faster_payments.registry).
ALAN = {"name": "Alan Turing", "sort_code": "40-05-15", "account_number": "76262352"}
ALAN_IBAN = "GB12 NWBK 4005 1576 2623 52"
BRUNEL_LTD = {"name": "Brunel Engineering Ltd", "sort_code": "560027", "account_number": "71289682"}
MARY_CLOSED = {"name": "Mary Seacole", "sort_code": "309634", "account_number": "18142912"}
NO_SUCH_ALBION = {"name": "Ada Lovelace", "sort_code": "309634", "account_number": "56100518"}  # modulus-valid
# A modulus-valid account (VocaLink's own example) at a sort code of no participant bank.
NOT_A_PARTICIPANT = {"name": "Jane Doe", "sort_code": "089999", "account_number": "66374958"}


@pytest.fixture
async def platform(settings: Settings) -> AsyncIterator[Platform]:
    built = build_platform(settings)
    async with unit_of_work(built.sessions) as session:
        await ensure_registry(session)
    yield built
    await built.close()


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform, payee_names=SchemeDirectory(platform.sessions))


@dataclass
class People:
    """The payer, and Grace Hopper: a customer of this bank with an account to be paid."""

    payer: CustomerRecord
    grace: CustomerRecord
    graces: AccountRecord
    other: CustomerRecord

    def grace_payee(self, name: str = "Grace Brewster Hopper") -> dict[str, str]:
        return {"name": name, "sort_code": self.graces.sort_code, "account_number": self.graces.account_number}


@pytest.fixture
async def people(platform: Platform) -> People:
    payer = await new_customer(platform.sessions, platform.keyring, full_name="Katherine Johnson")
    await new_account(platform.sessions, platform.keyring, payer.id)
    grace = await new_customer(platform.sessions, platform.keyring, full_name="Grace Brewster Hopper")
    graces = await new_account(platform.sessions, platform.keyring, grace.id)
    other = await new_customer(platform.sessions, platform.keyring, full_name="Dorothy Vaughan")
    return People(payer, grace, graces, other)


@pytest.fixture
def sca_headers(app: FastAPI) -> ScaHeaders:
    """Headers of customer `customer_id` signed in with password + TOTP `age_s` seconds ago (or with `acr`)."""

    def make(customer_id: uuid.UUID, *, acr: str | None = ACR_SCA, age_s: int = 10, **extra: str) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id),
            kind="customer",
            interaction_id="00000000-0000-4000-8000-000000000003",
            client_id="obank-web",
            scopes=frozenset({"accounts", "payments"}),
            acr=acr,
            auth_time=int(time.time()) - age_s,
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking"), **extra}

    return make


async def confirm(client: httpx.AsyncClient, headers: dict[str, str], payee: dict[str, str]) -> dict[str, Any]:
    """A confirmation of payee that must succeed; its answer."""
    response = await client.post(CONFIRMATIONS, json=payee, headers=headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def add(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any], *, key: str | None = None
) -> httpx.Response:
    return await client.post(BENEFICIARIES, json=body, headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex})


async def checked_and_added(
    client: httpx.AsyncClient, headers: dict[str, str], payee: dict[str, str], **extra: Any
) -> dict[str, Any]:
    """Check the payee, go on despite any warning, add it; the payee as answered."""
    answer = await confirm(client, headers, payee)
    despite = {} if answer["result"] == "MATCH" else {"confirmed_despite": answer["result"]}
    response = await add(client, headers, {**payee, "confirmation_id": answer["id"], **despite, **extra})
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


async def counts(platform: Platform) -> tuple[int, int, int, int]:
    """Payees, confirmations, payee events and payee audit records: what a refusal must leave as it was."""
    async with unit_of_work(platform.sessions) as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM core_banking.payees),"
                    " (SELECT count(*) FROM core_banking.payee_confirmations),"
                    " (SELECT count(*) FROM platform.outbox_events WHERE topic = 'core_banking.payees'),"
                    " (SELECT count(*) FROM audit.audit_records WHERE entity_type LIKE 'payee%')"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def payee_events(platform: Platform) -> list[tuple[str, str, dict[str, Any]]]:
    """(event type, key, payload) of every payee event, in order."""
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text(
                "SELECT event_type, key, payload FROM platform.outbox_events"
                " WHERE topic = 'core_banking.payees' ORDER BY position"
            )
        )
        return [(row.event_type, row.key, row.payload) for row in rows]


async def payee_audit(platform: Platform) -> list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]]:
    """(action, entity id, before, after) of every payee audit record, decrypted, in order."""
    async with unit_of_work(platform.sessions) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT record_id, action, entity_id FROM audit.audit_records"
                    " WHERE entity_type LIKE 'payee%' ORDER BY occurred_at, chain, sequence"
                )
            )
        ).all()
        found = []
        for row in rows:
            changes = await decrypt_record(session, platform.keyring, row.record_id)
            found.append((row.action, row.entity_id, changes.before, changes.after))
        return found

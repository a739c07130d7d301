"""POST/GET /api/v1/transfers: booked with its audit record and event, or refused as a problem changing nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from audit.verify import decrypt_record
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import InternalPurpose
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.conftest import CustomerHeadersFor, HeadersFor
from tests.core_banking.helpers import STAFF, account, count, new_account, new_customer

COUNTED = (
    "core_banking.postings",
    "core_banking.transfers",
    "core_banking.idempotency_keys",
    "audit.audit_records",
    "platform.outbox_events",
)


def transfer(source: object, destination: object, amount: object = 1_000, **overrides: Any) -> dict[str, Any]:
    return {
        "source_account_id": str(source),
        "destination_account_id": str(destination),
        "amount_minor": amount,
        "currency": "GBP",
        "description": "Rent",
        **overrides,
    }


async def counts(platform: Platform) -> dict[str, int]:
    async with platform.engine.connect() as connection:
        return {table: await count(connection, f"SELECT count(*) FROM {table}") for table in COUNTED}


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_a_transfer_is_booked_audited_published_and_readable_by_its_owner_only(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice = await new_customer(platform.sessions, platform.keyring)
    bob = await new_customer(platform.sessions, platform.keyring, full_name="Bob Payee")
    source = await new_account(platform.sessions, platform.keyring, alice.id, funded_minor=5_000)
    destination = await new_account(platform.sessions, platform.keyring, bob.id)
    response = await client.post(
        "/api/v1/transfers",
        json=transfer(source.id, destination.id, 1_250),
        headers=customer_headers(alice.id, **{"Idempotency-Key": "rent-nov"}),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "COMPLETED"
    assert (body["amount_minor"], body["currency"], body["description"]) == (1_250, "GBP", "Rent")
    assert (await account(platform.sessions, source.id)).booked_balance_minor == 3_750
    assert (await account(platform.sessions, destination.id)).booked_balance_minor == 1_250

    read = await client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers(alice.id))
    assert (read.status_code, read.json()) == (200, body)
    assert_problem(
        await client.get(f"/api/v1/transfers/{body['id']}", headers=customer_headers(bob.id)), 404, "transfer_not_found"
    )

    async with platform.engine.connect() as connection:
        event = (
            await connection.exec_driver_sql(
                "SELECT key, event_type, payload FROM platform.outbox_events WHERE topic = 'core_banking.transfers'"
            )
        ).one()
    assert (event.key, event.event_type) == (str(source.id), "transfer.completed")
    assert event.payload["transfer_id"] == body["id"] and event.payload["amount_minor"] == 1_250
    async with unit_of_work(platform.sessions) as session:
        actor_kind, actor_id, entity_id, after = await audited(session, platform, "transfer.completed")
    assert (actor_kind, actor_id, entity_id) == ("customer", str(alice.id), body["id"])
    assert after["destination_account_id"] == str(destination.id)


async def audited(session: AsyncSession, platform: Platform, action: str) -> tuple[str, str, str, dict[str, Any]]:
    """The one audit record of `action`: its actor, entity and decrypted `after`."""
    query = "SELECT record_id, actor_kind, actor_id, entity_id FROM audit.audit_records WHERE action = :action"
    row = (await session.execute(text(query), {"action": action})).one()
    changes = await decrypt_record(session, platform.keyring, row.record_id)
    assert changes.after is not None
    return row.actor_kind, row.actor_id, row.entity_id, changes.after


async def test_a_transfer_to_anothers_account_by_id_and_a_replay(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice = await new_customer(platform.sessions, platform.keyring)
    bob = await new_customer(platform.sessions, platform.keyring)
    source = await new_account(platform.sessions, platform.keyring, alice.id, funded_minor=5_000)
    destination = await new_account(platform.sessions, platform.keyring, bob.id)
    headers = customer_headers(alice.id, **{"Idempotency-Key": "gift"})
    first = await client.post("/api/v1/transfers", json=transfer(source.id, destination.id), headers=headers)
    # Key order and whitespace do not make another request; the retry gets the first answer.
    again = await client.post(
        "/api/v1/transfers", json=dict(reversed(transfer(source.id, destination.id).items())), headers=headers
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert (await account(platform.sessions, destination.id)).booked_balance_minor == 1_000
    # Keys belong to one customer: Bob's identical key is another request of his (refused: not his account).
    bobs = await client.post(
        "/api/v1/transfers",
        json=transfer(source.id, destination.id),
        headers=customer_headers(bob.id, **{"Idempotency-Key": "gift"}),
    )
    assert_problem(bobs, 404, "account_not_found")


async def test_refusals_change_nothing_and_answer_problem_documents(
    client: httpx.AsyncClient,
    customer_headers: CustomerHeadersFor,
    headers_for: HeadersFor,
    platform: Platform,
    units: UnitsOfWork,
) -> None:
    alice = await new_customer(platform.sessions, platform.keyring)
    mallory = await new_customer(platform.sessions, platform.keyring)
    funded = await new_account(
        platform.sessions, platform.keyring, alice.id, funded_minor=10_000, daily_limit_minor=3_000
    )
    payee = await new_account(platform.sessions, platform.keyring, alice.id)
    frozen = await new_account(platform.sessions, platform.keyring, alice.id, funded_minor=1_000)
    euros = await new_account(platform.sessions, platform.keyring, alice.id, currency="EUR", funded_minor=1_000)
    mallorys_account = await new_account(platform.sessions, platform.keyring, mallory.id, funded_minor=1_000)
    async with units.begin(STAFF) as uow:
        await accounts_service.freeze_account(uow, frozen.id, "suspected fraud")
        settlement = await accounts_service.ensure_internal_account(uow, InternalPurpose.SETTLEMENT, "GBP")
    cases: list[tuple[dict[str, Any], int, str]] = [
        (transfer(frozen.id, payee.id, 100), 409, "account_frozen"),
        (transfer(funded.id, euros.id, 100), 422, "currency_mismatch"),
        (transfer(euros.id, payee.id, 100, currency="EUR"), 422, "currency_mismatch"),
        (transfer(funded.id, payee.id, 10_001), 422, "insufficient_funds"),
        (transfer(funded.id, payee.id, 3_001), 422, "limit_exceeded"),
        (transfer(mallorys_account.id, payee.id, 100), 404, "account_not_found"),
        (transfer(funded.id, uuid.uuid4(), 100), 404, "account_not_found"),
        (transfer(funded.id, settlement.id, 100), 404, "account_not_found"),
        (transfer(funded.id, funded.id, 100), 422, "same_account"),
        (transfer(funded.id, payee.id, 10.5), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 10.0), 422, "invalid_request"),
        (transfer(funded.id, payee.id, "100"), 422, "invalid_request"),
        (transfer(funded.id, payee.id, True), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 0), 422, "invalid_request"),
        (transfer(funded.id, payee.id, -100), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 10**16), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 100, currency="gbp"), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 100, currency="XXQ"), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 100, description="  "), 422, "invalid_request"),
        (transfer(funded.id, payee.id, 100, beneficiary="someone"), 422, "invalid_request"),
        (transfer("not-a-uuid", payee.id, 100), 422, "invalid_request"),
        ({"source_account_id": str(funded.id), "amount_minor": 100}, 422, "invalid_request"),
    ]
    before = await counts(platform)
    for number, (body, status, code) in enumerate(cases):
        headers = customer_headers(alice.id, **{"Idempotency-Key": f"refused-{number}"})
        response = await client.post("/api/v1/transfers", json=body, headers=headers)
        assert_problem(response, status, code)
    # A refusal stores nothing but its answer (replayed to a retry with the same key).
    after = await counts(platform)
    keys = "core_banking.idempotency_keys"
    assert {**after, keys: before[keys]} == before
    balances = [(await account(platform.sessions, a.id)).booked_balance_minor for a in (funded, payee, frozen, euros)]
    assert balances == [10_000, 0, 1_000, 1_000]

    valid = transfer(funded.id, payee.id, 100)
    assert_problem(
        await client.post("/api/v1/transfers", json=valid, headers=customer_headers(alice.id)), 422, "invalid_request"
    )
    assert_problem(await client.post("/api/v1/transfers", json=valid), 401, "unauthenticated")
    staff = headers_for("admin", **{"Idempotency-Key": "staff"})
    assert_problem(await client.post("/api/v1/transfers", json=valid, headers=staff), 403, "forbidden")
    reader = customer_headers(alice.id, scopes=["accounts"], **{"Idempotency-Key": "reader"})
    assert_problem(await client.post("/api/v1/transfers", json=valid, headers=reader), 403, "insufficient_scope")
    assert await counts(platform) == after

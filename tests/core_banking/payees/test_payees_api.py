"""A customer's payees: listed, read, renamed (nickname) or re-referenced, deleted; another customer's are not
found; each change writes its event and audit record, with no personal data in either."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.payees.conftest import (
    ALAN,
    ALAN_IBAN,
    BENEFICIARIES,
    People,
    ScaHeaders,
    checked_and_added,
    counts,
    payee_audit,
    payee_events,
)


async def test_list_get_update_and_delete_a_payee(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, customer_headers: Any, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    alan = await checked_and_added(client, headers, ALAN, nickname="Prof")
    grace = await checked_and_added(client, headers, people.grace_payee(), reference="LUNCH")
    reader = customer_headers(people.payer.id, scopes=["accounts"])

    listed = await client.get(BENEFICIARIES, headers=reader)
    assert listed.status_code == 200
    assert [payee["id"] for payee in listed.json()] == [alan["id"], grace["id"]]
    fetched = await client.get(f"{BENEFICIARIES}/{alan['id']}", headers=reader)
    assert fetched.json() == alan

    changed = await client.patch(
        f"{BENEFICIARIES}/{alan['id']}", json={"nickname": None, "reference": "BOOKS"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["nickname"], changed.json()["reference"], changed.json()["name"]) == (
        None,
        "BOOKS",
        "Alan Turing",
    )
    kept = await client.patch(f"{BENEFICIARIES}/{alan['id']}", json={"nickname": "Alan"}, headers=headers)
    assert (kept.json()["nickname"], kept.json()["reference"]) == ("Alan", "BOOKS")

    deleted = await client.delete(f"{BENEFICIARIES}/{alan['id']}", headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert [payee["id"] for payee in (await client.get(BENEFICIARIES, headers=reader)).json()] == [grace["id"]]
    for method in ("GET", "PATCH", "DELETE"):
        gone = await client.request(method, f"{BENEFICIARIES}/{alan['id']}", json={}, headers=headers)
        assert gone.status_code == 404, (method, gone.text)
        assert gone.json()["code"] == "payee_not_found"


async def test_another_customers_payee_is_not_found_and_stays_as_it_was(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    theirs = await checked_and_added(client, sca_headers(people.other.id), ALAN)
    mine = sca_headers(people.payer.id)
    before = await counts(platform)

    for method, body in (("GET", None), ("PATCH", {"nickname": "Mine now"}), ("DELETE", None)):
        response = await client.request(method, f"{BENEFICIARIES}/{theirs['id']}", json=body, headers=mine)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["code"] == "payee_not_found"
    assert (await client.get(BENEFICIARIES, headers=mine)).json() == []
    assert await counts(platform) == before
    still = await client.get(f"{BENEFICIARIES}/{theirs['id']}", headers=sca_headers(people.other.id))
    assert still.json() == theirs


@pytest.mark.parametrize(
    "field", ["name", "sort_code", "account_number", "iban", "cop_result", "cooling_off_until", "id"]
)
async def test_the_name_and_account_of_a_payee_never_change(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, field: str
) -> None:
    headers = sca_headers(people.payer.id)
    payee = await checked_and_added(client, headers, ALAN)
    before = await counts(platform)

    response = await client.patch(f"{BENEFICIARIES}/{payee['id']}", json={field: "x"}, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")
    assert await counts(platform) == before
    assert (await client.get(f"{BENEFICIARIES}/{payee['id']}", headers=headers)).json() == payee


async def test_reads_need_the_accounts_scope_and_changes_the_payments_scope(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, customer_headers: Any, people: People
) -> None:
    payee = await checked_and_added(client, sca_headers(people.payer.id), ALAN)
    payments_only = customer_headers(people.payer.id, scopes=["payments"])
    accounts_only = customer_headers(people.payer.id, scopes=["accounts"])

    assert (await client.get(BENEFICIARIES, headers=payments_only)).status_code == 403
    assert (await client.get(f"{BENEFICIARIES}/{payee['id']}", headers=payments_only)).status_code == 403
    patched = await client.patch(f"{BENEFICIARIES}/{payee['id']}", json={"nickname": "A"}, headers=accounts_only)
    assert patched.status_code == 403
    assert (await client.delete(f"{BENEFICIARIES}/{payee['id']}", headers=accounts_only)).status_code == 403
    assert (await client.get(BENEFICIARIES, headers={})).status_code == 401


async def test_each_change_writes_its_event_and_audit_record_in_its_transaction(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    payee = await checked_and_added(client, headers, ALAN)
    payee_id = payee["id"]
    await client.patch(f"{BENEFICIARIES}/{payee_id}", json={"reference": "NEW REF"}, headers=headers)
    await client.patch(f"{BENEFICIARIES}/{payee_id}", json={}, headers=headers)  # nothing changes: no event
    await client.delete(f"{BENEFICIARIES}/{payee_id}", headers=headers)

    events = await payee_events(platform)
    assert [(event, key) for event, key, _ in events] == [
        ("payee.added", payee_id),
        ("payee.updated", payee_id),
        ("payee.deleted", payee_id),
    ]
    added = events[0][2]
    assert added == {
        "payee_id": payee_id,
        "customer_id": str(people.payer.id),
        "confirmation_id": added["confirmation_id"],
        "cop_result": "MATCH",
        "cop_reason": None,
        "cooling_off_until": added["cooling_off_until"],
        "has_nickname": False,
        "has_reference": False,
        "deleted": False,
        "created_at": added["created_at"],
    }
    assert (events[1][2]["has_reference"], events[2][2]["deleted"]) == (True, True)
    audit = [(action, entity) for action, entity, _, _ in await payee_audit(platform)]
    assert audit[1:] == [("payee.added", payee_id), ("payee.updated", payee_id), ("payee.deleted", payee_id)]
    assert audit[0][0] == "payee.confirmation_checked"
    records = await payee_audit(platform)
    assert [after for _, _, _, after in records[1:]] == [payload for _, _, payload in events]
    assert records[2][2] is not None and records[2][2]["has_reference"] is False  # the update's `before`


async def test_no_personal_data_reaches_events_audit_records_or_the_payee_row(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    payee = await checked_and_added(
        client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN}, nickname="Uncle Bletchley", reference="ENIGMA"
    )
    await client.patch(f"{BENEFICIARIES}/{payee['id']}", json={"nickname": "Codebreaker"}, headers=headers)
    close = await checked_and_added(client, headers, people.grace_payee("Grace Hopper"))
    await client.delete(f"{BENEFICIARIES}/{close['id']}", headers=headers)

    written = json.dumps(
        {"events": await payee_events(platform), "audit": await payee_audit(platform)}, default=str
    ).casefold()
    secrets = ["Alan", "Turing", "Bletchley", "Codebreaker", "ENIGMA", "Grace", "Hopper", "76262352", "NWBK"]
    secrets.append(people.graces.account_number)
    for secret in secrets:
        assert secret.casefold() not in written, secret
    async with unit_of_work(platform.sessions) as session:
        rows = (await session.execute(text("SELECT name_sealed, nickname_sealed FROM core_banking.payees"))).all()
    for name_sealed, nickname_sealed in rows:
        assert b"Turing" not in name_sealed and b"Hopper" not in name_sealed
        assert nickname_sealed is None or b"Bletchley" not in nickname_sealed


async def test_a_deleted_payees_row_stays_for_the_history_that_names_it(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    payee = await checked_and_added(client, headers, ALAN)

    await client.delete(f"{BENEFICIARIES}/{payee['id']}", headers=headers)

    async with unit_of_work(platform.sessions) as session:
        deleted_at = (
            await session.execute(
                text("SELECT deleted_at FROM core_banking.payees WHERE id = :id"), {"id": uuid.UUID(payee["id"])}
            )
        ).scalar_one()
    assert deleted_at is not None

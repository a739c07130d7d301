"""Adding a payee: a fresh strong authentication, an unexpired confirmation of this very payee by the same
customer, the customer going on despite a warning, a cooling-off from now, one active payee per account."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core_banking.payees import repository, service
from core_banking.payees.errors import PayeeNotFound
from core_banking.payees.models import Payee
from obank.claims import ACR_CA, ACR_SCA
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.payees.conftest import (
    ALAN,
    ALAN_IBAN,
    BENEFICIARIES,
    NO_SUCH_ALBION,
    NOT_A_PARTICIPANT,
    People,
    ScaHeaders,
    add,
    checked_and_added,
    confirm,
    counts,
    payee_events,
)


@pytest.mark.parametrize(
    "signed_in",
    [{"acr": None}, {"acr": ACR_CA}, {"acr": ACR_SCA, "age_s": 301}],
    ids=["no-acr", "one-factor", "strong-but-stale"],
)
async def test_adding_a_payee_needs_a_fresh_strong_authentication(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, signed_in: dict[str, Any]
) -> None:
    answer = await confirm(client, sca_headers(people.payer.id), ALAN)
    before = await counts(platform)

    body = {**ALAN, "confirmation_id": answer["id"]}
    refused = await add(client, sca_headers(people.payer.id, **signed_in), body, key="k1")

    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "insufficient_user_authentication"
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_user_authentication"')
    assert f'acr_values="{ACR_SCA}"' in challenge and "max_age=300" in challenge
    assert await counts(platform) == before
    # Stepped up, the same key goes through: the refusal was not kept as the key's answer.
    added = await add(client, sca_headers(people.payer.id), body, key="k1")
    assert added.status_code == 201, added.text


async def test_a_matched_payee_is_added_with_its_check_and_a_cooling_off_from_now(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)
    body = {**ALAN, "confirmation_id": answer["id"], "reference": "RENT-FLAT 2", "nickname": "Landlord"}
    started = datetime.now(UTC)

    response = await add(client, headers, body)

    assert response.status_code == 201, response.text
    payee = response.json()
    assert {key: payee[key] for key in ("name", "sort_code", "account_number", "iban", "reference", "nickname")} == {
        "name": "Alan Turing",
        "sort_code": "400515",
        "account_number": "76262352",
        "iban": None,
        "reference": "RENT-FLAT 2",
        "nickname": "Landlord",
    }
    assert (payee["cop_result"], payee["cop_reason"]) == ("MATCH", None)
    created = datetime.fromisoformat(payee["created_at"])
    assert started <= created <= datetime.now(UTC)
    assert datetime.fromisoformat(payee["cooling_off_until"]) == created + timedelta(hours=24)
    listed = await client.get(BENEFICIARIES, headers=headers)
    assert [item["id"] for item in listed.json()] == [payee["id"]]


@pytest.mark.parametrize(
    ("payee", "result", "actual_name"),
    [
        ({**ALAN, "name": "A Turing"}, "CLOSE_MATCH", "Alan Turing"),
        ({**ALAN, "name": "Ada Lovelace"}, "NO_MATCH", None),
        (NO_SUCH_ALBION, "NO_MATCH", None),
        (NOT_A_PARTICIPANT, "UNAVAILABLE", None),
    ],
    ids=["close-match", "no-match", "no-such-account", "unavailable"],
)
async def test_a_payee_that_did_not_match_needs_the_customer_to_go_on_despite_the_warning(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    people: People,
    payee: dict[str, str],
    result: str,
    actual_name: str | None,
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, payee)
    assert answer["result"] == result
    body = {**payee, "confirmation_id": answer["id"]}
    before = await counts(platform)

    for despite in (None, "MATCH" if result != "MATCH" else None, *({"NO_MATCH", "CLOSE_MATCH"} - {result})):
        warned = await add(client, headers, {**body, "confirmed_despite": despite}, key="same-key")
        assert warned.status_code == 409, warned.text
        problem = warned.json()
        assert (problem["code"], problem["result"], problem["reason"]) == (
            "confirmation_of_payee",
            result,
            answer["reason"],
        )
        assert problem.get("actual_name") == actual_name
        assert warned.headers["content-type"] == "application/problem+json"
    assert await counts(platform) == before

    # Nothing was kept under the key: the confirmed request may use it.
    added = await add(client, headers, {**body, "confirmed_despite": result}, key="same-key")
    assert added.status_code == 201, added.text
    assert (added.json()["cop_result"], added.json()["cop_reason"]) == (result, answer["reason"])


async def test_going_on_despite_a_match_is_refused_naming_the_field(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)

    response = await add(client, headers, {**ALAN, "confirmation_id": answer["id"], "confirmed_despite": "NO_MATCH"})

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("confirmed_despite: ")


async def _expire(platform: Platform, confirmation_id: str) -> None:
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text(
                "UPDATE core_banking.payee_confirmations SET created_at = created_at - interval '16 minutes',"
                " expires_at = expires_at - interval '16 minutes' WHERE id = :id"
            ),
            {"id": confirmation_id},
        )


@pytest.mark.parametrize(
    "case", ["missing", "unknown", "expired", "another-customers", "another-account", "another-name", "iban-of-another"]
)
async def test_a_payee_without_its_own_unexpired_confirmation_is_refused_naming_confirmation_id(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, case: str
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)
    body: dict[str, Any] = {**ALAN, "confirmation_id": answer["id"]}
    if case == "missing":
        del body["confirmation_id"]
    elif case == "unknown":
        body["confirmation_id"] = str(uuid.uuid4())
    elif case == "expired":
        await _expire(platform, answer["id"])
    elif case == "another-customers":
        body["confirmation_id"] = (await confirm(client, sca_headers(people.other.id), ALAN))["id"]
    elif case == "another-account":
        body = {**people.grace_payee("Alan Turing"), "confirmation_id": answer["id"]}
    elif case == "another-name":
        body["name"] = "Alan M Turing"
    else:
        iban = {"name": "Alan Turing", "iban": "GB29 NWBK 6016 1331 9268 19"}
        body = {**iban, "confirmation_id": answer["id"]}
    before = await counts(platform)

    response = await add(client, headers, body)

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("confirmation_id: ")
    assert await counts(platform) == before


async def test_the_same_account_written_as_its_iban_passes_the_check_made_by_number(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)

    response = await add(client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN, "confirmation_id": answer["id"]})

    assert response.status_code == 201, response.text
    payee = response.json()
    assert (payee["iban"], payee["sort_code"], payee["account_number"]) == (
        "GB12NWBK40051576262352",
        "400515",
        "76262352",
    )


async def test_one_active_payee_per_account_and_again_once_deleted(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    first = await checked_and_added(client, headers, ALAN)
    before = await counts(platform)

    answer = await confirm(client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN})
    again = await add(client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN, "confirmation_id": answer["id"]})

    assert again.status_code == 409, again.text
    assert again.json()["code"] == "payee_exists"
    assert (await counts(platform))[0] == before[0]
    assert (await client.delete(f"{BENEFICIARIES}/{first['id']}", headers=headers)).status_code == 204
    # Deleted, the account may be a payee again (the check names the account, however it is written).
    readded = await add(client, headers, {**ALAN, "confirmation_id": answer["id"]})
    assert readded.status_code == 201, readded.text
    assert readded.json()["id"] != first["id"]
    # Another customer may have the same payee.
    assert (await checked_and_added(client, sca_headers(people.other.id), ALAN))["name"] == "Alan Turing"


async def test_a_retry_with_the_key_replays_the_payee_as_it_stands_and_another_body_is_refused(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)
    body = {**ALAN, "confirmation_id": answer["id"]}
    first = await add(client, headers, body, key="k-replay")
    await client.patch(f"{BENEFICIARIES}/{first.json()['id']}", json={"nickname": "Alan"}, headers=headers)

    replayed = await add(client, headers, body, key="k-replay")
    reused = await add(client, headers, {**body, "reference": "OTHER"}, key="k-replay")

    assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["id"] == first.json()["id"] and replayed.json()["nickname"] == "Alan"
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert (await counts(platform))[0] == 1
    async with unit_of_work(platform.sessions) as session:
        sealed, clear = (
            await session.execute(text("SELECT response_sealed, response_body FROM core_banking.idempotency_keys"))
        ).one()
    assert clear is None and b"Turing" not in sealed


async def test_resolve_payee_gives_the_payment_its_creditor_reference_and_cooling_off(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    added = await checked_and_added(client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN}, reference="INV 42")

    async with unit_of_work(platform.sessions) as session:
        resolved = await service.resolve_payee(session, platform.keyring, people.payer.id, uuid.UUID(added["id"]))
        for customer_id, payee_id in ((people.other.id, uuid.UUID(added["id"])), (people.payer.id, uuid.uuid4())):
            with pytest.raises(PayeeNotFound):
                await service.resolve_payee(session, platform.keyring, customer_id, payee_id)

    assert (resolved.creditor.name, resolved.creditor.scheme.value, resolved.creditor.identification) == (
        "Alan Turing",
        "UK.OBIE.IBAN",
        "GB12NWBK40051576262352",
    )
    assert resolved.reference == "INV 42"
    assert resolved.cooling_off_until == datetime.fromisoformat(added["cooling_off_until"])
    assert resolved.cooling_off(datetime.now(UTC)) and not resolved.cooling_off(resolved.cooling_off_until)
    await client.delete(f"{BENEFICIARIES}/{added['id']}", headers=headers)
    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(PayeeNotFound) as refused:
            await service.resolve_payee(session, platform.keyring, people.payer.id, uuid.UUID(added["id"]))
    assert refused.value.status == 404


async def test_two_concurrent_adds_of_one_account_make_one_payee(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    by_number = await confirm(client, headers, ALAN)
    by_iban = await confirm(client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN})

    answers = await asyncio.gather(
        add(client, headers, {**ALAN, "confirmation_id": by_number["id"]}),
        add(client, headers, {"name": "Alan Turing", "iban": ALAN_IBAN, "confirmation_id": by_iban["id"]}),
    )

    assert sorted(answer.status_code for answer in answers) == [201, 409], [answer.text for answer in answers]
    assert [answer.json()["code"] for answer in answers if answer.status_code == 409] == ["payee_exists"]
    assert (await counts(platform))[0] == 1
    assert [event for event, _, _ in await payee_events(platform)] == ["payee.added"]


async def test_the_unique_index_refuses_a_second_active_payee_and_leaves_the_transaction_usable(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    first = await checked_and_added(client, sca_headers(people.payer.id), ALAN)

    async with unit_of_work(platform.sessions) as session:
        row = await repository.get_active(session, uuid.UUID(first["id"]), people.payer.id)
        assert row is not None
        columns = [column.key for column in Payee.__table__.columns if column.key != "id"]
        twin = Payee(**{column: getattr(row, column) for column in columns})
        twin.id = uuid.uuid4()
        session.expunge(row)
        assert await repository.add(session, twin) is False
        assert len(await repository.list_active(session, people.payer.id)) == 1

"""Bad input to every payee route is a problem+json 422 naming the field, and changes nothing; never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from obank.runtime import Platform
from tests.core_banking.payees.conftest import (
    ALAN,
    BENEFICIARIES,
    CONFIRMATIONS,
    People,
    ScaHeaders,
    checked_and_added,
    confirm,
    counts,
)

# (id, changes to a good payee body, the field the refusal names)
ACCOUNT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("sort-code-short", {"sort_code": "40-05"}, "sort_code"),
    ("sort-code-letters", {"sort_code": "AB-CD-EF"}, "sort_code"),
    ("sort-code-without-number", {"account_number": None}, "account_number"),
    ("number-without-sort-code", {"sort_code": None}, "sort_code"),
    ("account-number-seven-digits", {"account_number": "7626235"}, "account_number"),
    ("modulus-check-fails", {"account_number": "76262353"}, "account_number"),
    ("iban-bad-check-digits", {"sort_code": None, "account_number": None, "iban": "GB13NWBK40051576262352"}, "iban"),
    ("iban-not-gb", {"sort_code": None, "account_number": None, "iban": "DE89370400440532013000"}, "iban"),
    ("iban-garbage", {"sort_code": None, "account_number": None, "iban": "not an iban"}, "iban"),
    ("iban-and-number", {"iban": "GB12NWBK40051576262352"}, "iban"),
    ("no-account-at-all", {"sort_code": None, "account_number": None}, "sort_code"),
    ("name-empty", {"name": ""}, "name"),
    ("name-blank", {"name": "   "}, "name"),
    ("name-too-long", {"name": "A" * 141}, "name"),
    ("name-punctuation-only", {"name": "..."}, "name"),
    ("name-nul", {"name": "Alan\u0000Turing"}, "name"),
    ("name-c1-control", {"name": "Alan\u0085Turing"}, "name"),
    ("name-not-text", {"name": 42}, "name"),
    ("name-missing", {"name": None}, "name"),
    ("unknown-field", {"colour": "blue"}, "colour"),
]
REFERENCE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("reference-too-long", {"reference": "R" * 19}, "reference"),
    ("reference-empty", {"reference": ""}, "reference"),
    ("reference-emoji", {"reference": "RENT \U0001f3e0"}, "reference"),
    ("reference-underscore", {"reference": "RENT_MAY"}, "reference"),
    ("reference-semicolon", {"reference": "RENT;DROP"}, "reference"),
    ("reference-nul", {"reference": "RENT\u0000"}, "reference"),
    ("nickname-too-long", {"nickname": "N" * 41}, "nickname"),
    ("nickname-tab", {"nickname": "Uncle\tAlan"}, "nickname"),
    ("confirmed-despite-unknown", {"confirmed_despite": "PROBABLY"}, "confirmed_despite"),
    ("confirmation-id-not-uuid", {"confirmation_id": "cop-1"}, "confirmation_id"),
]


def _body(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes`; a change to None leaves the field out."""
    body = {**base, **changes}
    return {name: value for name, value in body.items() if value is not None or name not in changes}


def _names_the_field(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert f"{field}: " in response.json()["detail"], response.json()["detail"]


@pytest.mark.parametrize(("changes", "field"), [c[1:] for c in ACCOUNT_CASES], ids=[c[0] for c in ACCOUNT_CASES])
async def test_a_confirmation_with_bad_input_names_the_field(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    people: People,
    changes: dict[str, Any],
    field: str,
) -> None:
    before = await counts(platform)

    response = await client.post(CONFIRMATIONS, json=_body(ALAN, changes), headers=sca_headers(people.payer.id))

    _names_the_field(response, field)
    assert await counts(platform) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [c[1:] for c in ACCOUNT_CASES + REFERENCE_CASES],
    ids=[c[0] for c in ACCOUNT_CASES + REFERENCE_CASES],
)
async def test_a_new_payee_with_bad_input_names_the_field(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    people: People,
    changes: dict[str, Any],
    field: str,
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)
    before = await counts(platform)

    body = _body({**ALAN, "confirmation_id": answer["id"]}, changes)
    response = await client.post(BENEFICIARIES, json=body, headers={**headers, "Idempotency-Key": "bad-1"})

    _names_the_field(response, field)
    assert await counts(platform) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [c[1:] for c in REFERENCE_CASES if c[2] in {"reference", "nickname"}],
    ids=[c[0] for c in REFERENCE_CASES if c[2] in {"reference", "nickname"}],
)
async def test_a_change_with_bad_input_names_the_field(
    platform: Platform,
    client: httpx.AsyncClient,
    sca_headers: ScaHeaders,
    people: People,
    changes: dict[str, Any],
    field: str,
) -> None:
    headers = sca_headers(people.payer.id)
    payee = await checked_and_added(client, headers, ALAN, reference="GOOD REF")
    before = await counts(platform)

    response = await client.patch(f"{BENEFICIARIES}/{payee['id']}", json=changes, headers=headers)

    _names_the_field(response, field)
    assert await counts(platform) == before
    assert (await client.get(f"{BENEFICIARIES}/{payee['id']}", headers=headers)).json() == payee


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{BENEFICIARIES}/not-a-uuid", None),
        ("PATCH", f"{BENEFICIARIES}/not-a-uuid", {}),
        ("DELETE", f"{BENEFICIARIES}/12345", None),
        ("POST", CONFIRMATIONS, ["not", "an", "object"]),
        ("POST", BENEFICIARIES, "just a string"),
        ("PATCH", f"{BENEFICIARIES}/00000000-0000-4000-8000-000000000000", []),
    ],
    ids=["get-bad-id", "patch-bad-id", "delete-bad-id", "confirm-array", "add-string", "patch-array"],
)
async def test_malformed_requests_are_422_never_5xx(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, method: str, path: str, body: Any
) -> None:
    headers = {**sca_headers(people.payer.id), "Idempotency-Key": "malformed-1"}

    response = await client.request(method, path, json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_new_payee_needs_an_idempotency_key(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    answer = await confirm(client, headers, ALAN)

    response = await client.post(BENEFICIARIES, json={**ALAN, "confirmation_id": answer["id"]}, headers=headers)

    _names_the_field(response, "Idempotency-Key")


async def test_a_raw_nul_in_the_body_is_refused_before_anything_runs(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    before = await counts(platform)
    raw = b'{"name": "Alan\\u0000", "sort_code": "400515", "account_number": "76262352"}'

    response = await client.post(
        CONFIRMATIONS, content=raw, headers={**sca_headers(people.payer.id), "content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert "control characters" in response.json()["detail"]
    assert await counts(platform) == before

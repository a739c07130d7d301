"""Confirmation of payee: MATCH, CLOSE_MATCH with the holder's name (MBAM), NO_MATCH (ANNM), no such account
(AC01) or UNAVAILABLE, for this bank's customers and for the scheme's other banks; the names sealed at rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from core_banking.app import create_app
from core_banking.payees.confirmation import match_name, name_tokens
from core_banking.payees.models import CopResult
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.payees.conftest import (
    ALAN,
    ALAN_IBAN,
    BRUNEL_LTD,
    CONFIRMATIONS,
    MARY_CLOSED,
    NO_SUCH_ALBION,
    NOT_A_PARTICIPANT,
    People,
    ScaHeaders,
    confirm,
)
from tests.core_banking.payees.conftest import (
    payee_audit as read_audit,
)


@pytest.mark.parametrize(
    ("given", "holder", "result"),
    [
        ("Ada Lovelace", "Ada Lovelace", CopResult.MATCH),
        ("  MRS ada   LOVELACE. ", "Ada Lovelace", CopResult.MATCH),
        ("Dr Ada Lovelace", "Ada Lovelace", CopResult.MATCH),
        ("Tim Berners Lee", "Tim Berners-Lee", CopResult.MATCH),
        ("Brunel Engineering Limited", "Brunel Engineering Ltd", CopResult.MATCH),
        ("Brunel Engineering", "Brunel Engineering Ltd", CopResult.MATCH),
        ("Thames and Mercia", "Thames & Mercia", CopResult.MATCH),
        ("Zoë O'Brien", "Zoe OBrien", CopResult.MATCH),
        ("J Smith", "John Smith", CopResult.CLOSE_MATCH),
        ("John Smith", "J. Smith", CopResult.CLOSE_MATCH),
        ("A. M. Turing", "Alan Mathison Turing", CopResult.CLOSE_MATCH),
        ("Alan Turing", "Alan Mathison Turing", CopResult.CLOSE_MATCH),
        ("Ada Lovelase", "Ada Lovelace", CopResult.CLOSE_MATCH),
        ("Lovelace Ada", "Ada Lovelace", CopResult.CLOSE_MATCH),
        ("Charlie Babbage", "Charles Babbage", CopResult.CLOSE_MATCH),
        ("Alan Turing", "Ada Lovelace", CopResult.NO_MATCH),
        ("Ada Byron", "Ada Lovelace", CopResult.NO_MATCH),
        ("Ada", "Ada Lovelace", CopResult.NO_MATCH),
        ("B Smith", "John Smith", CopResult.NO_MATCH),
        ("J Smyth", "John Jones", CopResult.NO_MATCH),
    ],
    ids=lambda value: value.value if isinstance(value, CopResult) else value,
)
def test_names_match_after_normalisation_closely_by_spelling_or_initials(
    given: str, holder: str, result: CopResult
) -> None:
    assert match_name(given, holder) is result


def test_normalisation_drops_case_accents_punctuation_titles_and_company_suffixes() -> None:
    assert name_tokens("  Mr.  José  Álvarez-Núñez  LIMITED ") == ["jose", "alvarez", "nunez"]
    assert name_tokens("Dr") == ["dr"]  # a name that is nothing but a title keeps it


def _body(payee: dict[str, str], **changes: str) -> dict[str, str]:
    return {**payee, **changes}


SCHEME_CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("match", ALAN, {"result": "MATCH", "reason": None, "actual_name": None}),
    ("match-by-iban", {"name": "Alan Turing", "iban": ALAN_IBAN}, {"result": "MATCH", "reason": None}),
    (
        "close-match",
        _body(ALAN, name="A Turing"),
        {"result": "CLOSE_MATCH", "reason": "MBAM", "actual_name": "Alan Turing"},
    ),
    ("company-match", _body(BRUNEL_LTD, name="Brunel Engineering Limited"), {"result": "MATCH", "reason": None}),
    ("no-match", _body(ALAN, name="Ada Lovelace"), {"result": "NO_MATCH", "reason": "ANNM", "actual_name": None}),
    ("no-such-account", NO_SUCH_ALBION, {"result": "NO_MATCH", "reason": "AC01", "actual_name": None}),
    ("closed-account", MARY_CLOSED, {"result": "NO_MATCH", "reason": "AC01", "actual_name": None}),
    ("not-a-participant", NOT_A_PARTICIPANT, {"result": "UNAVAILABLE", "reason": None, "actual_name": None}),
]


@pytest.mark.parametrize(("payee", "expected"), [case[1:] for case in SCHEME_CASES], ids=[c[0] for c in SCHEME_CASES])
async def test_a_scheme_banks_payee_is_checked_against_the_schemes_directory(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, payee: dict[str, str], expected: dict[str, Any]
) -> None:
    answer = await confirm(client, sca_headers(people.payer.id), payee)

    assert {name: answer[name] for name in expected} == expected
    expires_at = datetime.fromisoformat(answer["expires_at"])
    assert timedelta(minutes=14) < expires_at - datetime.now(expires_at.tzinfo) <= timedelta(minutes=15)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Grace Brewster Hopper", {"result": "MATCH", "reason": None, "actual_name": None}),
        ("grace  brewster HOPPER", {"result": "MATCH", "reason": None, "actual_name": None}),
        ("Grace Hopper", {"result": "CLOSE_MATCH", "reason": "MBAM", "actual_name": "Grace Brewster Hopper"}),
        ("G B Hopper", {"result": "CLOSE_MATCH", "reason": "MBAM", "actual_name": "Grace Brewster Hopper"}),
        ("Katherine Johnson", {"result": "NO_MATCH", "reason": "ANNM", "actual_name": None}),
    ],
    ids=["match", "match-any-case", "close-match", "close-match-initials", "no-match"],
)
async def test_this_banks_own_customer_is_checked_against_the_customer_record(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, name: str, expected: dict[str, Any]
) -> None:
    answer = await confirm(client, sca_headers(people.payer.id), people.grace_payee(name))

    assert {key: answer[key] for key in expected} == expected


async def test_an_account_number_this_bank_never_issued_is_ac01_and_a_closed_one_too(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    headers = sca_headers(people.payer.id)
    unknown = {"name": "Grace Hopper", "sort_code": "04-00-75", "account_number": "09999998"}
    assert (await confirm(client, headers, unknown))["reason"] == "AC01"

    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.accounts SET status = 'CLOSED' WHERE id = :id"), {"id": people.graces.id}
        )
    closed = await confirm(client, headers, people.grace_payee())
    assert (closed["result"], closed["reason"]) == ("NO_MATCH", "AC01")


async def test_without_a_directory_every_other_bank_is_unavailable_but_this_bank_still_answers(
    platform: Platform, sca_headers: ScaHeaders, people: People
) -> None:
    bare: FastAPI = create_app(platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://core-banking") as client:
        headers = sca_headers(people.payer.id)
        assert (await confirm(client, headers, ALAN))["result"] == "UNAVAILABLE"
        assert (await confirm(client, headers, people.grace_payee()))["result"] == "MATCH"


async def test_the_names_are_sealed_at_rest_and_the_audit_record_holds_only_the_answer(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    answer = await confirm(client, sca_headers(people.payer.id), _body(ALAN, name="A Turing"))

    async with unit_of_work(platform.sessions) as session:
        row = (
            await session.execute(
                text("SELECT * FROM core_banking.payee_confirmations WHERE id = :id"), {"id": answer["id"]}
            )
        ).one()
    stored = repr(tuple(row))
    assert "Turing" not in stored and b"Turing" not in row.name_sealed and b"Turing" not in row.actual_name_sealed
    audit = await read_audit(platform)
    assert [(action, entity) for action, entity, _, _ in audit] == [("payee.confirmation_checked", answer["id"])]
    assert audit[0][3] == {
        "confirmation_id": answer["id"],
        "customer_id": str(people.payer.id),
        "result": "CLOSE_MATCH",
        "reason": "MBAM",
    }


async def test_a_confirmation_needs_the_payments_scope(
    client: httpx.AsyncClient, customer_headers: Any, people: People
) -> None:
    response = await client.post(
        CONFIRMATIONS, json=ALAN, headers=customer_headers(people.payer.id, scopes=["accounts"])
    )

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "insufficient_scope"

"""GET /transactions and /accounts/{AccountId}/transactions: booked lines newest first, a page at a time.

Ada's current account: 100.00 salary (10 Sep), 25.00 rent out (20 Sep), 10.00 bonus (5 Oct), 2.00 refund in
(21 Oct), 3.00 interest (15 Nov), all at 10:00 UTC; her savings: the rent in, the refund out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from audit.trail import platform_units
from core_banking.ledger import service as ledger_service
from obank.actor import Actor
from obank.money import Money
from open_banking.aisp.queries import transactions_per_page
from tests.open_banking.aisp.conftest import (
    AISP,
    BASIC,
    DETAIL,
    PUBLIC,
    TRANSACTION_DETAIL_ONLY,
    Bank,
    P,
    ReaderHeaders,
    at,
    error_of,
)
from tests.open_banking.contract import Contract

TRANSACTIONS = (P.READ_TRANSACTIONS_DETAIL, P.READ_TRANSACTIONS_CREDITS, P.READ_TRANSACTIONS_DEBITS)


def described(response: httpx.Response) -> list[tuple[str, str, str]]:
    return [
        (line["CreditDebitIndicator"], line["Amount"]["Amount"], line["BookingDateTime"][:10])
        for line in response.json()["Data"]["Transaction"]
    ]


@pytest.fixture
def two_a_page(app: FastAPI) -> Iterator[None]:
    app.dependency_overrides[transactions_per_page] = lambda: 2
    yield
    app.dependency_overrides.clear()


async def test_a_detail_consent_shows_each_line_with_its_narrative_and_balance(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*DETAIL)
    path = f"{AISP}/accounts/{bank.current.id}/transactions"

    response = await client.get(path, headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    assert described(response) == [
        ("Credit", "3.00", "2026-11-15"),
        ("Credit", "2.00", "2026-10-21"),
        ("Credit", "10.00", "2026-10-05"),
        ("Debit", "25.00", "2026-09-20"),
        ("Credit", "100.00", "2026-09-10"),
    ]
    interest, *_, rent, _ = response.json()["Data"]["Transaction"]
    assert interest == {
        "AccountId": str(bank.current.id),
        "TransactionId": interest["TransactionId"],
        "CreditDebitIndicator": "Credit",
        "Status": "BOOK",
        "TransactionMutability": "Immutable",
        "BookingDateTime": interest["BookingDateTime"],
        "Amount": {"Amount": "3.00", "Currency": "GBP"},
        "ProprietaryBankTransactionCode": {"Code": "DEPOSIT"},
        "TransactionInformation": "Interest",
        "Balance": {"CreditDebitIndicator": "Credit", "Type": "ITBD", "Amount": {"Amount": "90.00", "Currency": "GBP"}},
    }
    assert datetime.fromisoformat(interest["BookingDateTime"]) == at(11, 15)
    assert rent["TransactionInformation"] == "Rent"
    assert rent["Balance"]["Amount"] == {"Amount": "75.00", "Currency": "GBP"}
    body = response.json()
    assert body["Links"] == {"Self": PUBLIC + path}  # one page: neither Next nor Prev
    assert body["Meta"] == {}  # cursor pages: how many there are is not known


async def test_a_basic_consent_never_shows_the_detail_fields(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*BASIC)

    for path in ("/transactions", f"/accounts/{bank.current.id}/transactions"):
        response = await client.get(AISP + path, headers=reader_headers(consent.id))
        assert response.status_code == 200, response.text
        contract.check(response)
        lines = response.json()["Data"]["Transaction"]
        assert lines
        for line in lines:
            assert not TRANSACTION_DETAIL_ONLY & set(line), line
        for narrative in ("Salary", "Rent", "Bonus", "Interest"):
            assert narrative not in response.text


async def test_bulk_transactions_cover_every_account_of_the_consent_newest_first(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*TRANSACTIONS)

    response = await client.get(AISP + "/transactions", headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    lines = response.json()["Data"]["Transaction"]
    assert len(lines) == 7
    assert {line["AccountId"] for line in lines} == {str(bank.current.id), str(bank.savings.id)}
    booked = [line["BookingDateTime"] for line in lines]
    assert booked == sorted(booked, reverse=True)


@pytest.mark.parametrize(
    ("query", "expected", "conforms"),
    [
        # Both ends inclusive.
        ({"fromBookingDateTime": "2026-10-05T10:00:00", "toBookingDateTime": "2026-10-21T10:00:00"}, 2, False),
        # A date alone is its midnight.
        ({"fromBookingDateTime": "2026-10-01", "toBookingDateTime": "2026-10-31"}, 2, False),
        # A time zone is ignored (R/W API Profile, "Filtering"): 09:59:59, not 14:59:59 UTC.
        ({"toBookingDateTime": "2026-10-05T09:59:59-05:00"}, 2, True),
        ({"fromBookingDateTime": "2026-11-15T10:00:00.000001Z"}, 0, True),
    ],
)
async def test_booking_date_filters(
    client: httpx.AsyncClient,
    bank: Bank,
    reader_headers: ReaderHeaders,
    contract: Contract,
    query: dict[str, str],
    expected: int,
    conforms: bool,
) -> None:
    consent = await bank.consent(*TRANSACTIONS)

    response = await client.get(
        f"{AISP}/accounts/{bank.current.id}/transactions", params=query, headers=reader_headers(consent.id)
    )

    assert response.status_code == 200, response.text
    contract.check(response, request_conforms=conforms)
    assert len(response.json()["Data"]["Transaction"]) == expected
    assert urlsplit(response.json()["Links"]["Self"]).query  # Self is the request, filters included


@pytest.mark.parametrize(
    ("query", "code", "path", "conforms"),
    [
        ({"fromBookingDateTime": "yesterday"}, "U003", "fromBookingDateTime", False),
        ({"toBookingDateTime": "2026-02-30T00:00:00"}, "U003", "toBookingDateTime", False),
        ({"fromBookingDateTime": "9999-12-31T23:59:59"}, "U003", "fromBookingDateTime", False),
        (
            {"fromBookingDateTime": "2026-10-02T00:00:00Z", "toBookingDateTime": "2026-10-01T00:00:00Z"},
            "U002",
            "toBookingDateTime",
            True,
        ),
        ({"fromBookingDateTime": "x" * 65}, "U002", "fromBookingDateTime", False),
    ],
)
async def test_a_malformed_filter_is_400_naming_it(
    client: httpx.AsyncClient,
    bank: Bank,
    reader_headers: ReaderHeaders,
    contract: Contract,
    query: dict[str, str],
    code: str,
    path: str,
    conforms: bool,
) -> None:
    consent = await bank.consent(*TRANSACTIONS)

    response = await client.get(AISP + "/transactions", params=query, headers=reader_headers(consent.id))

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=conforms)
    assert error_of(response) == (code, path)


async def test_the_consent_decides_the_window_and_the_directions(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    since_october = await bank.consent(*TRANSACTIONS, transactions_from=at(10, 1))
    credits_only = await bank.consent(P.READ_TRANSACTIONS_BASIC, P.READ_TRANSACTIONS_CREDITS)
    path = f"{AISP}/accounts/{bank.current.id}/transactions"

    windowed = await client.get(
        path, params={"fromBookingDateTime": "2026-09-01"}, headers=reader_headers(since_october.id)
    )
    credits = await client.get(path, headers=reader_headers(credits_only.id))

    contract.check(windowed, request_conforms=False)
    contract.check(credits)
    assert [when for _, _, when in described(windowed)] == ["2026-11-15", "2026-10-21", "2026-10-05"]
    assert {direction for direction, _, _ in described(credits)} == {"Credit"}
    assert len(described(credits)) == 4


async def follow(client: httpx.AsyncClient, link: str, headers: dict[str, str]) -> httpx.Response:
    assert link.startswith(PUBLIC)
    return await client.get(link.removeprefix(PUBLIC), headers=headers)


@pytest.mark.usefixtures("two_a_page")
async def test_pages_go_forward_with_next_and_back_with_prev_keeping_the_filters(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*TRANSACTIONS)
    headers = reader_headers(consent.id)
    path = f"{AISP}/accounts/{bank.current.id}/transactions"

    first = await client.get(path, params={"fromBookingDateTime": "2026-09-01T00:00:00Z"}, headers=headers)
    contract.check(first)
    assert [amount for _, amount, _ in described(first)] == ["3.00", "2.00"]
    links: dict[str, Any] = first.json()["Links"]
    assert set(links) == {"Self", "Next"}  # the first page: no Prev
    assert parse_qs(urlsplit(links["Next"]).query)["fromBookingDateTime"] == ["2026-09-01T00:00:00Z"]

    second = await follow(client, links["Next"], headers)
    contract.check(second)
    assert [amount for _, amount, _ in described(second)] == ["10.00", "25.00"]
    assert set(second.json()["Links"]) == {"Self", "Next", "Prev"}
    assert second.json()["Links"]["Self"] == links["Next"]

    third = await follow(client, second.json()["Links"]["Next"], headers)
    contract.check(third)
    assert [amount for _, amount, _ in described(third)] == ["100.00"]
    assert set(third.json()["Links"]) == {"Self", "Prev"}  # the last page: no Next

    back = await follow(client, third.json()["Links"]["Prev"], headers)
    contract.check(back)
    assert described(back) == described(second)
    front = await follow(client, back.json()["Links"]["Prev"], headers)
    assert described(front) == described(first)
    assert "Prev" not in front.json()["Links"]


@pytest.mark.usefixtures("two_a_page")
async def test_a_cursor_of_another_consent_or_account_is_refused(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    mine = await bank.consent(*TRANSACTIONS)
    another = await bank.consent(*TRANSACTIONS)
    current = f"{AISP}/accounts/{bank.current.id}/transactions"
    first = await client.get(current, headers=reader_headers(mine.id))
    cursor = parse_qs(urlsplit(first.json()["Links"]["Next"]).query)["page"][0]

    refusals = {
        "another consent": (current, reader_headers(another.id), cursor),
        "another account": (f"{AISP}/accounts/{bank.savings.id}/transactions", reader_headers(mine.id), cursor),
        "the bulk resource": (AISP + "/transactions", reader_headers(mine.id), cursor),
        "a forged cursor": (current, reader_headers(mine.id), cursor[:-4] + "AAAA"),
        "not a cursor": (current, reader_headers(mine.id), "page-2"),
    }
    for why, (path, headers, page) in refusals.items():
        response = await client.get(path, params={"page": page}, headers=headers)
        assert response.status_code == 400, (why, response.text)
        contract.check(response)
        assert error_of(response) == ("U002", "page"), why


async def test_money_held_for_a_payment_on_its_way_leads_the_first_page_as_pending(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    async with platform_units(bank.platform).begin(Actor.system("test")) as uow:
        await ledger_service.place_hold(
            uow.session,
            bank.current.id,
            Money(1_250, "GBP"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
            description="Payment to Alan Turing",
            reference="pay-1",
        )
    path = f"{AISP}/accounts/{bank.current.id}/transactions"

    detail = await client.get(path, headers=reader_headers((await bank.consent(*DETAIL)).id))
    credits_only = await bank.consent(P.READ_ACCOUNTS_DETAIL, P.READ_TRANSACTIONS_DETAIL, P.READ_TRANSACTIONS_CREDITS)
    credits = await client.get(path, headers=reader_headers(credits_only.id))

    for response in (detail, credits):
        assert response.status_code == 200, response.text
        contract.check(response)
    pending, *booked = detail.json()["Data"]["Transaction"]
    assert pending["Status"] == "PDNG" and pending["TransactionMutability"] == "Mutable"
    assert (pending["CreditDebitIndicator"], pending["Amount"]) == ("Debit", {"Amount": "12.50", "Currency": "GBP"})
    assert pending["TransactionInformation"] == "Payment to Alan Turing" and "Balance" not in pending
    assert len(booked) == 5 and {line["Status"] for line in booked} == {"BOOK"}
    assert "PDNG" not in credits.text  # a hold is a debit: not shown to a credits-only consent

"""GET /statements, /accounts/{AccountId}/statements[/{StatementId}[/file]]: monthly statements, amounts under Detail,
the file as a PDF."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.open_banking.aisp.conftest import (
    AISP,
    BASIC,
    DETAIL,
    PUBLIC,
    STATEMENT_DETAIL_ONLY,
    Bank,
    P,
    ReaderHeaders,
    error_of,
    only_error,
)
from tests.open_banking.contract import Contract


def current_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


async def test_a_detail_consent_shows_each_months_statement_with_its_amounts(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*DETAIL)
    path = f"{AISP}/accounts/{bank.current.id}/statements"

    response = await client.get(path, headers=reader_headers(consent.id))

    assert response.status_code == 200, response.text
    contract.check(response)
    statements = response.json()["Data"]["Statement"]
    assert [s["StatementId"] for s in statements][:3] == ["2026-09", "2026-10", "2026-11"]
    september, october = statements[0], statements[1]
    assert september["Type"] == "RegularPeriodic"
    assert datetime.fromisoformat(september["StartDateTime"]) == datetime(2026, 8, 31, 23, tzinfo=UTC)  # BST
    assert datetime.fromisoformat(september["EndDateTime"]) == datetime(2026, 9, 30, 23, tzinfo=UTC)
    assert september["StatementAmount"] == [
        {
            "CreditDebitIndicator": "Credit",
            "Type": "UK.OBIE.StartingBalance",
            "Amount": {"Amount": "0.00", "Currency": "GBP"},
        },
        {
            "CreditDebitIndicator": "Credit",
            "Type": "UK.OBIE.ClosingBalance",
            "Amount": {"Amount": "75.00", "Currency": "GBP"},
        },
        {
            "CreditDebitIndicator": "Credit",
            "Type": "UK.OBIE.TotalCredits",
            "Amount": {"Amount": "100.00", "Currency": "GBP"},
        },
        {
            "CreditDebitIndicator": "Debit",
            "Type": "UK.OBIE.TotalDebits",
            "Amount": {"Amount": "25.00", "Currency": "GBP"},
        },
    ]
    assert october["StatementAmount"][1]["Amount"]["Amount"] == "87.00"
    latest = statements[-1]
    assert (latest["StatementId"], latest["Type"]) == (current_month(), "Interim")  # the month to date
    assert response.json()["Links"] == {"Self": PUBLIC + path}
    assert response.json()["Meta"] == {"TotalPages": 1}


async def test_a_basic_consent_never_shows_the_amounts(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(*BASIC)

    for path in (
        "/statements",
        f"/accounts/{bank.current.id}/statements",
        f"/accounts/{bank.current.id}/statements/2026-10",
    ):
        response = await client.get(AISP + path, headers=reader_headers(consent.id))
        assert response.status_code == 200, response.text
        contract.check(response)
        for statement in response.json()["Data"]["Statement"]:
            assert not STATEMENT_DETAIL_ONLY & set(statement), statement
            assert {"AccountId", "StatementId", "Type", "StartDateTime", "EndDateTime"} <= set(statement)


async def test_bulk_statements_list_every_account_of_the_consent(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_STATEMENTS_BASIC)

    response = await client.get(
        AISP + "/statements",
        params={"fromStatementDateTime": "2026-10-01T00:00:00", "toStatementDateTime": "2026-11-30T00:00:00"},
        headers=reader_headers(consent.id),
    )

    assert response.status_code == 200, response.text
    contract.check(response, request_conforms=False)  # dates without a time zone, as the profile writes them
    listed = [(s["AccountId"], s["StatementId"]) for s in response.json()["Data"]["Statement"]]
    assert listed == [
        (str(bank.current.id), "2026-10"),
        (str(bank.current.id), "2026-11"),
        (str(bank.savings.id), "2026-10"),
        (str(bank.savings.id), "2026-11"),
    ]


async def test_a_statement_cut_by_the_consents_window_is_interim(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_STATEMENTS_DETAIL, transactions_from=datetime(2026, 10, 15, tzinfo=UTC))

    response = await client.get(
        f"{AISP}/accounts/{bank.current.id}/statements/2026-10", headers=reader_headers(consent.id)
    )

    assert response.status_code == 200, response.text
    contract.check(response)
    [october] = response.json()["Data"]["Statement"]
    assert october["Type"] == "Interim"
    assert datetime.fromisoformat(october["StartDateTime"]) == datetime(2026, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize("statement_id", ["2026-08", "2026-13", "1999-01", "latest"])
async def test_a_statement_id_that_names_no_statement_is_400(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, statement_id: str
) -> None:
    consent = await bank.consent(*DETAIL)
    base = f"{AISP}/accounts/{bank.current.id}/statements/{statement_id}"

    for path, accept in ((base, "application/json"), (base + "/file", "application/pdf")):
        response = await client.get(path, headers=reader_headers(consent.id, accept=accept))
        assert response.status_code == 400, response.text  # R/W API Profile, "400 (Bad Request) v/s 404"
        contract.check(response)
        assert error_of(response) == ("U011", "StatementId")


@pytest.mark.parametrize(
    "accept", [None, "application/pdf", "*/*", "application/*", "text/html, application/pdf;q=0.2"]
)
async def test_the_statement_file_is_a_pdf(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, accept: str | None
) -> None:
    consent = await bank.consent(*DETAIL)
    headers = reader_headers(consent.id) if accept is None else reader_headers(consent.id, accept=accept)

    response = await client.get(f"{AISP}/accounts/{bank.current.id}/statements/2026-10/file", headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="statement-2026-10.pdf"'
    assert response.content.startswith(b"%PDF-")
    assert "x-fapi-interaction-id" in response.headers
    # The spec's `File` is an empty JSON object: the request and the status checked around a stand-in body.
    contract.check(httpx.Response(200, json={}, headers={"x-fapi-interaction-id": "x"}, request=response.request))


@pytest.mark.parametrize("accept", ["application/json", "text/html", "application/pdf;q=0"])
async def test_a_statement_file_the_caller_cannot_accept_is_406_in_json(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract, accept: str
) -> None:
    consent = await bank.consent(*DETAIL)

    response = await client.get(
        f"{AISP}/accounts/{bank.current.id}/statements/2026-10/file", headers=reader_headers(consent.id, accept=accept)
    )

    assert response.status_code == 406
    contract.check(response)
    assert response.headers["content-type"] == "application/json"
    assert error_of(response) == ("U006", "Accept")
    assert "application/pdf" in only_error(response)["Message"]


async def test_the_file_needs_read_statements_detail(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent(P.READ_STATEMENTS_BASIC)

    response = await client.get(
        f"{AISP}/accounts/{bank.current.id}/statements/2026-10/file",
        headers=reader_headers(consent.id, accept="application/pdf"),
    )

    assert response.status_code == 403
    contract.check(response)
    assert "ReadStatementsDetail" in only_error(response)["Message"]

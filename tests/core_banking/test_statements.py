"""Monthly statements as JSON, CSV and PDF: opening balance, every line with its balance, closing balance."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core_banking.ledger.periods import Month, bank_day
from obank.runtime import Platform
from tests.core_banking.conftest import CustomerHeadersFor
from tests.core_banking.test_history import at, deposit, move, september_and_october


async def test_json_statement_of_a_past_month(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice, current, _ = await september_and_october(platform)
    response = await client.get(f"/api/v1/accounts/{current.id}/statements/2026-10", headers=customer_headers(alice))
    assert response.status_code == 200, response.text
    statement = response.json()
    assert (statement["period_start"], statement["period_end"]) == ("2026-10-01", "2026-10-31")
    assert statement["opening_balance_minor"] == 7_000
    assert [(t["description"], t["running_balance_minor"]) for t in statement["transactions"]] == [
        ("October", 8_000),
        ("Refund", 8_200),
    ]
    assert (statement["paid_in_minor"], statement["paid_out_minor"]) == (1_200, 0)
    assert statement["closing_balance_minor"] == 8_200
    assert statement["account"]["iban"] == current.iban and statement["account"]["holder_name"] == "Ada Lovelace"

    september = (
        await client.get(f"/api/v1/accounts/{current.id}/statements/2026-09", headers=customer_headers(alice))
    ).json()
    moved = sum(t["amount_minor"] * (1 if t["direction"] == "credit" else -1) for t in september["transactions"])
    assert september["opening_balance_minor"] == 0
    assert september["opening_balance_minor"] + moved == september["closing_balance_minor"] == 7_000
    # Each month opens where the previous one closed.
    assert september["closing_balance_minor"] == statement["opening_balance_minor"]


async def test_csv_statement_is_exact_and_safe_to_open_in_a_spreadsheet(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice, current, savings = await september_and_october(platform)
    await move(platform, savings.id, current.id, 1, at(10, 22), '=HYPERLINK("http://evil.example")')
    response = await client.get(
        f"/api/v1/accounts/{current.id}/statements/2026-10",
        headers={**customer_headers(alice), "Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"statement-{current.account_number}-2026-10.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["type"], r["description"], r["paid_in"], r["paid_out"], r["balance"]) for r in rows] == [
        ("OPENING_BALANCE", "Opening balance", "", "", "70.00"),
        ("DEPOSIT", "October", "10.00", "", "80.00"),
        ("TRANSFER", "Refund", "2.00", "", "82.00"),
        ("TRANSFER", '\'=HYPERLINK("http://evil.example")', "0.01", "", "82.01"),
        ("CLOSING_BALANCE", "Closing balance", "", "", "82.01"),
    ]
    assert rows[1]["date"] == "2026-10-01" and rows[1]["booked_at"] == "2026-10-01T00:30:00+00:00"


async def test_pdf_statement_reads_like_a_bank_statement(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform, tmp_path: Path
) -> None:
    alice, current, savings = await september_and_october(platform)
    # Enough lines for a second page, whose table continues under a repeated heading.
    for day in range(1, 29):
        await move(platform, savings.id, current.id, 1, at(10, 22) + timedelta(minutes=day), f"Round-up {day}")
    response = await client.get(
        f"/api/v1/accounts/{current.id}/statements/2026-10", params={"format": "pdf"}, headers=customer_headers(alice)
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    for expected in (
        "obank",
        "Statement of account",
        "Ada Lovelace",
        "1 October 2026 to 31 October 2026",
        "04-00-75",
        current.account_number,
        " ".join(current.iban[i : i + 4] for i in range(0, len(current.iban), 4)),
        "Opening balance",
        "£70.00",
        "Closing balance",
        "on 31 October 2026",
        "£82.28",
        "Round-up 28",
        "Page 1 of 2",
        "Page 2 of 2",
    ):
        assert expected in text, expected


async def test_statement_format_negotiation_and_periods(
    client: httpx.AsyncClient, customer_headers: CustomerHeadersFor, platform: Platform
) -> None:
    alice, current, _ = await september_and_october(platform)
    url = f"/api/v1/accounts/{current.id}/statements"
    headers = customer_headers(alice)
    for accept, media_type in (
        ("application/pdf", "application/pdf"),
        ("text/csv;q=0.5, application/pdf;q=0.9", "application/pdf"),
        ("image/png, text/csv", "text/csv"),
        ("*/*", "application/json"),
        ("application/pdf;q=0, application/json", "application/json"),
    ):
        response = await client.get(f"{url}/2026-10", headers={**headers, "Accept": accept})
        assert response.headers["content-type"].startswith(media_type), accept
    forced = await client.get(
        f"{url}/2026-10", params={"format": "csv"}, headers={**headers, "Accept": "application/pdf"}
    )
    assert forced.headers["content-type"].startswith("text/csv")
    refused = await client.get(f"{url}/2026-10", headers={**headers, "Accept": "image/png"})
    assert (refused.status_code, refused.json()["code"]) == (406, "not_acceptable")
    now = datetime.now(UTC)
    next_month = Month.of(bank_day(now)).next()
    future = await client.get(f"{url}/{next_month}", headers=headers)
    assert (future.status_code, future.json()["code"]) == (422, "statement_period_not_started")
    for bad in ("2026-13", "26-10", "2026-1"):
        response = await client.get(f"{url}/{bad}", headers=headers)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_request"), bad
    # The current month is a statement to date.
    await deposit(platform, current.id, 5, now, "Today")
    to_date = (await client.get(f"{url}/{Month.of(bank_day(now))}", headers=headers)).json()
    assert to_date["period_end"] == bank_day(now).isoformat()
    assert to_date["closing_balance_minor"] == 8_205


async def test_pdf_without_a_unicode_font_transliterates_instead_of_failing(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core_banking.accounts.models import AccountType
    from core_banking.history.schemas import TransactionLine
    from core_banking.statements import pdf_statement
    from core_banking.statements.schemas import Statement
    from tests.core_banking.helpers import customer_data, new_account, new_customer

    monkeypatch.setattr(pdf_statement, "UNICODE_FONT_DIRS", ())
    holder = await new_customer(platform.sessions, platform.keyring, full_name="Łukasz Żółć")
    euros = await new_account(
        platform.sessions, platform.keyring, holder.id, currency="EUR", account_type=AccountType.SAVINGS
    )
    line = TransactionLine(1, euros.id, "DEPOSIT", "Café — €5 refund", None, "EUR", 500, 500, at(10, 3), euros.id)
    statement = Statement(
        account=euros,
        holder_name=holder.full_name,
        holder_address=customer_data().address,
        month=Month(2026, 10),
        period_start=Month(2026, 10).first_day,
        period_end=Month(2026, 10).last_day,
        opening_balance_minor=0,
        closing_balance_minor=500,
        lines=[line],
        generated_at=at(11, 1),
    )
    pdf = tmp_path / "latin1.pdf"
    pdf.write_bytes(pdf_statement.render_pdf(statement))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=30).stdout
    assert "Lukasz Zólc" in text
    assert "EUR 5.00" in text and "Café - EUR 5 refund" in text

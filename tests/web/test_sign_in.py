"""Signing in to the web app: the app is the OAuth client (PAR, PKCE); the browser holds a cookie, never a token."""

from __future__ import annotations

from tests.web.browse import browser, follow, sign_in
from tests.web.conftest import WebBank


def test_a_customer_signs_in_and_sees_their_accounts(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        assert client.get("/").headers["location"] == "/app"
        page = sign_in(client, "/app", customer)
        assert page.status_code == 200, page.text[:2000]
        assert page.url.path == "/app"
        for account in customer["accounts"]:
            assert account["iban"][-8:] in page.text  # the account number
        assert all("eyJ" not in value for value in client.cookies.values())  # no token ever reaches the browser
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        again = follow(client, client.get("/app"))
        assert again.status_code == 200 and again.url.path == "/app"


def test_a_customer_reads_an_account_and_downloads_its_statement(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][1]
    account = customer["accounts"][0]
    with browser(web_bank) as client:
        sign_in(client, "/app", customer)
        page = client.get(f"/app/accounts/{account['id']}")
        assert page.status_code == 200 and account["iban"] in page.text
        filtered = client.get(f"/app/accounts/{account['id']}", params={"direction": "CREDIT", "min_amount": "1.00"})
        assert filtered.status_code == 200
        bad = client.get(f"/app/accounts/{account['id']}", params={"min_amount": "1.2.3"})
        assert bad.status_code == 200 and "Enter an amount" in bad.text
        month = page.text.split("/statements/")[1][:7]
        pdf = client.get(f"/app/accounts/{account['id']}/statements/{month}", params={"format": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
        csv = client.get(f"/app/accounts/{account['id']}/statements/{month}", params={"format": "csv"})
        assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
        other = web_bank.demo["customers"][0]["accounts"][0]["id"]
        assert client.get(f"/app/accounts/{other}").status_code == 404  # another customer's account
        assert client.get("/app/accounts/not-a-uuid").status_code == 400
        no_month = client.get(f"/app/accounts/{account['id']}/statements/2026-13", params={"format": "pdf"})
        assert no_month.status_code == 404

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

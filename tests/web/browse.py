"""A person's browser without the browser: follows the web app's redirects and fills the sign-in pages (httpx)."""

from __future__ import annotations

import html
import re
import ssl
import time
from typing import Any

import httpx
import pyotp

from tests.web.conftest import WebBank


def hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def browser(bank: WebBank, *, certificate: tuple[str, str] | None = None) -> httpx.Client:
    context = ssl.create_default_context(cafile=bank.settings.certs_dir / "ca.pem")
    if certificate is not None:
        context.load_cert_chain(*certificate)
    return httpx.Client(base_url=bank.url, verify=context, follow_redirects=False, timeout=30)


def follow(client: httpx.Client, response: httpx.Response, limit: int = 10) -> httpx.Response:
    for _ in range(limit):
        if response.status_code not in (302, 303):
            return response
        response = client.get(response.headers["location"])
    raise AssertionError("too many redirects")


def sign_in(client: httpx.Client, start: str, person: dict[str, Any], *, totp_step: int = 0) -> httpx.Response:
    """From `start` (a page of the app or console) through password and TOTP back to the page; the last answer."""
    page = follow(client, client.get(start))
    assert "login" in page.url.path, (page.status_code, page.url, page.text[:500])
    credentials = {"username": person["username"], "password": person["password"]}
    page = follow(client, client.post(page.url.path, data=hidden_fields(page.text) | credentials))
    otp = pyotp.TOTP(person["totp_secret"]).at(time.time() + 30 * totp_step)
    page = follow(client, client.post(page.url.path, data=hidden_fields(page.text) | {"otp": otp}))
    for _ in range(3):
        if page.url.path.startswith("/oauth2/authorize") and page.status_code == 200:  # "Continue to ...?"
            form: dict[str, Any] = hidden_fields(page.text)
            form["account_id"] = re.findall(r'name="account_id"\s+value="([^"]+)" checked', page.text)
            form["decision"] = "approve"
            page = follow(client, client.post("/oauth2/authorize/decision", data=form))
        else:
            break
    return page

"""End-to-end journeys through the gateway, shared by the in-process and the distributed deployment tests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp


def _hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return html.unescape(match.group(1))


async def authorize(
    client: httpx.AsyncClient,
    app: dict[str, Any],
    person: dict[str, Any],
    *,
    login_path: str,
    scope: str,
    totp_step: int = 0,
) -> tuple[str, str]:
    """A public client's authorization with PKCE: PAR, password, TOTP, the approval page; the code and verifier.

    `totp_step` picks the code of a neighbouring step (-1 or +1, within the accepted drift): each code works
    once, so a second sign-in within 30 seconds uses another step's.
    """
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    pushed = await client.post(
        "/oauth2/par",
        data={
            "client_id": app["client_id"],
            "response_type": "code",
            "redirect_uri": app["redirect_uri"],
            "scope": scope,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        },
    )
    assert pushed.status_code == 201, pushed.text
    start = "/oauth2/authorize?" + str(
        httpx.QueryParams({"client_id": app["client_id"], "request_uri": pushed.json()["request_uri"]})
    )
    response = await client.get(start)
    assert response.status_code == 303 and response.headers["location"].startswith(login_path), response.text
    page = await client.get(response.headers["location"])
    fields = _hidden_fields(page.text) | {"username": person["username"], "password": person["password"]}
    response = await client.post(login_path, data=fields)
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    otp = pyotp.TOTP(person["totp_secret"]).at(time.time() + 30 * totp_step)
    response = await client.post(page.url.path, data={"csrf_token": _csrf(page.text), "otp": otp})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    for _ in range(5):
        if location.startswith(app["redirect_uri"]):
            break
        response = await client.get(location)
        if response.status_code == 200:  # the consent (or staff "Continue") page: approve what it preselects
            form: dict[str, Any] = _hidden_fields(response.text)
            form["account_id"] = re.findall(r'name="account_id"\s+value="([^"]+)" checked', response.text)
            form["decision"] = "approve"
            response = await client.post("/oauth2/authorize/decision", data=form)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    params = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    assert params.get("state") == state and "code" in params, location
    return params["code"], verifier


async def redeem_code(client: httpx.AsyncClient, app: dict[str, Any], code: str, verifier: str) -> httpx.Response:
    """The token request of a public client for `code`."""
    return await client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "code": code,
            "redirect_uri": app["redirect_uri"],
            "code_verifier": verifier,
        },
    )


async def _sign_in(
    client: httpx.AsyncClient, app: dict[str, Any], person: dict[str, Any], *, login_path: str, scope: str
) -> str:
    """A public client's sign-in with PKCE; returns the access token."""
    code, verifier = await authorize(client, app, person, login_path=login_path, scope=scope)
    token = await redeem_code(client, app, code, verifier)
    assert token.status_code == 200, token.text
    access_token: str = token.json()["access_token"]
    return access_token


async def customer_login(client: httpx.AsyncClient, demo: dict[str, Any], customer_index: int = 0) -> str:
    """A demo customer signs in to the bank's own app: PAR, password, TOTP, approval; returns the access token."""
    customer = demo["customers"][customer_index]
    app = demo["clients"]["first_party"]
    return await _sign_in(client, app, customer, login_path="/login", scope="openid accounts payments")


async def customer_moves_money(client: httpx.AsyncClient, demo: dict[str, Any]) -> str:
    """Log in with password + TOTP, list accounts, move money with an idempotency key, see it in history.

    Returns the interaction id the transfer was sent with (its audit record and event carry it).
    """
    token = await customer_login(client, demo)
    auth = {"authorization": f"Bearer {token}"}
    listed = await client.get("/api/v1/accounts", headers=auth)
    assert listed.status_code == 200, listed.text
    accounts = listed.json()
    expected = {account["id"] for account in demo["customers"][0]["accounts"]}
    assert {account["id"] for account in accounts} == expected
    gbp = [account for account in accounts if account["currency"] == "GBP"]
    source, destination = gbp[0], gbp[1]
    before = (await client.get(f"/api/v1/accounts/{source['id']}/balances", headers=auth)).json()

    key = str(uuid.uuid4())
    interaction_id = str(uuid.uuid4())
    transfer = {
        "source_account_id": source["id"],
        "destination_account_id": destination["id"],
        "amount_minor": 1_234,
        "currency": "GBP",
        "description": "Savings top-up " + key[:8],
    }
    headers = auth | {"idempotency-key": key, "x-fapi-interaction-id": interaction_id}
    created = await client.post("/api/v1/transfers", headers=headers, json=transfer)
    assert created.status_code == 201, created.text
    assert created.headers["x-fapi-interaction-id"] == interaction_id
    replayed = await client.post("/api/v1/transfers", headers=auth | {"idempotency-key": key}, json=transfer)
    assert replayed.status_code == 201 and replayed.json() == created.json()
    clash = await client.post(
        "/api/v1/transfers", headers=auth | {"idempotency-key": key}, json=transfer | {"amount_minor": 999}
    )
    assert clash.status_code == 422, clash.text

    history = await client.get(f"/api/v1/accounts/{source['id']}/transactions", headers=auth)
    assert history.status_code == 200, history.text
    lines = history.json()["transactions"]
    assert any(line["description"] == transfer["description"] and abs(line["amount_minor"]) == 1_234 for line in lines)
    after = (await client.get(f"/api/v1/accounts/{source['id']}/balances", headers=auth)).json()
    assert after["booked_minor"] == before["booked_minor"] - 1_234, (before, after)
    return interaction_id


async def staff_login(client: httpx.AsyncClient, demo: dict[str, Any], role: str) -> str:
    """A demo staff member holding `role` signs in to the staff console: PAR, password, TOTP, "Continue".

    `client` must present the staff device's certificate: the token request binds the access token to it.
    """
    staff = next(member for member in demo["staff"] if role in member["roles"])
    console = demo["clients"]["staff_console"]
    return await _sign_in(client, console, staff, login_path="/staff/login", scope="openid")

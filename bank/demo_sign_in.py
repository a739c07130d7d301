"""A demo customer's or staff member's sign-in through the bank's own pages, scripted: a token without a browser.

What the end-to-end tests and the benches use, with the people and clients of `var/demo.json` (`bank.demo`):
PAR with PKCE (RFC 9126, RFC 7636), the password and TOTP pages, the consent page approved as preselected,
then the token request of the public client.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

CUSTOMER_LOGIN_PATH = "/login"
STAFF_LOGIN_PATH = "/staff/login"
CUSTOMER_SCOPE = "openid accounts payments"
MAX_PAGES = 5


class SignInFailed(RuntimeError):
    """A page answered other than a person signing in expects."""


def _hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        request = response.request
        raise SignInFailed(f"{request.method} {request.url.path}: {response.status_code}\n{response.text}")
    return response


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
    query = httpx.QueryParams(
        {"client_id": app["client_id"], "request_uri": _expect(pushed, 201).json()["request_uri"]}
    )
    response = _expect(await client.get(f"/oauth2/authorize?{query}"), 303)
    if not response.headers["location"].startswith(login_path):
        raise SignInFailed(f"the authorization sent the browser to {response.headers['location']}, not {login_path}")
    page = await client.get(response.headers["location"])
    credentials = {"username": person["username"], "password": person["password"]}
    response = _expect(await client.post(login_path, data=_hidden_fields(page.text) | credentials), 303)
    page = await client.get(response.headers["location"])
    otp = pyotp.TOTP(person["totp_secret"]).at(time.time() + 30 * totp_step)
    response = _expect(await client.post(page.url.path, data=_hidden_fields(page.text) | {"otp": otp}), 303)
    location = response.headers["location"]
    for _ in range(MAX_PAGES):
        if location.startswith(app["redirect_uri"]):
            break
        response = await client.get(location)
        if response.status_code == 200:  # the consent (or staff "Continue") page: approve what it preselects
            form: dict[str, Any] = _hidden_fields(response.text)
            form["account_id"] = re.findall(r'name="account_id"\s+value="([^"]+)" checked', response.text)
            form["decision"] = "approve"
            response = await client.post("/oauth2/authorize/decision", data=form)
        location = _expect(response, 303).headers["location"]
    params = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    if params.get("state") != state or "code" not in params:
        raise SignInFailed(f"the authorization did not return a code: {location}")
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


async def sign_in(
    client: httpx.AsyncClient, app: dict[str, Any], person: dict[str, Any], *, login_path: str, scope: str
) -> str:
    """A public client's sign-in with PKCE; the access token."""
    code, verifier = await authorize(client, app, person, login_path=login_path, scope=scope)
    access_token: str = _expect(await redeem_code(client, app, code, verifier), 200).json()["access_token"]
    return access_token


async def customer_login(client: httpx.AsyncClient, demo: dict[str, Any], customer_index: int = 0) -> str:
    """A demo customer signs in to the bank's own app; the access token.

    A TOTP code is accepted once: sign each customer in at most once every 30 seconds.
    """
    customer = demo["customers"][customer_index]
    app = demo["clients"]["first_party"]
    return await sign_in(client, app, customer, login_path=CUSTOMER_LOGIN_PATH, scope=CUSTOMER_SCOPE)


async def staff_login(client: httpx.AsyncClient, demo: dict[str, Any], role: str) -> str:
    """A demo staff member holding `role` signs in to the staff console: PAR, password, TOTP, "Continue".

    `client` must present the staff device's certificate: the token request binds the access token to it.
    """
    staff = next(member for member in demo["staff"] if role in member["roles"])
    console = demo["clients"]["staff_console"]
    return await sign_in(client, console, staff, login_path=STAFF_LOGIN_PATH, scope="openid")

"""A demo customer's sign-in to the bank's own app, scripted through the pages: the bench's access token."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

SCOPE = "openid accounts payments"
LOGIN_PATH = "/login"


def _hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url.path}: {response.status_code}\n{response.text}")
    return response


async def customer_login(client: httpx.AsyncClient, demo: dict[str, Any], customer_index: int = 0) -> str:
    """PAR with PKCE, password, TOTP, the consent page approved as preselected, the token request; the access token.

    A TOTP code is accepted once: sign each customer in at most once every 30 seconds.
    """
    customer = demo["customers"][customer_index]
    app = demo["clients"]["first_party"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    pushed = await client.post(
        "/oauth2/par",
        data={
            "client_id": app["client_id"],
            "response_type": "code",
            "redirect_uri": app["redirect_uri"],
            "scope": SCOPE,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        },
    )
    request_uri = _expect(pushed, 201).json()["request_uri"]
    query = httpx.QueryParams({"client_id": app["client_id"], "request_uri": request_uri})
    response = _expect(await client.get(f"/oauth2/authorize?{query}"), 303)
    page = await client.get(response.headers["location"])
    credentials = {"username": customer["username"], "password": customer["password"]}
    response = _expect(await client.post(LOGIN_PATH, data=_hidden_fields(page.text) | credentials), 303)
    page = await client.get(response.headers["location"])
    otp = pyotp.TOTP(customer["totp_secret"]).now()
    response = _expect(await client.post(page.url.path, data=_hidden_fields(page.text) | {"otp": otp}), 303)
    location = response.headers["location"]
    for _ in range(5):
        if location.startswith(app["redirect_uri"]):
            break
        response = await client.get(location)
        if response.status_code == 200:  # the consent page: approve the accounts it preselects
            form: dict[str, Any] = _hidden_fields(response.text)
            form["account_id"] = re.findall(r'name="account_id"\s+value="([^"]+)" checked', response.text)
            form["decision"] = "approve"
            response = await client.post("/oauth2/authorize/decision", data=form)
        location = _expect(response, 303).headers["location"]
    params = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    if params.get("state") != state or "code" not in params:
        raise RuntimeError(f"the authorization did not return a code: {location}")
    token = await client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app["client_id"],
            "code": params["code"],
            "redirect_uri": app["redirect_uri"],
            "code_verifier": verifier,
        },
    )
    access_token: str = _expect(token, 200).json()["access_token"]
    return access_token

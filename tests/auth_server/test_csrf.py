"""Every form POST needs its CSRF token: bound to this browser's cookie and to its current session."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from obank.runtime import Platform
from tests.auth_server.conftest import ClientFactory
from tests.auth_server.helpers import (
    PASSWORD,
    SESSION_COOKIE,
    code_at,
    enrol,
    form_token,
    new_login,
    sign_in,
    submit_otp,
)

FORMS = ("/login", "/staff/login", "/login/otp", "/login/recovery", "/mfa/enrol", "/account/password", "/logout")


async def test_a_form_posted_without_its_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/login")  # the browser holds a CSRF cookie, the attacker's form lacks the token
    for path in FORMS:
        response = await client.post(path, data={"username": "someone", "password": PASSWORD, "otp": "123456"})
        assert response.status_code == 403, path
        assert "This form has expired" in response.text


async def test_a_token_from_another_browser_or_from_before_sign_in_is_refused(
    platform: Platform, client: httpx.AsyncClient, browser_client: ClientFactory
) -> None:
    identity = await new_login(platform, "csrf.target")
    secret, _ = await enrol(platform, identity)
    async with browser_client() as attacker:
        attackers_token = form_token((await attacker.get("/login")).text)
    await client.get("/login")
    stolen = await client.post(
        "/login", data={"csrf_token": attackers_token, "username": "csrf.target", "password": PASSWORD}
    )
    assert stolen.status_code == 403
    assert SESSION_COOKIE not in client.cookies

    before_sign_in = form_token((await client.get("/login")).text)
    await sign_in(client, "csrf.target")
    await submit_otp(client, code_at(secret, datetime.now(UTC)))
    # The session changed, so a token rendered before it no longer counts (sign-out refused).
    refused = await client.post("/logout", data={"csrf_token": before_sign_in})
    assert refused.status_code == 403
    assert (await client.get("/account")).status_code == 200

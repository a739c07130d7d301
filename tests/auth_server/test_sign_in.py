"""Signing in through the pages: password then TOTP, session rotation, no enumeration, kinds kept apart."""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime

import httpx
import psycopg

from auth_server.identities.schemas import IdentityKind
from obank.roles import StaffRole
from obank.runtime import Platform
from tests.auth_server.conftest import ClientFactory
from tests.auth_server.helpers import (
    PASSWORD,
    SESSION_COOKIE,
    assert_signed_out,
    code_at,
    enrol,
    form_token,
    new_login,
    sign_in,
    submit_otp,
)


def _refusal(response: httpx.Response) -> tuple[int, str]:
    """What a person sees of a refused sign-in, minus the CSRF token and the username they typed (echoed)."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
    return response.status_code, re.sub(r'name="username" type="text" value="[^"]*"', "", text)


async def test_password_then_totp_signs_in_rotating_the_session_at_each_step(
    platform: Platform, client: httpx.AsyncClient, browser_client: ClientFactory
) -> None:
    identity = await new_login(platform, "Alice.Example")
    secret, _ = await enrol(platform, identity)

    password_step = await sign_in(client, "ALICE.example")  # usernames are case-insensitive
    assert password_step.status_code == 303
    assert password_step.headers["location"] == "/login/otp"
    pending_token = client.cookies[SESSION_COOKIE]
    # A session that proved only the password grants nothing yet: it is sent on to the second factor.
    pending_account = await client.get("/account")
    assert pending_account.status_code == 303 and pending_account.headers["location"] == "/login/otp"

    signed_in = await submit_otp(client, code_at(secret, datetime.now(UTC)))
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/account"
    token = client.cookies[SESSION_COOKIE]
    assert token != pending_token  # privilege change: a new session id (token)
    account = await client.get("/account")
    assert account.status_code == 200
    assert "alice.example" in account.text
    assert "password and authentication code" in account.text

    async with browser_client() as thief:
        thief.cookies.set(SESSION_COOKIE, pending_token)
        assert_signed_out(await thief.get("/account"))  # the pre-elevation token is dead


async def test_session_cookie_attributes_and_page_security_headers(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await new_login(platform, "cookie.monster")
    page = await client.get("/login")
    headers = page.headers
    csp = headers["content-security-policy"]
    assert "script-src" not in csp and "'unsafe-inline'" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert "<script" not in page.text

    response = await sign_in(client, "cookie.monster")
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
    assert not any(attribute.startswith("domain") for attribute in attributes)


async def test_wrong_password_unknown_user_and_locked_login_look_the_same(
    platform: Platform, client: httpx.AsyncClient, database_url: str
) -> None:
    await new_login(platform, "known.user")
    locked = await new_login(platform, "locked.user")
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE auth_server.identities SET locked_until = now() + interval '1 hour', failed_login_attempts = 5"
            " WHERE id = %s",
            (locked.id,),
        )

    samples: dict[str, list[float]] = {"wrong": [], "unknown": [], "locked": []}
    answers: dict[str, set[tuple[int, str]]] = {"wrong": set(), "unknown": set(), "locked": set()}
    page = await client.get("/login")
    token = form_token(page.text)
    attempts = {
        "wrong": {"username": "known.user", "password": "not the password at all"},
        "unknown": {"username": "nobody.here", "password": "not the password at all"},
        "locked": {"username": "locked.user", "password": PASSWORD},  # even the right password
    }
    for _ in range(3):
        for name, fields in attempts.items():
            started = time.perf_counter()
            response = await client.post("/login", data={"csrf_token": token, **fields})
            samples[name].append(time.perf_counter() - started)
            answers[name].add(_refusal(response))
    assert answers["wrong"] == answers["unknown"] == answers["locked"]
    ((status, body),) = answers["wrong"]
    assert status == 400 and "could not sign you in" in body
    medians = {name: statistics.median(values) for name, values in samples.items()}
    # Each refusal costs one argon2id verification (~0.1 s); bookkeeping differences are milliseconds.
    assert max(medians.values()) / min(medians.values()) < 2.0, medians


async def test_staff_and_customer_logins_never_cross(platform: Platform, browser_client: ClientFactory) -> None:
    staff = await new_login(platform, "sam", kind=IdentityKind.STAFF, roles=frozenset({StaffRole.ADMIN}))
    await enrol(platform, staff)
    customer = await new_login(platform, "casey")
    await enrol(platform, customer)

    async with browser_client() as browser:
        staff_as_customer = await sign_in(browser, "sam", path="/login")
        customer_as_staff = await sign_in(browser, "casey", path="/staff/login")
        unknown = await sign_in(browser, "nobody", path="/staff/login")
    assert staff_as_customer.status_code == customer_as_staff.status_code == unknown.status_code == 400
    assert SESSION_COOKIE not in browser.cookies

    async with browser_client() as browser:
        response = await sign_in(browser, "sam", path="/staff/login")
        assert response.status_code == 303 and response.headers["location"] == "/login/otp"


async def test_staff_without_totp_must_enrol_before_anything(platform: Platform, client: httpx.AsyncClient) -> None:
    await new_login(platform, "new.staff", kind=IdentityKind.STAFF, roles=frozenset({StaffRole.AUDITOR}))
    response = await sign_in(client, "new.staff", path="/staff/login")
    assert response.status_code == 303 and response.headers["location"] == "/mfa/enrol"
    assert (await client.get("/account")).headers["location"] == "/mfa/enrol"
    enrolment = await client.get("/mfa/enrol")
    assert enrolment.status_code == 200
    assert "<svg" in enrolment.text and 'data-secret="' in enrolment.text


async def test_a_return_to_on_another_origin_is_ignored(platform: Platform, client: httpx.AsyncClient) -> None:
    await new_login(platform, "redirect.me")
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = await client.get("/login", params={"return_to": hostile, "fresh": "1"})
        assert hostile not in page.text
        response = await client.post(
            "/login",
            data={
                "csrf_token": form_token(page.text),
                "username": "redirect.me",
                "password": PASSWORD,
                "return_to": hostile,
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/account"

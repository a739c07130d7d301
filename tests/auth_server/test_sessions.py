"""Browser sessions: password change revokes the others, lifetimes end them, sign-out ends them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from audit.trail import platform_units
from auth_server.sessions import service as sessions
from auth_server.sessions.schemas import SessionStage
from auth_server.sessions.service import ABSOLUTE_LIFETIME, IDLE_TIMEOUT
from obank.runtime import Platform
from tests.auth_server.conftest import ClientFactory
from tests.auth_server.helpers import (
    PASSWORD,
    SESSION_COOKIE,
    TEST_ACTOR,
    assert_signed_out,
    code_at,
    enrol,
    form_token,
    new_login,
    sign_in,
    submit_otp,
)

NEW_PASSWORD = "violet comet thimble 1987"


async def _signed_in(client: httpx.AsyncClient, username: str, secret: str, when: datetime) -> None:
    assert (await sign_in(client, username)).status_code == 303
    assert (await submit_otp(client, code_at(secret, when))).status_code == 303


async def test_a_session_cookie_from_before_a_password_change_no_longer_works(
    platform: Platform, browser_client: ClientFactory, database_url: str
) -> None:
    identity = await new_login(platform, "changer")
    secret, _ = await enrol(platform, identity)
    now = datetime.now(UTC)
    async with browser_client() as phone, browser_client() as laptop, browser_client() as thief:
        await _signed_in(phone, "changer", secret, now)
        await _signed_in(laptop, "changer", secret, now + timedelta(seconds=30))
        old_laptop_cookie = laptop.cookies[SESSION_COOKIE]

        page = await laptop.get("/account/password")
        changed = await laptop.post(
            "/account/password",
            data={
                "csrf_token": form_token(page.text),
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
        )
        assert changed.status_code == 303, changed.text
        assert laptop.cookies[SESSION_COOKIE] != old_laptop_cookie  # this browser keeps going, re-issued
        assert "password has been changed" in (await laptop.get(changed.headers["location"])).text

        assert_signed_out(await phone.get("/account"))  # the other session is over
        thief.cookies.set(SESSION_COOKIE, old_laptop_cookie)
        assert_signed_out(await thief.get("/account"))  # and so is the token from before

    with psycopg.connect(database_url) as conn:
        (payload,) = conn.execute(
            "SELECT payload FROM platform.outbox_events WHERE event_type = 'identity.password_changed'"
        ).fetchone() or (None,)
    assert payload["identity_id"] == str(identity.id) and payload["other_sessions_ended"] == 1
    assert payload["ip_hash"] is not None and payload["customer_id"] == str(identity.customer_id)


async def test_a_weak_or_mistyped_new_password_is_refused_on_the_page(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    await new_login(platform, "careful")
    assert (await sign_in(client, "careful")).status_code == 303  # no TOTP yet: a password-only session
    for current, new, confirm, message in (
        ("not my password", NEW_PASSWORD, NEW_PASSWORD, "current password is not correct"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "do not match"),
        (PASSWORD, "password1234", "password1234", "too common"),
    ):
        page = await client.get("/account/password")
        response = await client.post(
            "/account/password",
            data={
                "csrf_token": form_token(page.text),
                "current_password": current,
                "new_password": new,
                "confirm_password": confirm,
            },
        )
        assert response.status_code in (400, 422) and message in response.text


async def test_idle_and_absolute_lifetimes_end_a_session(platform: Platform) -> None:
    identity = await new_login(platform)
    start = datetime.now(UTC)
    units = platform_units(platform)
    async with units.begin(TEST_ACTOR) as uow:
        issued = await sessions.start_session(
            uow,
            identity_id=identity.id,
            stage=SessionStage.AUTHENTICATED,
            amr=["pwd"],
            acr=None,
            return_to=None,
            now=start,
        )
    token = issued.token
    moment = start
    async with units.begin(TEST_ACTOR) as uow:
        # Kept alive by activity within the idle timeout...
        while moment + IDLE_TIMEOUT - timedelta(minutes=1) < start + ABSOLUTE_LIFETIME:
            moment += IDLE_TIMEOUT - timedelta(minutes=1)
            assert await sessions.resolve_session(uow, token, now=moment) is not None
        # ...but never past the absolute lifetime.
        assert await sessions.resolve_session(uow, token, now=start + ABSOLUTE_LIFETIME) is None

    async with units.begin(TEST_ACTOR) as uow:
        idle = await sessions.start_session(
            uow,
            identity_id=identity.id,
            stage=SessionStage.AUTHENTICATED,
            amr=["pwd"],
            acr=None,
            return_to=None,
            now=start,
        )
        assert await sessions.resolve_session(uow, idle.token, now=start + IDLE_TIMEOUT) is None
        # Ended for good: it does not come back at an earlier clock reading.
        assert await sessions.resolve_session(uow, idle.token, now=start) is None
        assert await sessions.resolve_session(uow, "obs_" + uuid.uuid4().hex, now=start) is None


async def test_sign_out_ends_the_session(platform: Platform, client: httpx.AsyncClient, database_url: str) -> None:
    identity = await new_login(platform, "leaver")
    secret, _ = await enrol(platform, identity)
    await _signed_in(client, "leaver", secret, datetime.now(UTC))
    token = client.cookies[SESSION_COOKIE]
    page = await client.get("/logout")
    assert "Sign out of obank" in page.text
    response = await client.post("/logout", data={"csrf_token": form_token(page.text)})
    assert response.status_code == 200 and "You have signed out" in response.text
    assert SESSION_COOKIE not in client.cookies
    client.cookies.set(SESSION_COOKIE, token)
    assert_signed_out(await client.get("/account"))
    with psycopg.connect(database_url) as conn:
        ended = conn.execute(
            "SELECT end_reason FROM auth_server.browser_sessions WHERE ended_at IS NOT NULL"
        ).fetchall()
    assert ("logout",) in ended

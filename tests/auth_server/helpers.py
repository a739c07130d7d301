"""Helpers for the auth_server tests: logins created through the services, forms read from pages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pyotp

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, IdentityRecord, NewIdentity
from auth_server.mfa import service as mfa
from auth_server.mfa.replay import DatabaseOnlyGuard
from obank.actor import Actor
from obank.roles import StaffRole
from obank.runtime import Platform

PASSWORD = "harbour lantern quietly 42"
TEST_ACTOR = Actor.system("tests")
SESSION_COOKIE = "__Host-obank_session"


async def new_login(
    platform: Platform,
    username: str | None = None,
    *,
    kind: IdentityKind = IdentityKind.CUSTOMER,
    password: str = PASSWORD,
    roles: frozenset[StaffRole] = frozenset({StaffRole.SUPPORT}),
) -> IdentityRecord:
    """A committed login: a customer's (with a fresh customer id) or a staff member's (with `roles`)."""
    username = username or f"user-{uuid.uuid4().hex[:8]}"
    new = NewIdentity(
        kind=kind,
        username=username,
        password=password,
        customer_id=uuid.uuid4() if kind is IdentityKind.CUSTOMER else None,
        roles=roles if kind is IdentityKind.STAFF else frozenset(),
    )
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await identities.create_identity(uow, new)


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret).at(when)


async def enrol(platform: Platform, identity: IdentityRecord, *, at: datetime | None = None) -> tuple[str, list[str]]:
    """Enrol TOTP through the service with the code of the step before `at` (inside the drift window), so
    the current step's code is still unused; returns the secret and the recovery codes."""
    at = at or datetime.now(UTC)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        username = identities.username_of(platform.keyring, identity)
        enrolment = await mfa.begin_enrolment(uow, identity.id, username)
        codes = await mfa.confirm_enrolment(
            uow,
            identity.id,
            code_at(enrolment.secret, at - timedelta(seconds=30)),
            DatabaseOnlyGuard(),
            now=at,
        )
    return enrolment.secret, codes


def assert_signed_out(response: httpx.Response) -> None:
    """The browser holds no live session: a page needing one sends it to sign in."""
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login?return_to="), response.headers["location"]


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient,
    username: str,
    password: str = PASSWORD,
    *,
    path: str = "/login",
    **extra: str,
) -> httpx.Response:
    """GET the sign-in page (for its CSRF cookie and token), then POST the password."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    data = {"csrf_token": form_token(page.text), "username": username, "password": password, **extra}
    return await client.post(path, data=data)


async def submit_otp(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/login/otp")
    assert page.status_code == 200, page.text
    return await client.post("/login/otp", data={"csrf_token": form_token(page.text), "otp": code})

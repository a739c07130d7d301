"""The interface the authorization flow calls: what a browser's session proves, and how to demand more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.requests import Request

from audit.trail import platform_units
from auth_server import authentication
from auth_server.identities.schemas import IdentityKind
from obank.runtime import Platform
from tests.auth_server.helpers import SESSION_COOKIE, TEST_ACTOR, code_at, enrol, form_token, new_login, sign_in


def _request_with(token: str | None) -> Request:
    headers = [] if token is None else [(b"cookie", f"{SESSION_COOKIE}={token}".encode())]
    return Request({"type": "http", "method": "GET", "path": "/oauth2/authorize", "headers": headers})


async def _authentication(
    platform: Platform, token: str | None, kind: IdentityKind = IdentityKind.CUSTOMER
) -> authentication.BrowserAuthentication | None:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await authentication.browser_authentication(uow, _request_with(token), kind=kind)


async def test_a_demand_for_fresh_strong_authentication_is_met_and_reported(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    identity = await new_login(platform, "payer")
    assert (await sign_in(client, "payer")).status_code == 303  # password only (no TOTP yet)
    weak = await _authentication(platform, client.cookies[SESSION_COOKIE])
    assert weak is not None and weak.amr == ("pwd",) and weak.acr == authentication.ACR_CA
    assert not authentication.satisfies(weak, require_sca=True)

    requested_at = datetime.now(UTC)
    url = authentication.authentication_url("/oauth2/authorize/resume?request=abc", require_sca=True, fresh=True)
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/login" and query["sca"] == ["1"] and query["fresh"] == ["1"]

    page = await client.get(url)
    assert page.status_code == 200  # `fresh`: the form again although a session exists
    step = await client.post(
        "/login",
        data={
            "csrf_token": form_token(page.text),
            "username": "payer",
            "password": "harbour lantern quietly 42",
            "return_to": query["return_to"][0],
            "sca": "1",
        },
    )
    assert step.headers["location"] == "/mfa/enrol"  # strong authentication demanded: enrol first
    enrolment = await client.get("/mfa/enrol")
    secret = enrolment.text.split('data-secret="')[1].split('"')[0]
    shown = await client.post(
        "/mfa/enrol", data={"csrf_token": form_token(enrolment.text), "otp": code_at(secret, datetime.now(UTC))}
    )
    assert 'href="/oauth2/authorize/resume?request=abc"' in shown.text  # continue where the flow left off

    strong = await _authentication(platform, client.cookies[SESSION_COOKIE])
    assert strong is not None
    assert (strong.subject, strong.customer_id, strong.kind) == (
        identity.id,
        identity.customer_id,
        IdentityKind.CUSTOMER,
    )
    assert strong.amr == ("pwd", "otp") and strong.acr == authentication.ACR_SCA
    assert strong.session_id != weak.session_id  # signing in again started a new session
    assert authentication.satisfies(strong, require_sca=True, authenticated_after=requested_at)
    assert not authentication.satisfies(
        strong, require_sca=True, authenticated_after=strong.auth_time + timedelta(seconds=1)
    )
    assert not authentication.satisfies(
        strong, require_sca=False, max_age=timedelta(minutes=5), now=strong.auth_time + timedelta(minutes=6)
    )
    assert await _authentication(platform, client.cookies[SESSION_COOKIE], IdentityKind.STAFF) is None


async def test_pending_and_missing_sessions_hold_nothing(platform: Platform, client: httpx.AsyncClient) -> None:
    identity = await new_login(platform, "halfway")
    await enrol(platform, identity)
    await sign_in(client, "halfway")  # password accepted, TOTP still awaited
    assert await _authentication(platform, client.cookies[SESSION_COOKIE]) is None
    assert await _authentication(platform, None) is None
    assert await _authentication(platform, "obs_forged") is None


def test_authentication_urls_resume_only_on_this_origin() -> None:
    staff = authentication.authentication_url("/admin/next", kind=IdentityKind.STAFF)
    assert staff.startswith("/staff/login?")
    with pytest.raises(ValueError, match="this origin"):
        authentication.authentication_url("https://elsewhere.example/cb")

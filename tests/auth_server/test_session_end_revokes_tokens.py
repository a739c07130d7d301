"""Ending a sign-in session ends what the bank's own apps obtained through it, through the composed gateway over TLS:
the customer signing out elsewhere, staff revoking a login's sessions, a new authenticator app. The grants of those
sessions are revoked with their tokens (the gateway refuses the access tokens at once, the token endpoint the refresh
tokens), durably; the session kept and the customer's TPP grants live on."""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select

from audit.trail import platform_units
from auth_server.oauth.demo import TPP_CLIENT_ID
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.models import GrantStatus, OAuthGrant
from auth_server.oauth.tokens.service import TokenService
from bank.demo import seed_and_write_demo
from bank.demo_sign_in import CUSTOMER_LOGIN_PATH, STAFF_LOGIN_PATH, authorize, redeem_code
from obank.certs import init_development_certificates
from obank.database import unit_of_work
from obank.revocation import Revocation, grant_denial, token_denial
from obank.server import TLSFiles
from obank.settings import PROJECT_ROOT, Settings
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.mfa.helpers import REPLACE, replacement_form
from tests.auth_server.oauth.conftest import Pki
from tests.auth_server.staff_admin.helpers import audit_records, events
from tests.gateway.harness import RunningGateway, start_gateway

CUSTOMER_SCOPE = "openid accounts payments"


@pytest.fixture
def dev_pki(settings: Settings) -> Pki:
    """`obank certs init`'s development PKI: the server trusts the dev CA, which issued the staff device's cert."""
    init_development_certificates(settings.certs_dir)
    certs = settings.certs_dir
    ca = certs / "ca.pem"
    return Pki(certs, ca, ca, TLSFiles(certs / "server.pem", certs / "server.key", client_ca_file=ca))


@asynccontextmanager
async def _bank(settings: Settings, database_url: str, pki: Pki, **overrides: Any) -> AsyncIterator[RunningGateway]:
    """The composed gateway over TLS on the test database (`overrides`: settings, the issuer of a restart)."""
    running, task, server = await start_gateway(settings, database_url, pki, **overrides)
    try:
        yield running
    finally:
        await running.aclose()
        server.should_exit = True
        await task
        await running.platform.close()


@dataclass
class SignIn:
    """One browser's sign-in to one of the bank's own apps: the browser (its sign-in session cookie) and tokens."""

    browser: httpx.AsyncClient
    app: dict[str, Any]
    access_token: str
    refresh_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access_token}"}

    async def refresh(self) -> httpx.Response:
        """The app's refresh at the token endpoint; a new pair is kept (public clients' refresh tokens rotate)."""
        response = await self.browser.post(
            "/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": self.app["client_id"],
                "refresh_token": self.refresh_token,
            },
        )
        if response.status_code == 200:
            self.access_token, self.refresh_token = response.json()["access_token"], response.json()["refresh_token"]
        return response


def _device(running: RunningGateway, demo: dict[str, Any]) -> httpx.AsyncClient:
    """A staff device: trusts the demo CA, presents the device certificate the console's tokens are bound to."""

    def path(value: str) -> Path:
        return Path(value) if Path(value).is_absolute() else PROJECT_ROOT / value

    console = demo["clients"]["staff_console"]
    context = ssl.create_default_context(cafile=path(demo["ca_cert"]))
    context.load_cert_chain(path(console["certificate"]), path(console["private_key"]))
    return httpx.AsyncClient(base_url=running.issuer, verify=context, timeout=10.0)


async def _sign_in(
    browser: httpx.AsyncClient, app: dict[str, Any], person: dict[str, Any], *, staff: bool = False, totp_step: int = 0
) -> SignIn:
    """A sign-in through the pages in `browser` (a browser of its own: a sign-in session of its own), and tokens.

    Each TOTP code works once: a later sign-in of the same person takes a later `totp_step`.
    """
    code, verifier = await authorize(
        browser,
        app,
        person,
        login_path=STAFF_LOGIN_PATH if staff else CUSTOMER_LOGIN_PATH,
        scope="openid" if staff else CUSTOMER_SCOPE,
        totp_step=totp_step,
    )
    response = await redeem_code(browser, app, code, verifier)
    assert response.status_code == 200, response.text
    return SignIn(browser, app, response.json()["access_token"], response.json()["refresh_token"])


async def _accounts_status(running: RunningGateway, sign_in: SignIn) -> int:
    """What the gateway answers the customer's app asking for their accounts."""
    return (await running.http().get("/api/v1/accounts", headers=sign_in.bearer)).status_code


def _refused(response: httpx.Response) -> bool:
    return response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def _grant_of(running: RunningGateway, sign_in: SignIn) -> OAuthGrant:
    """The grant behind a sign-in's access token (its `grant_id` claim)."""
    claims = await running.tokens.verify_access_token(sign_in.access_token)
    async with unit_of_work(running.platform.sessions) as session:
        grant = await session.get(OAuthGrant, uuid.UUID(claims["grant_id"]), populate_existing=True)
    assert grant is not None
    return grant


async def _tpp_grant(running: RunningGateway, customer_id: str) -> uuid.UUID:
    """The customer's grant to the demo TPP, recorded as the consent page records one: in no sign-in session."""
    async with unit_of_work(running.platform.sessions) as session:
        own = await session.scalar(select(OAuthGrant).where(OAuthGrant.customer_id == uuid.UUID(customer_id)))
    assert own is not None
    async with platform_units(running.platform).begin(TEST_ACTOR) as uow:
        grant = await grants_service.record_grant(
            uow,
            subject=own.subject,
            customer_id=own.customer_id,
            client_id=TPP_CLIENT_ID,
            scopes=["openid", "accounts"],
            authorization_details=None,
            consent_id=None,
            account_ids=[],
            expires_at=None,
        )
    return grant.id


async def _assert_tpp_grant_lives(running: RunningGateway, grant_id: uuid.UUID) -> None:
    async with unit_of_work(running.platform.sessions) as session:
        grant = await session.get(OAuthGrant, grant_id)
    assert grant is not None and grant.status is GrantStatus.ACTIVE and grant.session_id is None
    assert await running.platform.revocations.first_revoked([grant_denial(grant_id)]) is None


async def _denials(running: RunningGateway, identifiers: list[str]) -> dict[str, datetime]:
    """The durable deny-list rows (`platform.revocations`) of `identifiers`."""
    async with unit_of_work(running.platform.sessions) as session:
        rows = await session.execute(
            select(Revocation.identifier, Revocation.denied_until).where(Revocation.identifier.in_(identifiers))
        )
        return {identifier: until for identifier, until in rows.all()}


async def _jti(tokens: TokenService, sign_in: SignIn) -> str:
    return str((await tokens.verify_access_token(sign_in.access_token))["jti"])


async def test_signing_out_everywhere_else_revokes_the_other_sign_ins_grant_and_keeps_this_one_and_the_tpps(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with _bank(settings, database_url, dev_pki) as running:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        customer, app = demo["customers"][0], demo["clients"]["first_party"]
        laptop = await _sign_in(running.http(), app, customer, totp_step=0)
        phone = await _sign_in(running.http(), app, customer, totp_step=1)
        tpp_grant = await _tpp_grant(running, customer["customer_id"])
        phone_grant, laptop_grant = await _grant_of(running, phone), await _grant_of(running, laptop)
        assert phone_grant.session_id is not None and phone_grant.session_id != laptop_grant.session_id
        assert await _accounts_status(running, phone) == 200

        ended = await running.http().delete("/api/v1/sessions", headers=laptop.bearer)

        assert ended.status_code == 200, ended.text
        assert ended.json() == {"sessions_ended": 1, "current_session_id": str(laptop_grant.session_id)}
        assert await _accounts_status(running, phone) == 401  # at once, by the grant's deny-list entry
        assert _refused(await phone.refresh())
        assert await _accounts_status(running, laptop) == 200
        assert (await laptop.refresh()).status_code == 200 and await _accounts_status(running, laptop) == 200
        await _assert_tpp_grant_lives(running, tpp_grant)
        revoked = await _grant_of(running, phone)
        assert revoked.status is GrantStatus.REVOKED and (await _grant_of(running, laptop)).status is GrantStatus.ACTIVE
        (event,) = await events(running.platform, "grant.revoked", str(revoked.id))
        assert event.payload["reason"] == "session_ended"
        assert (event.payload["actor_kind"], event.payload["actor_id"]) == ("customer", customer["customer_id"])
        assert len(await audit_records(running.platform, "grant.revoked", str(revoked.id))) == 1


async def test_staff_revoking_a_logins_sessions_signs_its_apps_and_consoles_out(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with _bank(settings, database_url, dev_pki) as running:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        customer, app, console = demo["customers"][0], demo["clients"]["first_party"], demo["clients"]["staff_console"]
        laptop = await _sign_in(running.http(), app, customer, totp_step=0)
        phone = await _sign_in(running.http(), app, customer, totp_step=1)
        tpp_grant = await _tpp_grant(running, customer["customer_id"])
        support, analyst = (
            next(s for s in demo["staff"] if role in s["roles"]) for role in ("support", "fraud_analyst")
        )
        async with _device(running, demo) as support_device, _device(running, demo) as analyst_device:
            agent = await _sign_in(support_device, console, support, staff=True)
            colleague = await _sign_in(analyst_device, console, analyst, staff=True)
            found = await support_device.get(
                "/admin/v1/identities", params={"customer_id": customer["customer_id"]}, headers=agent.bearer
            )
            (login,) = found.json()["identities"]
            colleague_login = (
                await support_device.get(
                    "/admin/v1/identities", params={"username": analyst["username"]}, headers=agent.bearer
                )
            ).json()["identities"][0]["id"]
            assert (
                await analyst_device.get(f"/admin/v1/identities/{login['id']}", headers=colleague.bearer)
            ).is_success
            rotated_out = colleague.refresh_token
            assert (await colleague.refresh()).status_code == 200  # the old one usable for a grace window (lost reply)

            for identity_id in (login["id"], colleague_login):
                revoked = await support_device.post(
                    f"/admin/v1/identities/{identity_id}/sessions/revocation",
                    json={"reason": "Phone reported stolen"},
                    headers=agent.bearer,
                )
                assert revoked.status_code == 200 and revoked.json()["sessions_ended"] >= 1, revoked.text

            for sign_in in (laptop, phone):
                assert await _accounts_status(running, sign_in) == 401
                assert _refused(await sign_in.refresh())
            await _assert_tpp_grant_lives(running, tpp_grant)
            # The staff console's tokens have no grant: each access token's jti is denied, its refresh tokens dead.
            refused = await analyst_device.get(f"/admin/v1/identities/{login['id']}", headers=colleague.bearer)
            assert refused.status_code == 401, refused.text
            assert _refused(await colleague.refresh())
            colleague.refresh_token = rotated_out  # the grace window is for a lost reply, not for a revoked line
            assert _refused(await colleague.refresh())
            denied = await _denials(running, [token_denial(await _jti(running.tokens, colleague))])
            assert list(denied) == [token_denial(await _jti(running.tokens, colleague))]
            assert (await support_device.get(f"/admin/v1/identities/{login['id']}", headers=agent.bearer)).is_success
            assert (await agent.refresh()).status_code == 200


async def test_a_new_authenticator_app_signs_the_other_devices_apps_out(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with _bank(settings, database_url, dev_pki) as running:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        customer, app = demo["customers"][0], demo["clients"]["first_party"]
        # Each code works once, whichever app it comes from: the two sign-ins and the new app take steps in turn.
        new_phone = await _sign_in(running.http(), app, customer, totp_step=-1)
        lost_phone = await _sign_in(running.http(), app, customer, totp_step=0)

        secret, fields = await replacement_form(new_phone.browser)
        code = pyotp.TOTP(secret).at(datetime.now(UTC).timestamp() + 30)
        replaced = await new_phone.browser.post(REPLACE, data=fields | {"otp": code})

        assert replaced.status_code == 200 and "signed out everywhere else" in replaced.text, replaced.text[-800:]
        assert await _accounts_status(running, lost_phone) == 401
        assert _refused(await lost_phone.refresh())
        assert await _accounts_status(running, new_phone) == 200
        assert (await new_phone.refresh()).status_code == 200


async def test_the_revocation_outlives_a_restart(settings: Settings, database_url: str, dev_pki: Pki) -> None:
    async with _bank(settings, database_url, dev_pki) as running:
        issuer = running.issuer
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        customer, app = demo["customers"][0], demo["clients"]["first_party"]
        laptop = await _sign_in(running.http(), app, customer, totp_step=0)
        phone = await _sign_in(running.http(), app, customer, totp_step=1)
        phone_grant = await _grant_of(running, phone)
        phone_jti = await _jti(running.tokens, phone)

        ended = await running.http().delete(f"/api/v1/sessions/{phone_grant.session_id}", headers=laptop.bearer)

        assert ended.status_code == 204, ended.text
        denied = await _denials(running, [grant_denial(phone_grant.id), token_denial(phone_jti)])
        assert set(denied) == {grant_denial(phone_grant.id), token_denial(phone_jti)}
        assert all(until > datetime.now(UTC) for until in denied.values())

    # Another process of the same issuer over the same database: its deny-list is loaded from the table alone.
    async with _bank(settings, database_url, dev_pki, issuer=issuer) as restarted:
        for sign_in in (laptop, phone):
            sign_in.browser = restarted.http()
        assert await _accounts_status(restarted, phone) == 401
        assert _refused(await phone.refresh())
        assert await _accounts_status(restarted, laptop) == 200

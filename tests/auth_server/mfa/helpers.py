"""Helpers of the second-factor page tests: a login's TOTP steps, a strong sign-in, what the pages show."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pyotp

from audit.trail import platform_units
from auth_server.identities.schemas import IdentityRecord
from auth_server.mfa import service as mfa
from auth_server.mfa.replay import DatabaseOnlyGuard
from auth_server.mfa.totp import ALLOWED_DRIFT_STEPS, STEP_SECONDS
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import ACR_SCA, AMR_OTP, AMR_PASSWORD, SessionStage
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.helpers import SESSION_COOKIE, TEST_ACTOR, enrol, form_token, sign_in, submit_otp

REPLACE = "/mfa/replace"
RECOVERY_CODES = "/account/recovery-codes"
# Where a page needing a recent strong sign-in sends a customer's browser: password and code again, then back.
SIGN_IN_AGAIN = {
    REPLACE: "/login?sca=1&fresh=1&return_to=%2Fmfa%2Freplace",
    RECOVERY_CODES: "/login?sca=1&fresh=1&return_to=%2Faccount%2Frecovery-codes",
}


def _step(when: datetime) -> int:
    return int(when.timestamp()) // STEP_SECONDS


@dataclass
class Steps:
    """The last TOTP step a login used: the codes of all its secrets, old and new, count in one sequence."""

    last: int

    def next_code(self, secret: str) -> str:
        """The code of the earliest step still unused and inside the drift window now (never a wait)."""
        current = int(time.time()) // STEP_SECONDS
        step = max(self.last + 1, current - ALLOWED_DRIFT_STEPS)
        assert step <= current + ALLOWED_DRIFT_STEPS, "the test used up its window of TOTP steps"
        self.last = step
        return pyotp.TOTP(secret).at(step * STEP_SECONDS)

    def used_code(self, secret: str) -> str:
        """The code of the step used last (refused again, whichever secret it comes from)."""
        return pyotp.TOTP(secret).at(self.last * STEP_SECONDS)


async def enrolled(platform: Platform, identity: IdentityRecord) -> tuple[str, list[str], Steps]:
    """Enrol a TOTP a minute and a half back, so the steps of the test's own codes are all unused."""
    at = datetime.now(UTC) - timedelta(seconds=60)
    secret, codes = await enrol(platform, identity, at=at)
    return secret, codes, Steps(_step(at - timedelta(seconds=STEP_SECONDS)))


async def sign_in_strongly(client: httpx.AsyncClient, username: str, secret: str, steps: Steps) -> None:
    assert (await sign_in(client, username)).headers["location"] == "/login/otp"
    signed_in = await submit_otp(client, steps.next_code(secret))
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account", signed_in.text


async def other_session(platform: Platform, identity: IdentityRecord, client: httpx.AsyncClient) -> uuid.UUID:
    """A strong session of the login in another browser (`client`), as if signed in on another phone."""
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        issued = await sessions_service.start_session(
            uow,
            identity_id=identity.id,
            stage=SessionStage.AUTHENTICATED,
            amr=[AMR_PASSWORD, AMR_OTP],
            acr=ACR_SCA,
            return_to=None,
            now=datetime.now(UTC),
        )
    client.cookies.set(SESSION_COOKIE, issued.token)
    return issued.record.id


async def live_session_ids(platform: Platform, identity: IdentityRecord) -> set[uuid.UUID]:
    async with unit_of_work(platform.sessions) as session:
        return {record.id for record in await sessions_service.list_live_sessions(session, identity.id)}


def age_sessions(database_url: str, identity: IdentityRecord, minutes: int) -> None:
    """Move the login's sign-ins `minutes` into the past (still within the session's idle lifetime)."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE auth_server.browser_sessions SET auth_time = auth_time - make_interval(mins => %s)"
            " WHERE identity_id = %s",
            (minutes, identity.id),
        )


async def recovery_code_accepted(platform: Platform, identity: IdentityRecord, code: str) -> bool:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await mfa.use_recovery_code(uow, identity.id, code) is not None


async def totp_accepted(platform: Platform, identity: IdentityRecord, code: str) -> bool:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await mfa.verify_totp(uow, identity.id, code, DatabaseOnlyGuard())


def shown_secret(html: str) -> str:
    match = re.search(r'data-secret="([A-Z2-7]+)"', html)
    assert match, "page shows no TOTP secret"
    return match.group(1)


def shown_offer(html: str) -> str:
    match = re.search(r'name="replacement" value="([^"]+)"', html)
    assert match, "page carries no replacement offer"
    return match.group(1)


def shown_recovery_codes(html: str) -> list[str]:
    return re.findall(r'<li class="mono">([0-9a-z]{5}-[0-9a-z]{5})</li>', html)


async def replacement_form(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """The replacement page's secret and the fields its form posts back (less the code)."""
    page = await client.get(REPLACE)
    assert page.status_code == 200, page.text
    return shown_secret(page.text), {"csrf_token": form_token(page.text), "replacement": shown_offer(page.text)}

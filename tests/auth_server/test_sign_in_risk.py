"""Customers' sign-ins scored by the fraud engine: MONITOR and REVIEW force the TOTP, BLOCK locks the login."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from starlette.types import ASGIApp

from audit.trail import platform_units
from auth_server.app import create_app
from auth_server.devices.service import Device, device_hash
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.login import service as login
from fraud.decisions import Decision, Recommendation, RuleHit, SignInDecision, SignInFacts
from fraud.geo import default_geolocation
from obank.actor import Actor, ActorKind
from obank.claims import ACR_SCA
from obank.runtime import Platform
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

BASE_URL = "https://bank.test"
CLIENT_IP = "203.0.113.7"  # a documentation address: no country
UK_IP = "81.2.69.160"  # registered in the United Kingdom
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
SCORES = {
    Recommendation.APPROVE: 0,
    Recommendation.MONITOR: 40,
    Recommendation.REVIEW: 65,
    Recommendation.BLOCK: 90,
}
STAFF = Actor(ActorKind.STAFF, "staff-risk-desk")

Browsers = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@dataclass
class FixedAssessor:
    """A fraud engine that answers one recommendation to every sign-in and remembers what it was asked."""

    recommendation: Recommendation
    country: str | None = "GB"
    asked: list[SignInFacts] = field(default_factory=list)

    async def assess_sign_in(self, sign_in: SignInFacts) -> SignInDecision:
        self.asked.append(sign_in)
        rules = () if self.recommendation is Recommendation.APPROVE else (RuleHit("new_device", 30),)
        decision = Decision(SCORES[self.recommendation], self.recommendation, rules, "fixed-test")
        return SignInDecision(decision, self.country, new_device=True)


class FailingAssessor:
    """A fraud engine that is down."""

    async def assess_sign_in(self, sign_in: SignInFacts) -> SignInDecision:
        raise ConnectionError("engine unreachable")


class HangingAssessor:
    """A fraud engine that never answers."""

    async def assess_sign_in(self, sign_in: SignInFacts) -> SignInDecision:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


def _browsers(app: ASGIApp) -> Browsers:
    """A new browser (its own cookies) per call, from `ip` (HTTPS, so `__Host-` cookies are kept)."""

    def open_browser(ip: str = CLIENT_IP) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers={"user-agent": USER_AGENT})

    return open_browser


@pytest.fixture
async def approving(platform: Platform) -> AsyncIterator[tuple[FixedAssessor, httpx.AsyncClient]]:
    assessor = FixedAssessor(Recommendation.APPROVE)
    async with _browsers(create_app(platform, sign_ins=assessor))() as browser:
        yield assessor, browser


def _events(database_url: str, identity: IdentityRecord) -> list[tuple[str, dict[str, Any]]]:
    """The identity's security events in publication order: (event type, payload)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_type, payload FROM platform.outbox_events"
            " WHERE topic = 'auth_server.security' AND key = %s ORDER BY position",
            (str(identity.id),),
        ).fetchall()
    return [(event_type, payload) for event_type, payload in rows]


def _of_type(events: list[tuple[str, dict[str, Any]]], event_type: str) -> list[dict[str, Any]]:
    return [payload for kind, payload in events if kind == event_type]


def _refusal(response: httpx.Response) -> tuple[int, str]:
    """What a person sees of a refused sign-in, minus the CSRF token and the username they typed."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", response.text)
    return response.status_code, re.sub(r'name="username" type="text" value="[^"]*"', "", text)


async def test_an_approved_sign_in_goes_on_as_before_with_the_facts_it_was_scored_on(
    platform: Platform, approving: tuple[FixedAssessor, httpx.AsyncClient], database_url: str
) -> None:
    assessor, browser = approving
    identity = await new_login(platform, "approved.customer")
    response = await sign_in(browser, "approved.customer")
    assert response.status_code == 303 and response.headers["location"] == "/account"  # password only, as today
    assert (await browser.get("/account")).status_code == 200

    (facts,) = assessor.asked
    expected_device = device_hash(platform.keyring, Device(USER_AGENT, CLIENT_IP)).hex()
    assert (facts.identity_id, facts.customer_id) == (identity.id, identity.customer_id)
    assert (facts.device_hash, facts.ip_address) == (expected_device, CLIENT_IP)
    assert abs((datetime.now(UTC) - facts.at).total_seconds()) < 60
    events = _events(database_url, identity)
    assert _of_type(events, login.RISK_ASSESSED) == []  # an approval is not news

    enrolled = await new_login(platform, "approved.enrolled")
    await enrol(platform, enrolled)
    async with _browsers(create_app(platform, sign_ins=assessor))() as other:
        response = await sign_in(other, "approved.enrolled")
    assert response.headers["location"] == "/login/otp"


@pytest.mark.parametrize("recommendation", [Recommendation.MONITOR, Recommendation.REVIEW])
async def test_a_risky_sign_in_without_totp_must_enrol_instead_of_a_password_only_session(
    platform: Platform, database_url: str, recommendation: Recommendation
) -> None:
    identity = await new_login(platform, "risky.customer")
    async with _browsers(create_app(platform, sign_ins=FixedAssessor(recommendation)))() as browser:
        response = await sign_in(browser, "risky.customer")
        assert response.status_code == 303 and response.headers["location"] == "/mfa/enrol"
        assert (await browser.get("/account")).headers["location"] == "/mfa/enrol"  # nothing before the TOTP

        page = await browser.get("/mfa/enrol")
        secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
        code = code_at(secret, datetime.now(UTC))
        shown = await browser.post("/mfa/enrol", data={"csrf_token": form_token(page.text), "otp": code})
        assert shown.status_code == 200
        account = await browser.get("/account")
        assert account.status_code == 200 and "password and authentication code" in account.text

    events = _events(database_url, identity)
    (risk,) = _of_type(events, login.RISK_ASSESSED)
    (succeeded,) = _of_type(events, "login.succeeded")
    assert risk["customer_id"] == str(identity.customer_id)
    assert (risk["score"], risk["recommendation"], risk["country"]) == (SCORES[recommendation], recommendation, "GB")
    assert risk["rules"] == [{"rule": "new_device", "contribution": 30}]
    assert risk["session_id"] == succeeded["session_id"]  # the pending session became the strong one
    assert succeeded["acr"] == ACR_SCA
    assert [kind for kind, _ in events].index(login.RISK_ASSESSED) < [kind for kind, _ in events].index(
        "login.succeeded"
    )


@pytest.mark.parametrize("recommendation", [Recommendation.MONITOR, Recommendation.REVIEW])
async def test_a_risky_sign_in_with_totp_asks_for_the_code_as_before(
    platform: Platform, recommendation: Recommendation
) -> None:
    identity = await new_login(platform, "risky.enrolled")
    secret, _ = await enrol(platform, identity)
    async with _browsers(create_app(platform, sign_ins=FixedAssessor(recommendation)))() as browser:
        response = await sign_in(browser, "risky.enrolled")
        assert response.headers["location"] == "/login/otp"
        signed_in = await submit_otp(browser, code_at(secret, datetime.now(UTC)))
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"


async def test_a_blocked_sign_in_looks_like_any_refusal_and_locks_the_login_until_staff_unlock_it(
    platform: Platform, database_url: str
) -> None:
    identity = await new_login(platform, "blocked.customer")
    await new_login(platform, "other.customer")
    blocking = _browsers(create_app(platform, sign_ins=FixedAssessor(Recommendation.BLOCK)))
    async with _browsers(create_app(platform, sign_ins=FixedAssessor(Recommendation.APPROVE)))() as earlier:
        assert (await sign_in(earlier, "blocked.customer")).headers["location"] == "/account"
        async with blocking() as browser:
            wrong = await sign_in(browser, "other.customer", "not the password at all")
            blocked = await sign_in(browser, "blocked.customer")
        assert _refusal(blocked) == _refusal(wrong)  # no hint that the fraud checks refused it
        assert blocked.status_code == 400 and SESSION_COOKIE not in blocked.cookies
        assert (await earlier.get("/account")).status_code == 303  # the login's sessions ended with the lock

    async with platform_units(platform).begin(STAFF) as uow:
        locked = await identities.get_identity(uow.session, identity.id)
    assert locked.locked_until == identities.LOCKED_UNTIL_UNLOCKED
    events = _events(database_url, identity)
    (risk,) = _of_type(events, login.RISK_ASSESSED)
    assert (risk["recommendation"], risk["score"], risk["session_id"]) == ("BLOCK", 90, None)
    assert _of_type(events, "login.failed")[-1]["reason"] == "risk"
    (lock,) = _of_type(events, "identity.locked")
    assert lock["reason"] == "risk" and lock["locked_until"] == identities.LOCKED_UNTIL_UNLOCKED.isoformat()

    # A restart (a new app over the same database) and an approving engine: still locked.
    restarted = FixedAssessor(Recommendation.APPROVE)
    async with _browsers(create_app(platform, sign_ins=restarted))() as browser:
        again = await sign_in(browser, "blocked.customer")
        assert _refusal(again) == _refusal(wrong)
        assert restarted.asked == []  # a locked login is refused before anyone scores it

        async with platform_units(platform).begin(STAFF) as uow:
            await identities.unlock(uow, identity.id)
        unlocked = await sign_in(browser, "blocked.customer")
        assert unlocked.status_code == 303 and unlocked.headers["location"] == "/account"


async def test_staff_sign_ins_are_not_scored(platform: Platform) -> None:
    await new_login(platform, "staff.member", kind=IdentityKind.STAFF)
    assessor = FixedAssessor(Recommendation.BLOCK)
    async with _browsers(create_app(platform, sign_ins=assessor))() as browser:
        response = await sign_in(browser, "staff.member", path="/staff/login")
    assert response.headers["location"] == "/mfa/enrol"
    assert assessor.asked == []


@pytest.mark.parametrize("assessor", [FailingAssessor(), HangingAssessor()], ids=["failing", "hanging"])
async def test_without_an_answer_from_the_engine_the_sign_in_needs_the_totp(
    platform: Platform, database_url: str, monkeypatch: pytest.MonkeyPatch, assessor: Any
) -> None:
    monkeypatch.setattr(login, "ASSESSMENT_TIMEOUT_SECONDS", 0.2)
    identity = await new_login(platform, "unscored.customer")
    async with _browsers(create_app(platform, sign_ins=assessor))() as browser:
        response = await sign_in(browser, "unscored.customer")
    assert response.headers["location"] == "/mfa/enrol"
    (risk,) = _of_type(_events(database_url, identity), login.RISK_ASSESSED)
    assert risk["recommendation"] == "MONITOR"
    assert risk["rules"] == [{"rule": login.ASSESSMENT_UNAVAILABLE, "contribution": 0}]


async def test_security_events_carry_what_fraud_features_learn_from(platform: Platform, database_url: str) -> None:
    customer = await new_login(platform, "featured.customer")
    staff = await new_login(platform, "featured.staff", kind=IdentityKind.STAFF)
    staff_secret, _ = await enrol(platform, staff)
    browsers = _browsers(create_app(platform, sign_ins=FixedAssessor(Recommendation.APPROVE)))
    async with browsers(UK_IP) as browser:
        assert (await sign_in(browser, "featured.customer")).headers["location"] == "/account"
        page = await browser.get("/mfa/enrol")
        secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
        code = code_at(secret, datetime.now(UTC))
        assert (await browser.post("/mfa/enrol", data={"csrf_token": form_token(page.text), "otp": code})).is_success
        new_password = "orchard kettle briskly 77"
        form = await browser.get("/account/password")
        changed = await browser.post(
            "/account/password",
            data={
                "csrf_token": form_token(form.text),
                "current_password": PASSWORD,
                "new_password": new_password,
                "confirm_password": new_password,
            },
        )
        assert changed.status_code == 303
    async with browsers() as browser:
        assert (await sign_in(browser, "featured.staff", path="/staff/login")).headers["location"] == "/login/otp"
        assert (await submit_otp(browser, code_at(staff_secret, datetime.now(UTC)))).status_code == 303
    async with platform_units(platform).begin(STAFF) as uow:
        await identities.reset_password(uow, customer.id, "meadow copper slowly 19", revocations=platform.revocations)

    events = _events(database_url, customer)
    (succeeded,) = _of_type(events, "login.succeeded")
    assert succeeded["customer_id"] == str(customer.customer_id)
    assert succeeded["country"] == default_geolocation().country_of(UK_IP) == "GB"
    assert succeeded["device_hash"] == device_hash(platform.keyring, Device(USER_AGENT, UK_IP)).hex()
    assert succeeded["session_id"]
    for event_type in ("mfa.enrolled", "identity.password_changed", "identity.password_reset"):
        (payload,) = _of_type(events, event_type)
        assert payload["customer_id"] == str(customer.customer_id), event_type
    assert all(UK_IP not in str(payload) for _, payload in events)  # the address only as its keyed hash

    staff_events = _events(database_url, staff)
    (staff_sign_in,) = _of_type(staff_events, "login.succeeded")
    assert (staff_sign_in["customer_id"], staff_sign_in["device_hash"], staff_sign_in["country"]) == (None, None, None)

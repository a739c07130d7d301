"""OpenID Connect Core s3.1.2.1: prompt=none, prompt=login and max_age, and an auth_time that tells the truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind
from auth_server.oauth.config import JWKS_PATH, TOKEN_PATH
from auth_server.sessions.models import BrowserSession
from core_banking import facade as core_banking
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import RegisterClient, RegisteredClient, RunningAS
from tests.auth_server.oauth.flow import (
    Customer,
    Pushed,
    access_consent,
    approve,
    authorize_path,
    code_form,
    complete_sign_in,
    decision_form,
    get_consent,
    new_enrolled_customer,
    push,
    redirect_params,
)

DECISION = "/oauth2/authorize/decision"


async def _signed_in(
    running: RunningAS, register_client: RegisterClient, platform: Platform
) -> tuple[RegisteredClient, Customer, httpx.AsyncClient, dict[str, Any]]:
    """A client, and a customer whose browser signed in (password + TOTP) approving a first request."""
    client = await register_client()
    customer = await new_enrolled_customer(platform)
    first = await push(running, client, consent=await access_consent(platform, client.client_id))
    browser, _, params = await approve(running, client, first, customer)
    return client, customer, browser, await _tokens(running, client, first, params["code"])


async def _tokens(running: RunningAS, client: RegisteredClient, pushed: Pushed, code: str) -> dict[str, Any]:
    """The code's tokens, with the ID token's and access token's claims."""
    response = await running.http().post(TOKEN_PATH, data=code_form(client, running, code, pushed.verifier))
    assert response.status_code == 200, response.text
    jwks = KeySet.import_key_set((await running.http(None).get(JWKS_PATH)).json())
    body = response.json()
    return {
        "id_token": jwt.decode(body["id_token"], jwks, algorithms=["ES256", "PS256"]).claims,
        "access_token": jwt.decode(body["access_token"], jwks, algorithms=["ES256", "PS256"]).claims,
    }


async def _sign_in_was_ten_minutes_ago(platform: Platform, customer: Customer) -> None:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        identity = await identities.find_identity(uow, IdentityKind.CUSTOMER, customer.username)
        assert identity is not None
        await uow.session.execute(
            update(BrowserSession)
            .where(BrowserSession.identity_id == identity.id, BrowserSession.auth_time.is_not(None))
            .values(auth_time=BrowserSession.auth_time - timedelta(minutes=10))
        )


async def test_prompt_none_without_a_session_answers_login_required(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    consent = await access_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent, prompt="none")

    params = redirect_params(await full_server.http(cert=None).get(authorize_path(client, pushed)))

    assert params["error"] == "login_required"
    assert params["state"] == pushed.state and params["iss"] == full_server.issuer and params["error_description"]
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.AWAITING_AUTHORISATION


async def test_prompt_none_with_a_session_answers_consent_required_for_an_open_banking_consent(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, _, browser, _ = await _signed_in(full_server, register_client, shared_platform)
    pushed = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), prompt="none"
    )

    params = redirect_params(await browser.get(authorize_path(client, pushed)))

    assert params["error"] == "consent_required" and params["state"] == pushed.state
    assert params["iss"] == full_server.issuer


@pytest.mark.parametrize("asked", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "select_account"}])
async def test_prompt_login_and_max_age_zero_ask_for_the_sign_in_again_and_auth_time_tells(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, asked: dict[str, str]
) -> None:
    client, customer, browser, _ = await _signed_in(full_server, register_client, shared_platform)
    await _sign_in_was_ten_minutes_ago(shared_platform, customer)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id), **asked)
    requested_at = int(datetime.now(UTC).timestamp())

    shown = await browser.get(authorize_path(client, pushed))
    # The live session is not enough: the password and code are asked again (a later TOTP step than the first).
    assert shown.status_code == 303 and "fresh=1" in shown.headers["location"]
    page = await complete_sign_in(
        browser, shown.headers["location"], customer, otp_at=datetime.now(UTC) + timedelta(seconds=30)
    )
    assert page.status_code == 200, page.text  # the consent page, once: no second round of sign-in
    params = redirect_params(await browser.post(DECISION, data=decision_form(page, "approve")))
    after = await _tokens(full_server, client, pushed, params["code"])

    # auth_time is the new sign-in's, after the request arrived; not the session's earlier one.
    assert after["id_token"]["auth_time"] >= requested_at
    assert after["access_token"]["auth_time"] == after["id_token"]["auth_time"]


async def test_max_age_within_the_sessions_age_keeps_the_earlier_sign_in_and_its_auth_time(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, _, browser, before = await _signed_in(full_server, register_client, shared_platform)
    pushed = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), max_age="3600"
    )

    page = await browser.get(authorize_path(client, pushed))
    params = redirect_params(await browser.post(DECISION, data=decision_form(page, "approve")))
    after = await _tokens(full_server, client, pushed, params["code"])

    assert page.status_code == 200  # no new sign-in
    assert after["id_token"]["auth_time"] == before["id_token"]["auth_time"]
    assert after["access_token"]["auth_time"] == before["id_token"]["auth_time"]


async def test_max_age_shorter_than_the_sessions_age_asks_for_the_sign_in_again(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, customer, browser, _ = await _signed_in(full_server, register_client, shared_platform)
    await _sign_in_was_ten_minutes_ago(shared_platform, customer)
    short = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), max_age="60"
    )
    long = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), max_age="900"
    )

    refused = await browser.get(authorize_path(client, short))
    accepted = await browser.get(authorize_path(client, long))

    assert refused.status_code == 303 and "fresh=1" in refused.headers["location"]
    assert accepted.status_code == 200

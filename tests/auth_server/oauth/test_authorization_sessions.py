"""The authorization a request_uri starts outlives the request_uri (90 s) by its own lifetime, and is used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from auth_server.oauth.authorize.models import AuthorizationSession
from auth_server.oauth.config import AUTHORIZATION_SESSION_LIFETIME_S, PAR_LIFETIME_S, TOKEN_PATH
from auth_server.oauth.par.models import PushedAuthorizationRequest
from core_banking import facade as core_banking
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS
from tests.auth_server.oauth.flow import (
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
    sign_in_to_consent,
)

DECISION = "/oauth2/authorize/decision"


async def _age_pushed_requests(platform: Platform, client_id: str) -> None:
    """As if the request_uri's own lifetime had run out meanwhile."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            update(PushedAuthorizationRequest)
            .where(PushedAuthorizationRequest.client_id == client_id)
            .values(expires_at=past)
        )


async def _age_authorizations(platform: Platform, client_id: str) -> None:
    """As if the authorization had been started longer ago than its lifetime."""
    shift = timedelta(seconds=AUTHORIZATION_SESSION_LIFETIME_S + 1)
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            update(AuthorizationSession)
            .where(AuthorizationSession.client_id == client_id)
            .values(
                created_at=AuthorizationSession.created_at - shift, expires_at=AuthorizationSession.expires_at - shift
            )
        )


async def test_a_customer_slower_than_the_request_uri_still_finishes_and_the_request_uri_is_spent(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    browser = full_server.http(cert=None)
    first = await browser.get(authorize_path(client, pushed))  # the request_uri's one use
    assert first.status_code == 303 and first.headers["location"].startswith("/login?")

    await _age_pushed_requests(shared_platform, client.client_id)  # the customer takes longer than 90 s
    elsewhere = await full_server.http(cert=None).get(authorize_path(client, pushed))
    _, _, params = await approve(full_server, client, pushed, customer, browser)
    tokens = await full_server.http().post(
        TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier)
    )

    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers  # never a second use
    assert tokens.status_code == 200, tokens.text
    async with unit_of_work(shared_platform.sessions) as session:
        row = await session.scalar(
            select(AuthorizationSession).where(AuthorizationSession.client_id == client.client_id)
        )
    assert row is not None and row.outcome == "approved" and row.completed_at is not None
    assert row.expires_at - row.created_at == timedelta(seconds=AUTHORIZATION_SESSION_LIFETIME_S)
    assert AUTHORIZATION_SESSION_LIFETIME_S > PAR_LIFETIME_S


async def test_an_expired_request_uri_never_used_is_refused_with_a_page(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    pushed = await push(full_server, client, scope="openid")
    await _age_pushed_requests(shared_platform, client.client_id)

    response = await full_server.http(cert=None).get(authorize_path(client, pushed))

    assert response.status_code == 400 and "location" not in response.headers
    assert "expired or was already used" in response.text


async def test_an_authorization_past_its_lifetime_goes_back_to_the_client_with_an_error(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    consent = await access_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)
    first = await browser.get(authorize_path(client, pushed))
    await _age_authorizations(shared_platform, client.client_id)

    # The sign-in completes, and coming back to the authorization endpoint finds it expired.
    resumed = await complete_sign_in(browser, first.headers["location"], customer)
    params = redirect_params(resumed)
    after = await browser.get(authorize_path(client, pushed))

    assert params["error"] == "access_denied" and "600 s" in params["error_description"]
    assert params["state"] == pushed.state and params["iss"] == full_server.issuer
    assert after.status_code == 400 and "location" not in after.headers  # the authorization is over
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.AWAITING_AUTHORISATION


async def test_a_decision_posted_after_the_lifetime_fails_cleanly_and_issues_nothing(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    consent = await access_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)
    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)
    await _age_authorizations(shared_platform, client.client_id)

    params = redirect_params(await browser.post(DECISION, data=decision_form(page, "approve")))

    assert set(params) == {"error", "error_description", "state", "iss"} and params["error"] == "access_denied"
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.AWAITING_AUTHORISATION

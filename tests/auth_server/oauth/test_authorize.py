"""The authorization endpoint and consent decision: no open redirect, CSRF, fresh SCA, deny, state and nonce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from auth_server.oauth.authorize.models import AuthorizationCode
from auth_server.oauth.config import JWKS_PATH, TOKEN_PATH
from core_banking import facade as core_banking
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.helpers import form_token
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS
from tests.auth_server.oauth.flow import (
    access_consent,
    approve,
    authorize_path,
    code_form,
    decision_form,
    get_consent,
    new_enrolled_customer,
    payment_consent,
    push,
    redirect_params,
    sign_in_to_consent,
)

DECISION = "/oauth2/authorize/decision"


async def test_requests_not_pushed_or_for_unknown_clients_get_an_error_page_never_a_redirect(
    full_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client()
    browser = full_server.http(cert=None)
    attempts = {
        "front-channel request with an unregistered redirect_uri": {
            "client_id": client.client_id,
            "response_type": "code",
            "redirect_uri": "https://attacker.example/steal",
            "state": "x",
        },
        "unknown client": {"client_id": "nobody", "request_uri": "urn:ietf:params:oauth:request_uri:abc"},
        "unknown request_uri": {"client_id": client.client_id, "request_uri": "urn:ietf:params:oauth:request_uri:x"},
    }

    for label, params in attempts.items():
        response = await browser.get("/oauth2/authorize", params=params)

        assert response.status_code == 400, label
        assert "location" not in response.headers, label
        assert response.headers["content-type"].startswith("text/html"), label
        assert "attacker.example" not in response.text, label
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], label


async def test_another_clients_request_uri_is_refused_with_a_page(
    full_server: RunningAS, register_client: RegisterClient
) -> None:
    client, other = await register_client(), await register_client()
    pushed = await push(full_server, client, scope="openid")

    response = await full_server.http(cert=None).get(
        "/oauth2/authorize", params={"client_id": other.client_id, "request_uri": pushed.request_uri}
    )

    assert response.status_code == 400 and "location" not in response.headers


async def test_the_request_uri_may_be_reloaded_before_sign_in_but_not_used_after_the_decision(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    browser = full_server.http(cert=None)
    first = await browser.get(authorize_path(client, pushed))
    assert first.status_code == 303  # to sign-in; the same browser may come back (FAPI 2.0 SP s5.3.2.2 note 3)

    _, _, params = await approve(full_server, client, pushed, customer, browser)
    again = await browser.get(authorize_path(client, pushed))

    assert "code" in params
    assert again.status_code == 400 and "location" not in again.headers


async def test_a_consent_form_without_its_csrf_token_is_refused(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    consent = await payment_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)
    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)
    form = decision_form(page, "approve")
    del form["csrf_token"]

    refused = await browser.post(DECISION, data=form)
    forged = await browser.post(DECISION, data={**form, "csrf_token": "forged"})

    for response in (refused, forged):
        assert response.status_code == 403 and "location" not in response.headers
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.AWAITING_AUTHORISATION
    accepted = await browser.post(DECISION, data=decision_form(page, "approve"))
    assert "code" in redirect_params(accepted)  # the same form with its token goes through


async def test_a_payment_cannot_be_approved_without_a_fresh_totp_in_this_authorization(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    first = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    browser, _, _ = await approve(full_server, client, first, customer)  # signed in with password + TOTP
    consent = await payment_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)

    shown = await browser.get(authorize_path(client, pushed))
    login_page = await browser.get(shown.headers["location"])  # its form carries this session's CSRF token
    posted = await browser.post(
        DECISION,
        data={
            "csrf_token": form_token(login_page.text),
            "client_id": client.client_id,
            "request_uri": pushed.request_uri,
            "account_id": str(customer.account_ids[0]),
            "decision": "approve",
        },
    )

    # The strong session from before this authorization started is not enough: sign in again, TOTP included.
    assert shown.status_code == 303
    assert shown.headers["location"].startswith("/login?") and "fresh=1" in shown.headers["location"]
    assert "sca=1" in shown.headers["location"]
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login?")
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.AWAITING_AUTHORISATION


async def test_deny_returns_access_denied_with_state_and_iss_and_rejects_the_consent(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    consent = await payment_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)
    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)

    params = redirect_params(await browser.post(DECISION, data=decision_form(page, "deny")))

    assert params == {
        "error": "access_denied",
        "error_description": "the end-user refused the request",
        "state": pushed.state,
        "iss": full_server.issuer,
    }
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.REJECTED


@pytest.mark.parametrize(("state", "nonce"), [("S" * 64 + "~._-", "N" * 300), (None, None)])
async def test_long_state_and_nonce_round_trip_untouched_and_both_are_optional(
    full_server: RunningAS,
    register_client: RegisterClient,
    shared_platform: Platform,
    state: str | None,
    nonce: str | None,
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), state=state, nonce=nonce
    )

    _, _, params = await approve(full_server, client, pushed, customer)
    tokens = await full_server.http().post(
        TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier)
    )

    assert params.get("state") == state and params["iss"] == full_server.issuer
    assert tokens.status_code == 200, tokens.text
    id_token = jwt.decode(
        tokens.json()["id_token"], KeySet.import_key_set((await full_server.http().get(JWKS_PATH)).json())
    )
    assert id_token.claims.get("nonce") == nonce


async def test_discovery_advertises_the_code_flow_it_serves(full_server: RunningAS) -> None:
    document = (await full_server.http().get("/.well-known/openid-configuration")).json()

    assert document["authorization_endpoint"] == full_server.issuer + "/oauth2/authorize"
    assert document["userinfo_endpoint"] == full_server.issuer + "/oauth2/userinfo"
    assert set(document["grant_types_supported"]) == {"client_credentials", "authorization_code", "refresh_token"}
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["acr_values_supported"] == ["urn:openbanking:psd2:sca", "urn:openbanking:psd2:ca"]
    assert {"acr", "amr", "auth_time", "nonce", "openbanking_intent_id"} <= set(document["claims_supported"])


@pytest.mark.parametrize(
    "asked",
    [
        {"acr_values": "urn:openbanking:psd2:sca"},
        {"claims": '{"id_token": {"acr": {"essential": true, "values": ["urn:openbanking:psd2:sca"]}}}'},
    ],
)
async def test_asking_for_the_sca_acr_demands_a_fresh_totp_even_without_a_payment(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, asked: dict[str, str]
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    first = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    browser, _, _ = await approve(full_server, client, first, customer)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id), **asked)
    plain = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))

    strict = await browser.get(authorize_path(client, pushed))
    relaxed = await browser.get(authorize_path(client, plain))

    assert strict.status_code == 303 and "fresh=1" in strict.headers["location"]
    assert relaxed.status_code == 200  # the session's earlier password + TOTP suffices for account access


async def test_an_expired_code_is_refused(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    _, _, params = await approve(full_server, client, pushed, customer)
    async with unit_of_work(shared_platform.sessions) as session:
        expired = datetime.now(UTC) - timedelta(seconds=1)
        mine = AuthorizationCode.client_id == client.client_id
        await session.execute(update(AuthorizationCode).where(mine).values(expires_at=expired))

    response = await full_server.http().post(
        TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier)
    )

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "expired" in response.json()["error_description"]

"""Which failures go back to the client (a 303 with error, error_description, state, iss) and which stay a page.

RFC 6749 s4.1.2.1: once the client and its redirect URI are known good, the client hears every outcome;
before that, nothing is redirected anywhere (no open redirector).
"""

from __future__ import annotations

import httpx

from audit.trail import platform_units
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.models import ClientStatus
from auth_server.oauth.clients.schemas import ClientMetadata
from core_banking import facade as core_banking
from obank.actor import Actor
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import RegisterClient, RegisteredClient, RunningAS
from tests.auth_server.oauth.flow import (
    Pushed,
    access_consent,
    authorize_path,
    decision_form,
    get_consent,
    in_process,
    new_enrolled_customer,
    payment_consent,
    push,
    redirect_params,
    sign_in_to_consent,
)


def error_redirect(response: httpx.Response, running: RunningAS, pushed: Pushed) -> dict[str, str]:
    """The error a 303 to the client carries, checked for state and iss (RFC 9207 s2.4)."""
    params = redirect_params(response)
    assert set(params) == {"error", "error_description", "state", "iss"}, params
    assert params["state"] == pushed.state and params["iss"] == running.issuer
    return params


def error_page(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


async def _change_client(platform: Platform, client: RegisteredClient, **metadata: object) -> None:
    """Staff change the client's registration after it pushed its request."""
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        record = await clients_service.get_client(uow.session, client.client_id)
        changed = ClientMetadata.model_validate({**record.metadata(), **metadata})
        await clients_service.update_client(uow, client.client_id, changed)


async def _disable_client(platform: Platform, client: RegisteredClient) -> None:
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        await clients_service.set_client_status(uow, client.client_id, ClientStatus.DISABLED)


async def test_a_consent_answered_elsewhere_meanwhile_is_reported_to_the_client_and_ends_the_authorization(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    consent = await access_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    await in_process(shared_platform).reject_consent(consent.id)
    browser = full_server.http(cert=None)

    params = error_redirect(await browser.get(authorize_path(client, pushed)), full_server, pushed)
    again = await browser.get(authorize_path(client, pushed))

    assert params["error"] == "invalid_request" and "not awaiting authorisation" in params["error_description"]
    error_page(again)  # one outcome per authorization


async def test_a_consent_withdrawn_while_the_customer_reads_the_page_fails_the_decision_with_a_redirect(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    consent = await access_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)
    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)
    await in_process(shared_platform).reject_consent(consent.id)
    answer = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "approve"))

    params = error_redirect(answer, full_server, pushed)

    assert params["error"] == "invalid_request"
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.REJECTED


async def test_a_scope_the_client_lost_after_pushing_is_reported_as_invalid_scope(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    await _change_client(shared_platform, client, scope="openid payments")

    params = error_redirect(await full_server.http(cert=None).get(authorize_path(client, pushed)), full_server, pushed)

    assert params["error"] == "invalid_scope" and "accounts" in params["error_description"]


async def test_failures_before_the_client_and_redirect_uri_are_trusted_stay_on_a_page(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, other = await register_client(), await register_client()
    unregistered = await register_client()
    disabled = await register_client()
    pushed = {c.client_id: await push(full_server, c, scope="openid") for c in (client, unregistered, disabled)}
    await _change_client(shared_platform, unregistered, redirect_uris=["https://tpp.example/elsewhere"])
    await _disable_client(shared_platform, disabled)
    browser = full_server.http(cert=None)
    first = await browser.get(authorize_path(client, pushed[client.client_id]))  # the request_uri's one use
    assert first.status_code == 303

    attempts = {
        "request_uri missing": {"client_id": client.client_id},
        "another client's request_uri": {
            "client_id": other.client_id,
            "request_uri": pushed[client.client_id].request_uri,
        },
        "redirect_uri no longer registered": {
            "client_id": unregistered.client_id,
            "request_uri": pushed[unregistered.client_id].request_uri,
        },
        "client disabled": {"client_id": disabled.client_id, "request_uri": pushed[disabled.client_id].request_uri},
    }
    for label, params in attempts.items():
        response = await browser.get("/oauth2/authorize", params=params)
        assert response.status_code == 400 and "location" not in response.headers, label
    reused = await full_server.http(cert=None).get(authorize_path(client, pushed[client.client_id]))
    error_page(reused)  # the same request_uri in another browser: a second use


async def test_a_wrong_choice_on_the_consent_page_shows_it_again_and_the_authorization_goes_on(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await payment_consent(shared_platform, client.client_id))
    browser = full_server.http(cert=None)
    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)

    none_chosen = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "approve", []))
    two_chosen = await browser.post(
        "/oauth2/authorize/decision", data=decision_form(page, "approve", list(customer.account_ids))
    )
    undecided = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "maybe"))
    approved = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "approve"))

    for response, message in ((none_chosen, "Choose an account."), (two_chosen, "Choose one account to pay from.")):
        assert response.status_code == 400 and 'role="alert"' in response.text and message in response.text
        assert "Allow Test TPP?" in response.text  # the consent page again, not a dead end
    assert undecided.status_code == 400 and "Choose Allow or Do not allow." in undecided.text
    assert "code" in redirect_params(approved)

"""The customer's grants page: lists what they allowed, and withdrawing a grant kills its tokens and consent."""

from __future__ import annotations

import re

from auth_server.oauth.config import TOKEN_PATH
from core_banking import facade as core_banking
from obank.runtime import Platform
from tests.auth_server.helpers import form_token
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS, assertion_form
from tests.auth_server.oauth.flow import (
    access_consent,
    approve,
    code_form,
    get_consent,
    new_enrolled_customer,
    push,
    relay_grant_events,
)


async def test_a_customer_withdraws_a_grant_and_its_refresh_token_and_consent_die(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(grant_types=("authorization_code", "refresh_token"), client_name="Budget Buddy")
    customer = await new_enrolled_customer(shared_platform)
    consent = await access_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)
    browser, _, params = await approve(full_server, client, pushed, customer)
    tokens = (
        await full_server.http().post(TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier))
    ).json()

    page = await browser.get("/account/grants")
    assert page.status_code == 200 and "Budget Buddy" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    (action,) = re.findall(r'action="(/account/grants/[^"]+/revoke)"', page.text)
    forged = await browser.post(action, data={"csrf_token": "forged"})
    assert forged.status_code == 403
    stranger = full_server.http(cert=None)
    assert (await stranger.post(action, data={})).status_code == 403  # no session, no CSRF cookie: refused

    withdrawn = await browser.post(action, data={"csrf_token": form_token(page.text)})

    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == "/account/grants"
    assert "Withdrawn" in (await browser.get("/account/grants")).text
    refreshed = await full_server.http().post(
        TOKEN_PATH,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            **assertion_form(client, full_server.issuer),
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"
    await relay_grant_events(shared_platform)  # core banking withdraws the consent on the `grant.revoked` event
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.REVOKED


async def test_a_customer_cannot_withdraw_someone_elses_grant(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    owner, other = await new_enrolled_customer(shared_platform), await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    owner_browser, _, _ = await approve(full_server, client, pushed, owner)
    (action,) = re.findall(
        r'action="(/account/grants/[^"]+/revoke)"', (await owner_browser.get("/account/grants")).text
    )
    second = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    other_browser, _, _ = await approve(full_server, client, second, other)
    other_page = await other_browser.get("/account/grants")

    response = await other_browser.post(action, data={"csrf_token": form_token(other_page.text)})

    assert response.status_code == 404
    assert "Withdrawn" not in (await owner_browser.get("/account/grants")).text

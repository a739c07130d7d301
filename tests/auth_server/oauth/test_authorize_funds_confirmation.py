"""The consent page for a funds confirmation consent: what is asked, the one account it names, and the grant."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from audit.trail import platform_units
from auth_server.oauth.authorize.router import GRANT_WITHOUT_CONSENT_S
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.service import GrantRecord
from core_banking import facade as core_banking
from core_banking.accounts import service as accounts_service
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS
from tests.auth_server.oauth.flow import (
    access_consent,
    approve,
    authorize_path,
    decision_form,
    funds_consent,
    get_consent,
    in_process,
    new_enrolled_customer,
    payment_consent,
    push,
    redirect_params,
    sign_in_to_consent,
)

FUNDS_SCOPES = "openid accounts payments fundsconfirmations"
DECISION = "/oauth2/authorize/decision"


async def _grant(platform: Platform, customer_id: uuid.UUID, consent_id: str) -> GrantRecord:
    async with unit_of_work(platform.sessions) as session:
        grants = await grants_service.list_customer_grants(session, customer_id)
    (grant,) = [g for g in grants if g.consent_id == consent_id]
    return grant


def _accounts_offered(page: httpx.Response) -> list[str]:
    return re.findall(r'name="account_id"\s+value="([^"]+)"', page.text)


@pytest.mark.parametrize("by_iban", [False, True], ids=["sort-code-and-number", "iban"])
async def test_a_funds_confirmation_consent_binds_exactly_the_account_its_debtor_account_names(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, by_iban: bool
) -> None:
    client = await register_client(scope=FUNDS_SCOPES, client_name="Card Issuer")
    customer = await new_enrolled_customer(shared_platform)
    checking, savings = customer.account_ids
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    consent = await funds_consent(shared_platform, client.client_id, savings, expires_at=expires, by_iban=by_iban)
    named = await in_process(shared_platform).get_account(savings)
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)

    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)
    another = await browser.post(DECISION, data=decision_form(page, "approve", [checking]))
    approved = await browser.post(DECISION, data=decision_form(page, "approve"))

    assert "Funds check" in page.text and "Check whether your account has enough money" in page.text
    shown = re.search(r'<dd id="named-account">([^<]+)</dd>', page.text)
    assert shown is not None and named.account_number in shown.group(1) and named.sort_code in shown.group(1)
    assert expires.strftime("%d %B %Y") in page.text
    assert _accounts_offered(page) == []  # nothing to pick: the consent names its account
    assert 'value="approve"' in page.text
    assert another.status_code == 400 and "Choose accounts from the list." in another.text
    assert "code" in redirect_params(approved)
    authorised = await get_consent(shared_platform, consent.id)
    assert authorised.status is core_banking.ConsentStatus.AUTHORISED
    assert authorised.account_ids == (savings,)
    grant = await _grant(shared_platform, customer.customer_id, consent.id)
    assert grant.account_ids == (savings,) and grant.scopes == ("openid", "fundsconfirmations")
    assert grant.expires_at == expires  # the consent's ExpirationDateTime, as for account access consents


async def test_a_customer_without_the_named_account_is_told_so_and_can_only_refuse(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(scope=FUNDS_SCOPES)
    customer = await new_enrolled_customer(shared_platform)
    stranger = await new_enrolled_customer(shared_platform)
    consent = await funds_consent(shared_platform, client.client_id, stranger.account_ids[0])
    pushed = await push(full_server, client, consent=consent)
    browser = full_server.http(cert=None)

    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)
    forced = await browser.post(DECISION, data=decision_form(page, "approve", []))
    someone_elses = await browser.post(DECISION, data=decision_form(page, "approve", [stranger.account_ids[0]]))
    refused = await browser.post(DECISION, data=decision_form(page, "deny", []))

    assert page.status_code == 200 and 'id="no-named-account"' in page.text
    assert 'id="debtor-account"' in page.text  # what the TPP asked about, as it wrote it
    assert 'value="approve"' not in page.text and 'value="deny"' in page.text
    assert _accounts_offered(page) == []
    assert forced.status_code == 400 and "You can only refuse it." in forced.text
    assert someone_elses.status_code == 400 and "Choose accounts from the list." in someone_elses.text
    assert redirect_params(refused)["error"] == "access_denied"
    assert (await get_consent(shared_platform, consent.id)).status is core_banking.ConsentStatus.REJECTED


async def test_a_closed_named_account_cannot_be_bound(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(scope=FUNDS_SCOPES)
    customer = await new_enrolled_customer(shared_platform)
    consent = await funds_consent(shared_platform, client.client_id, customer.account_ids[1])
    async with platform_units(shared_platform).begin(TEST_ACTOR) as uow:
        await accounts_service.close_account(uow, customer.account_ids[1], "customer request")
    pushed = await push(full_server, client, consent=consent)

    page = await sign_in_to_consent(full_server.http(cert=None), authorize_path(client, pushed), customer)

    assert 'id="no-named-account"' in page.text and 'value="approve"' not in page.text


async def test_every_grant_lasts_as_long_as_its_consent_or_else_ninety_days(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    permissions = (core_banking.Permission.READ_BALANCES,)
    limited = await in_process(shared_platform).create_account_access_consent(
        client.client_id, core_banking.AccountAccessDetails(permissions=permissions, expires_at=expires)
    )
    open_ended = await access_consent(shared_platform, client.client_id)
    payment = await payment_consent(shared_platform, client.client_id)

    before = datetime.now(UTC)
    lasts = {}
    for consent in (limited, open_ended, payment):
        customer = await new_enrolled_customer(shared_platform)  # each signs in once within the TOTP step
        await approve(full_server, client, await push(full_server, client, consent=consent), customer)
        lasts[consent.id] = (await _grant(shared_platform, customer.customer_id, consent.id)).expires_at
    after = datetime.now(UTC)

    default = timedelta(seconds=GRANT_WITHOUT_CONSENT_S)
    assert lasts[limited.id] == expires
    for consent in (open_ended, payment):
        until = lasts[consent.id]
        assert until is not None and before + default <= until <= after + default

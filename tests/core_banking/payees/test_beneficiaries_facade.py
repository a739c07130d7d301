"""Payees through an account access consent (OB beneficiaries), in process and over the internal HTTP facade:
the customer's active payees under each account of the consent, behind the consent's checks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from core_banking import facade
from core_banking.facade import Permission
from core_banking.internal.client import HttpCoreBanking
from obank.runtime import Platform
from tests.core_banking.helpers import new_account
from tests.core_banking.payees.conftest import ALAN, BENEFICIARIES, People, ScaHeaders, checked_and_added
from tests.core_banking.test_consents import access

TPP = "tpp-beneficiaries"


@pytest.fixture
async def remote(app: FastAPI) -> AsyncIterator[HttpCoreBanking]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking")
    client = HttpCoreBanking(http, app.state.internal_assertions, "open_banking")
    yield client
    await client.close()


async def test_each_payee_under_each_account_of_the_consent_alike_in_process_and_over_http(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People, remote: HttpCoreBanking
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)
    headers = sca_headers(people.payer.id)
    alan = await checked_and_added(client, headers, ALAN, reference="REF 1")
    grace = await checked_and_added(client, headers, people.grace_payee())
    gone = await checked_and_added(
        client, headers, {"name": "Ada Lovelace", "sort_code": "309634", "account_number": "56100526"}
    )
    await client.delete(f"{BENEFICIARIES}/{gone['id']}", headers=headers)
    await checked_and_added(client, sca_headers(people.other.id), ALAN)  # another customer's
    first = await new_account(platform.sessions, platform.keyring, people.payer.id)
    second = await new_account(platform.sessions, platform.keyring, people.payer.id)
    consent = await local.create_account_access_consent(TPP, access(Permission.READ_BENEFICIARIES_DETAIL))
    await local.authorise_consent(consent.id, customer_id=people.payer.id, account_ids=[first.id, second.id])

    listed = await remote.consent_beneficiaries(consent.id, TPP)
    one_account = await remote.consent_beneficiaries(consent.id, TPP, second.id)

    assert listed == await local.consent_beneficiaries(consent.id, TPP)
    assert [(b.account_id, str(b.payee_id)) for b in listed] == [
        (first.id, alan["id"]),
        (first.id, grace["id"]),
        (second.id, alan["id"]),
        (second.id, grace["id"]),
    ]
    assert one_account == listed[2:]
    assert (listed[0].creditor.name, listed[0].creditor.identification, listed[0].reference) == (
        "Alan Turing",
        "40051576262352",
        "REF 1",
    )
    with pytest.raises(facade.AccountNotInConsent):
        await remote.consent_beneficiaries(consent.id, TPP, uuid.uuid4())
    with pytest.raises(facade.ConsentNotFound):
        await remote.consent_beneficiaries(consent.id, "another-tpp")
    balances = await local.create_account_access_consent(TPP, access(Permission.READ_BALANCES))
    await local.authorise_consent(balances.id, customer_id=people.payer.id, account_ids=[first.id])
    with pytest.raises(facade.PermissionNotGranted):
        await remote.consent_beneficiaries(balances.id, TPP)

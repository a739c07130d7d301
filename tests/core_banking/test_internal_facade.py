"""The facade over internal HTTP answers exactly as the in-process one, and serves the platform's services only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from core_banking import facade
from core_banking.internal.client import HttpCoreBanking
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer
from tests.core_banking.test_consents import access, payment


@pytest.fixture
async def remote(app: FastAPI) -> AsyncIterator[HttpCoreBanking]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking")
    client = HttpCoreBanking(http, app.state.internal_assertions, "auth_server")
    yield client
    await client.close()


async def test_the_http_facade_reads_and_decides_consents_like_the_in_process_one(
    platform: Platform, remote: HttpCoreBanking
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring)
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    consent = await local.create_account_access_consent("tpp-remote", access())
    refused = await local.create_domestic_payment_consent("tpp-remote", payment())

    assert await remote.customer_exists(customer.id) and not await remote.customer_exists(uuid.uuid4())
    assert await remote.list_customer_accounts(customer.id) == await local.list_customer_accounts(customer.id)
    assert await remote.get_consent(consent.id) == consent
    authorised = await remote.authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    assert await remote.authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id]) == authorised
    assert authorised == await local.get_consent(consent.id)
    assert (await remote.reject_consent(refused.id, customer_id=customer.id)).ob_status_code == "RJCT"
    assert (await remote.revoke_consent(consent.id, customer_id=customer.id)).ob_status_code == "CANC"

    # The facade's errors arrive as the same exceptions.
    with pytest.raises(facade.ConsentNotFound):
        await remote.get_consent("aac-unknown/../../customers")
    with pytest.raises(facade.ConsentNotAwaitingAuthorisation):
        await remote.authorise_consent(refused.id, customer_id=customer.id, account_ids=[account.id])
    with pytest.raises(facade.ConsentNotFound):
        await remote.revoke_consent(consent.id, customer_id=uuid.uuid4())


@pytest.mark.parametrize("kind", ["customer", "staff", "client"])
async def test_only_the_platforms_services_may_call_it(app: FastAPI, client: httpx.AsyncClient, kind: str) -> None:
    principal = Principal(subject=str(uuid.uuid4()), kind=kind, interaction_id=str(uuid.uuid4()))  # type: ignore[arg-type]
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}

    response = await client.get(f"/internal/v1/customers/{uuid.uuid4()}/accounts", headers=headers)
    unsigned = await client.get(f"/internal/v1/customers/{uuid.uuid4()}/accounts")

    assert response.status_code == 403, response.text
    assert unsigned.status_code == 401

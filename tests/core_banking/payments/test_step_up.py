"""A large payment, or one to a new payee, needs password + TOTP signed in minutes ago (RFC 9470 step-up)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from obank.claims import ACR_CA, ACR_SCA
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import account, new_account, new_customer
from tests.core_banking.payments.test_payment_saga import ALAN, final, pay

pytestmark = pytest.mark.usefixtures("rails")
ScaHeaders = Callable[..., dict[str, str]]


@pytest.fixture
async def payer(platform: Platform) -> tuple[uuid.UUID, uuid.UUID]:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000_000)
    return customer.id, debtor.id


@pytest.mark.parametrize(
    "signed_in",
    [{"acr": None}, {"acr": ACR_CA}, {"acr": ACR_SCA, "age_s": 301}],
    ids=["no acr", "one factor", "strong but stale"],
)
async def test_a_new_payee_needs_a_fresh_strong_authentication(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any, signed_in: dict[str, Any]
) -> None:
    customer_id, debtor = payer
    response = await pay(client, sca_headers(customer_id, **signed_in), debtor, ALAN, 1_000, key="k1")
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "insufficient_user_authentication"
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge and f'acr_values="{ACR_SCA}"' in challenge
    assert "max_age=300" in challenge
    assert (await account(platform.sessions, debtor)).balances.available.minor == 1_000_000
    # The step-up done, the same key goes through: the refusal was not kept as the key's answer.
    retried = await pay(client, sca_headers(customer_id), debtor, ALAN, 1_000, key="k1")
    assert retried.status_code == 202, retried.text


async def test_a_small_payment_to_a_payee_paid_days_ago_needs_no_step_up_and_a_large_one_does(
    platform: Platform, client: httpx.AsyncClient, sca_headers: ScaHeaders, payer: Any
) -> None:
    customer_id, debtor = payer
    first = await pay(client, sca_headers(customer_id), debtor, ALAN, 1_000)
    await final(platform, first.json()["id"])
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.payments SET created_at = created_at - interval '2 days' WHERE id = :id"),
            {"id": uuid.UUID(first.json()["id"])},
        )
    one_factor = sca_headers(customer_id, acr=ACR_CA)
    assert (await pay(client, one_factor, debtor, ALAN, 25_000)).status_code == 202
    large = await pay(client, one_factor, debtor, ALAN, 25_001)
    assert large.status_code == 401 and "above 25000" in large.text
    # The same payee written as its IBAN is the same payee.
    by_iban = {"name": "Alan Turing", "iban": "GB12 NWBK 4005 1576 2623 52"}
    response = await pay(client, one_factor, debtor, by_iban, 500)
    assert response.status_code == 202, response.text

"""GET /domestic-payment-consents/{ConsentId} and its funds-confirmation."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text

from core_banking.facade import AccountAccessDetails, InProcessCoreBanking, Permission
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.open_banking.contract import Contract
from tests.open_banking.pisp.conftest import (
    CONSENTS,
    JSON,
    RISK,
    SIGNED,
    AuthorisedConsent,
    Debtor,
    consent_body,
    initiation,
    key,
    only_error,
)

Headers = Callable[..., dict[str, str]]


async def test_the_pisp_reads_its_consent_as_it_sent_it_with_its_status_now(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    body = consent_body(initiation("7.5"))
    created = await client.post(
        CONSENTS, json=body, headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )
    consent_id = created.json()["Data"]["ConsentId"]
    await core_banking.authorise_consent(consent_id, customer_id=debtor.customer_id, account_ids=[debtor.account.id])

    response = await client.get(f"{CONSENTS}/{consent_id}", headers=pisp_headers())

    assert response.status_code == 200, response.text
    contract.check(response)
    data = response.json()["Data"]
    assert data["Status"] == "AUTH"
    assert data["Initiation"] == body["Data"]["Initiation"]  # "7.5" as sent, not rewritten
    assert response.json()["Risk"] == RISK
    assert response.json()["Links"]["Self"].endswith(f"{CONSENTS}/{consent_id}")


async def test_another_tpps_consent_is_403_and_an_unknown_one_400(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    authorised_consent: AuthorisedConsent,
    core_banking: InProcessCoreBanking,
    contract: Contract,
) -> None:
    consent = await authorised_consent(client_id="tpp-2")

    foreign = await client.get(f"{CONSENTS}/{consent.id}", headers=pisp_headers())
    unknown = await client.get(f"{CONSENTS}/pdc-nothing", headers=pisp_headers())

    assert foreign.status_code == 403, foreign.text
    contract.check(foreign)
    assert only_error(foreign)["ErrorCode"] == "AG01"
    assert unknown.status_code == 400, unknown.text
    contract.check(unknown)
    assert (only_error(unknown)["ErrorCode"], only_error(unknown)["Path"]) == ("U011", "ConsentId")


async def test_an_account_access_consent_is_not_a_payment_consent(
    client: httpx.AsyncClient, pisp_headers: Headers, core_banking: InProcessCoreBanking, contract: Contract
) -> None:
    access = await core_banking.create_account_access_consent(
        "tpp-1", AccountAccessDetails((Permission.READ_BALANCES,))
    )

    response = await client.get(f"{CONSENTS}/{access.id}", headers=pisp_headers())

    assert response.status_code == 400, response.text
    contract.check(response)


async def test_an_unanswered_consent_reads_rejected_after_its_window(
    client: httpx.AsyncClient, pisp_headers: Headers, platform: Platform, contract: Contract
) -> None:
    created = await client.post(
        CONSENTS, json=consent_body(), headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )
    consent_id = created.json()["Data"]["ConsentId"]
    await age(platform, consent_id)

    response = await client.get(f"{CONSENTS}/{consent_id}", headers=pisp_headers())

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"]["Status"] == "RJCT"


async def age(platform: Platform, consent_id: str) -> None:
    """Move the consent's creation two hours back, as time would."""
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.consents SET created_at = created_at - interval '2 hours' WHERE id = :id"),
            {"id": consent_id},
        )


@pytest.mark.parametrize(("amount", "available"), [("100.00", True), ("100.01", False)])
async def test_funds_confirmation_answers_whether_the_debtor_account_has_the_amount_now(
    client: httpx.AsyncClient,
    consent_token: Callable[..., dict[str, str]],
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
    amount: str,
    available: bool,
) -> None:
    consent = await authorised_consent(initiation(amount))

    response = await client.get(
        f"{CONSENTS}/{consent.id}/funds-confirmation", headers=consent_token(consent.id, debtor.customer_id)
    )

    assert response.status_code == 200, response.text
    contract.check(response)
    result = response.json()["Data"]["FundsAvailableResult"]
    assert result["FundsAvailable"] is available
    assert response.json()["Links"]["Self"].endswith(f"{CONSENTS}/{consent.id}/funds-confirmation")


async def test_funds_confirmation_takes_the_token_of_that_consent_while_it_is_authorised(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    consent_token: Callable[..., dict[str, str]],
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
) -> None:
    consent = await authorised_consent()
    other = await authorised_consent()
    path = f"{CONSENTS}/{consent.id}/funds-confirmation"

    client_credentials = await client.get(path, headers=pisp_headers())
    other_token = await client.get(path, headers=consent_token(other.id, debtor.customer_id))
    created = await client.post(
        CONSENTS, json=consent_body(), headers=pisp_headers(**JSON, **SIGNED, **{"x-idempotency-key": key()})
    )
    awaiting_id = created.json()["Data"]["ConsentId"]
    awaiting = await client.get(
        f"{CONSENTS}/{awaiting_id}/funds-confirmation", headers=consent_token(awaiting_id, debtor.customer_id)
    )

    for response, status in ((client_credentials, 403), (other_token, 403), (awaiting, 400)):
        assert response.status_code == status, response.text
        contract.check(response)
    assert only_error(awaiting)["ErrorCode"] == "U009"

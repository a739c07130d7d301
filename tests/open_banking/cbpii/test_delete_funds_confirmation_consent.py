"""DELETE /funds-confirmation-consents/{ConsentId}: the CBPII ends its consent; it reads Cancelled from then on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from core_banking.facade import (
    AccountAccessDetails,
    ConsentStatus,
    DebtorAccount,
    DebtorScheme,
    FundsConfirmationDetails,
    InProcessCoreBanking,
    Permission,
    RevokedBy,
)
from obank.runtime import Platform
from tests.open_banking.cbpii.conftest import CONSENTS, TPP, AuthorisedConsent, Debtor, expire, only_error
from tests.open_banking.contract import Contract

Headers = Callable[..., dict[str, str]]


async def test_a_cbpii_deletes_its_authorised_consent_and_again_changes_nothing(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
) -> None:
    consent = await authorised_consent()
    interaction_id = str(uuid.uuid4())

    deleted = await client.delete(
        f"{CONSENTS}/{consent.id}", headers=cbpii_headers(**{"x-fapi-interaction-id": interaction_id})
    )
    again = await client.delete(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())

    assert (deleted.status_code, again.status_code) == (204, 204), deleted.text
    contract.check(deleted)
    contract.check(again)
    assert deleted.content == b""
    assert deleted.headers["x-fapi-interaction-id"] == interaction_id
    ended = await core_banking.get_consent(consent.id)
    assert (ended.status, ended.revoked_by) == (ConsentStatus.REVOKED, RevokedBy.CLIENT)
    read = await client.get(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())
    assert read.json()["Data"]["Status"] == "CANC"


async def test_a_consent_still_awaiting_the_customer_can_be_deleted(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    account = DebtorAccount(DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, debtor.sort_code_and_number)
    consent = await core_banking.create_funds_confirmation_consent(TPP, FundsConfirmationDetails(account))

    response = await client.delete(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())

    assert response.status_code == 204, response.text
    contract.check(response)
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.REVOKED


async def test_an_expired_consent_stays_expired(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    authorised_consent: AuthorisedConsent,
    platform: Platform,
    contract: Contract,
) -> None:
    consent = await authorised_consent(expires_at=datetime.now(UTC) + timedelta(hours=1))
    await expire(platform, consent.id)

    response = await client.delete(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())

    assert response.status_code == 400, response.text
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U009", "ConsentId")
    assert error["Message"].startswith("UK.OBIE.Resource.InvalidConsentStatus - the consent is Expired (EXPD)")


async def test_another_tpps_consent_is_forbidden_another_kind_unknown_and_both_stay_as_they_were(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
) -> None:
    theirs = await authorised_consent(client_id="tpp-2")
    reading = await core_banking.create_account_access_consent(
        TPP, AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,))
    )

    forbidden = await client.delete(f"{CONSENTS}/{theirs.id}", headers=cbpii_headers())
    assert forbidden.status_code == 403, forbidden.text  # R/W API Profile, "403 (Forbidden)"
    contract.check(forbidden)
    assert (only_error(forbidden)["ErrorCode"], only_error(forbidden)["Path"]) == ("AG01", "ConsentId")
    for consent_id in (reading.id, f"fcc-{uuid.uuid4()}"):
        response = await client.delete(f"{CONSENTS}/{consent_id}", headers=cbpii_headers())
        assert response.status_code == 400, response.text
        contract.check(response)
        assert (only_error(response)["ErrorCode"], only_error(response)["Path"]) == ("U011", "ConsentId")
    assert (await core_banking.get_consent(theirs.id)).status is ConsentStatus.AUTHORISED
    assert (await core_banking.get_consent(reading.id)).status is ConsentStatus.AWAITING_AUTHORISATION


async def test_a_psu_token_cannot_delete_the_consent(
    client: httpx.AsyncClient,
    consent_token: Headers,
    core_banking: InProcessCoreBanking,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
) -> None:
    consent = await authorised_consent()

    response = await client.delete(f"{CONSENTS}/{consent.id}", headers=consent_token(consent.id))

    assert response.status_code == 403, response.text
    contract.check(response)
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.AUTHORISED

"""GET /funds-confirmation-consents/{ConsentId}: a CBPII reads its own consent as it is now, and nobody else's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core_banking.facade import (
    AccountAccessDetails,
    DebtorAccount,
    DebtorScheme,
    FundsConfirmationDetails,
    InProcessCoreBanking,
    Permission,
)
from obank.runtime import Platform
from tests.open_banking.cbpii.conftest import CONSENTS, TPP, AuthorisedConsent, Debtor, expire, only_error
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

Headers = Callable[..., dict[str, str]]


async def test_a_cbpii_follows_its_consent_from_awaiting_to_authorised(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    account = DebtorAccount(DebtorScheme.IBAN, debtor.account.iban, "Ada Lovelace")
    consent = await core_banking.create_funds_confirmation_consent(TPP, FundsConfirmationDetails(account))

    awaiting = await client.get(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())
    await core_banking.authorise_consent(consent.id, customer_id=debtor.customer_id, account_ids=[debtor.account.id])
    authorised = await client.get(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())

    for response in (awaiting, authorised):
        assert response.status_code == 200, response.text
        contract.check(response)
        assert response.json()["Links"] == {"Self": f"https://127.0.0.1:8443{CONSENTS}/{consent.id}"}
        assert response.json()["Data"]["DebtorAccount"] == {
            "SchemeName": "UK.OBIE.IBAN",
            "Identification": debtor.account.iban,
            "Name": "Ada Lovelace",
        }
    assert awaiting.json()["Data"]["Status"] == "AWAU"
    data = authorised.json()["Data"]
    assert data["Status"] == "AUTH"
    assert datetime.fromisoformat(data["StatusUpdateDateTime"]) > datetime.fromisoformat(data["CreationDateTime"])


async def test_past_its_expiry_a_consent_reads_expired(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    authorised_consent: AuthorisedConsent,
    platform: Platform,
    contract: Contract,
) -> None:
    consent = await authorised_consent(expires_at=datetime.now(UTC) + timedelta(hours=1))
    await expire(platform, consent.id)

    response = await client.get(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"]["Status"] == "EXPD"


async def test_a_rejected_consent_reads_rjct(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    debtor: Debtor,
    contract: Contract,
) -> None:
    account = DebtorAccount(DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, debtor.sort_code_and_number)
    consent = await core_banking.create_funds_confirmation_consent(TPP, FundsConfirmationDetails(account))
    await core_banking.reject_consent(consent.id, customer_id=debtor.customer_id)

    response = await client.get(f"{CONSENTS}/{consent.id}", headers=cbpii_headers())

    assert response.status_code == 200, response.text
    contract.check(response)
    assert response.json()["Data"]["Status"] == "RJCT"


@pytest.mark.parametrize("whose", ["unknown", "an account access consent"])
async def test_an_unknown_id_and_another_kind_read_alike(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    core_banking: InProcessCoreBanking,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
    whose: str,
) -> None:
    if whose == "unknown":
        consent_id = f"fcc-{uuid.uuid4()}"
    else:
        details = AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,))
        consent_id = (await core_banking.create_account_access_consent(TPP, details)).id

    response = await client.get(f"{CONSENTS}/{consent_id}", headers=cbpii_headers())

    assert response.status_code == 400, response.text  # R/W API Profile, "400 (Bad Request) v/s 404 (Not Found)"
    contract.check(response)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == ("U011", "ConsentId")
    assert error["Message"] == "UK.OBIE.Resource.NotFound - no funds confirmation consent of this TPP has this id"
    assert "DebtorAccount" not in response.text


async def test_another_tpps_consent_is_forbidden(
    client: httpx.AsyncClient, cbpii_headers: Headers, authorised_consent: AuthorisedConsent, contract: Contract
) -> None:
    theirs = await authorised_consent(client_id="tpp-2")

    response = await client.get(f"{CONSENTS}/{theirs.id}", headers=cbpii_headers())

    assert response.status_code == 403, response.text  # R/W API Profile, "403 (Forbidden)"
    contract.check(response)
    assert (only_error(response)["ErrorCode"], only_error(response)["Path"]) == ("AG01", "ConsentId")
    assert "DebtorAccount" not in response.text


async def test_only_the_tpps_client_credentials_token_with_the_scope_reads_consents(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    consent_token: Headers,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
) -> None:
    consent = await authorised_consent()

    for headers in (tpp_headers(TPP, scopes=("accounts",)), consent_token(consent.id)):
        response = await client.get(f"{CONSENTS}/{consent.id}", headers=headers)
        assert response.status_code == 403, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == "AG01"


async def test_a_consent_id_with_a_control_character_or_too_long_is_refused(
    client: httpx.AsyncClient, cbpii_headers: Headers, contract: Contract
) -> None:
    for path, code in ((f"{CONSENTS}/fcc-%00", "U002"), (f"{CONSENTS}/{'f' * 129}", "U002")):
        response = await client.get(path, headers=cbpii_headers())
        assert response.status_code == 400, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == code

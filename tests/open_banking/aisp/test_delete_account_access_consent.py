"""DELETE /account-access-consents/{ConsentId}: the TPP ends its consent; afterwards the consent is gone for it."""

from __future__ import annotations

import uuid

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
from tests.open_banking.aisp.conftest import AISP, CLIENT, Bank, ReaderHeaders, error_of, only_error
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

CONSENTS = AISP + "/account-access-consents/"


async def test_the_tpp_deletes_its_consent_and_then_reads_it_as_gone(
    client: httpx.AsyncClient, bank: Bank, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await bank.consent()

    response = await client.delete(CONSENTS + consent.id, headers=tpp_headers(CLIENT))

    assert response.status_code == 204, response.text
    assert response.content == b""
    contract.check(response)
    stored = await bank.core.get_consent(consent.id)
    assert (stored.status, stored.revoked_by) == (ConsentStatus.REVOKED, RevokedBy.CLIENT)

    # R/W API Profile, "Changes to an Intent's Authorized State": a GET after the TPP's DELETE is 400.
    read = await client.get(CONSENTS + consent.id, headers=tpp_headers(CLIENT))
    assert read.status_code == 400
    contract.check(read)
    assert error_of(read) == ("U011", "ConsentId")
    assert "deleted" in only_error(read)["Message"]

    again = await client.delete(CONSENTS + consent.id, headers=tpp_headers(CLIENT))
    assert again.status_code == 204  # deleting it again changes nothing
    contract.check(again)


async def test_a_deleted_consent_opens_nothing_from_the_next_request(
    client: httpx.AsyncClient, bank: Bank, tpp_headers: TppHeaders, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent()
    assert (await client.get(AISP + "/accounts", headers=reader_headers(consent.id))).status_code == 200

    await client.delete(CONSENTS + consent.id, headers=tpp_headers(CLIENT))

    refused = await client.get(AISP + "/accounts", headers=reader_headers(consent.id))
    assert refused.status_code == 400
    contract.check(refused)
    assert error_of(refused) == ("U009", None)
    assert "Revoked" in only_error(refused)["Message"]


async def test_another_tpps_consent_is_forbidden_and_an_unknown_one_is_400(
    client: httpx.AsyncClient, bank: Bank, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await bank.consent()

    theirs = await client.delete(CONSENTS + consent.id, headers=tpp_headers("tpp-intruder"))
    unknown = await client.delete(CONSENTS + f"aac-{uuid.uuid4()}", headers=tpp_headers("tpp-intruder"))

    assert theirs.status_code == 403  # R/W API Profile, "403 (Forbidden)"
    assert unknown.status_code == 400
    for response in (theirs, unknown):
        contract.check(response)
    assert error_of(theirs) == ("AG01", "ConsentId")
    assert error_of(unknown) == ("U011", "ConsentId")
    assert (await bank.core.get_consent(consent.id)).status is ConsentStatus.AUTHORISED


async def test_a_consent_of_another_kind_is_not_deleted_here(
    client: httpx.AsyncClient, bank: Bank, tpp_headers: TppHeaders, contract: Contract
) -> None:
    identification = bank.current.sort_code + bank.current.account_number
    debtor = DebtorAccount(DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, identification)
    funds = await bank.core.create_funds_confirmation_consent(CLIENT, FundsConfirmationDetails(debtor))

    response = await client.delete(CONSENTS + funds.id, headers=tpp_headers(CLIENT))

    assert response.status_code == 400
    contract.check(response)
    assert error_of(response) == ("U011", "ConsentId")
    assert (await bank.core.get_consent(funds.id)).status is ConsentStatus.AWAITING_AUTHORISATION


async def test_a_consent_that_already_ended_cannot_be_deleted(
    client: httpx.AsyncClient, core_banking: InProcessCoreBanking, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await core_banking.create_account_access_consent(
        CLIENT, AccountAccessDetails((Permission.READ_BALANCES,))
    )
    await core_banking.reject_consent(consent.id)

    response = await client.delete(CONSENTS + consent.id, headers=tpp_headers(CLIENT))

    assert response.status_code == 400
    contract.check(response)
    assert error_of(response) == ("U009", "ConsentId")
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.REJECTED


async def test_a_consent_the_customer_revoked_still_reads_cancelled(
    client: httpx.AsyncClient, bank: Bank, tpp_headers: TppHeaders, contract: Contract
) -> None:
    consent = await bank.consent()
    await bank.core.revoke_consent(consent.id, customer_id=bank.ada.id)

    response = await client.get(CONSENTS + consent.id, headers=tpp_headers(CLIENT))

    assert response.status_code == 200
    contract.check(response)
    assert response.json()["Data"]["Status"] == "CANC"


async def test_only_the_tpps_client_credentials_token_deletes(
    client: httpx.AsyncClient, bank: Bank, reader_headers: ReaderHeaders, contract: Contract
) -> None:
    consent = await bank.consent()

    response = await client.delete(CONSENTS + consent.id, headers=reader_headers(consent.id))

    assert response.status_code == 403
    contract.check(response)
    assert error_of(response)[0] == "AG01"
    assert (await bank.core.get_consent(consent.id)).status is ConsentStatus.AUTHORISED

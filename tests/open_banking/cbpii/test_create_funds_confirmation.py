"""POST /funds-confirmations: with the PSU's token for an authorised consent, is the amount available now?

The debtor's account has 100.00 booked, a 50.00 overdraft and a 30.00 hold: 120.00 available.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core_banking.facade import (
    AccountAccessDetails,
    DebtorAccount,
    DebtorScheme,
    FundsConfirmationDetails,
    InProcessCoreBanking,
    Permission,
)
from obank.runtime import Platform
from tests.open_banking.cbpii.conftest import (
    CONSENTS,
    FUNDS_CONFIRMATIONS,
    JSON,
    TPP,
    AuthorisedConsent,
    Debtor,
    expire,
    only_error,
)
from tests.open_banking.conftest import TppHeaders
from tests.open_banking.contract import Contract

Headers = Callable[..., dict[str, str]]


def question(consent_id: str, amount: str = "120.00", currency: str = "GBP", reference: str = "Basket 42") -> Any:
    return {
        "Data": {
            "ConsentId": consent_id,
            "Reference": reference,
            "InstructedAmount": {"Amount": amount, "Currency": currency},
        }
    }


async def test_funds_are_available_up_to_the_balance_plus_overdraft_less_holds(
    client: httpx.AsyncClient,
    consent_token: Headers,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    platform: Platform,
    contract: Contract,
) -> None:
    consent = await authorised_consent()
    headers = consent_token(consent.id, customer_id=debtor.customer_id, **JSON)
    interaction_id = str(uuid.uuid4())

    exactly = await client.post(
        FUNDS_CONFIRMATIONS,
        json=question(consent.id, "120"),
        headers={**headers, "x-fapi-interaction-id": interaction_id},
    )
    beyond = await client.post(FUNDS_CONFIRMATIONS, json=question(consent.id, "120.01"), headers=headers)

    for response in (exactly, beyond):
        assert response.status_code == 201, response.text
        contract.check(response)
        assert response.json()["Links"] == {"Self": f"https://127.0.0.1:8443{FUNDS_CONFIRMATIONS}"}
        assert response.json()["Meta"] == {}
    assert exactly.headers["x-fapi-interaction-id"] == interaction_id
    data = exactly.json()["Data"]
    assert data["FundsAvailable"] is True
    assert beyond.json()["Data"]["FundsAvailable"] is False
    assert data["ConsentId"] == consent.id
    assert data["Reference"] == "Basket 42"
    assert data["InstructedAmount"] == {"Amount": "120.00", "Currency": "GBP"}  # as GBP writes it
    assert abs(datetime.fromisoformat(data["CreationDateTime"]) - datetime.now(UTC)) < timedelta(minutes=1)
    async with platform.engine.connect() as connection:
        stored = (
            await connection.execute(
                text(
                    "SELECT id::text, amount_minor, available FROM core_banking.funds_confirmations"
                    " WHERE consent_id = :id ORDER BY amount_minor"
                ),
                {"id": consent.id},
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        (data["FundsConfirmationId"], 12_000, True),
        (beyond.json()["Data"]["FundsConfirmationId"], 12_001, False),
    ]


@pytest.mark.parametrize(
    ("amount", "currency", "reference", "code", "path"),
    [
        ("1.001", "GBP", "r", "U002", "Data.InstructedAmount.Amount"),  # more decimals than GBP has: never rounded
        ("0", "GBP", "r", "U002", "Data.InstructedAmount.Amount"),
        ("-5.00", "GBP", "r", "U002", "Data.InstructedAmount.Amount"),
        ("1e3", "GBP", "r", "U002", "Data.InstructedAmount.Amount"),
        ("1.00", "ABC", "r", "U002", "Data.InstructedAmount.Currency"),  # no ISO 4217 currency
        ("1.00", "EUR", "r", "U002", "Data.InstructedAmount.Currency"),  # not the account's
        ("1.00", "GBP", "R" * 36, "U002", "Data.Reference"),
        ("1.00", "GBP", "", "U002", "Data.Reference"),
    ],
)
async def test_a_bad_amount_or_reference_is_400_naming_the_field(
    client: httpx.AsyncClient,
    consent_token: Headers,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
    amount: str,
    currency: str,
    reference: str,
    code: str,
    path: str,
) -> None:
    consent = await authorised_consent()

    response = await client.post(
        FUNDS_CONFIRMATIONS,
        json=question(consent.id, amount, currency, reference),
        headers=consent_token(consent.id, **JSON),
    )

    assert response.status_code == 400, response.text
    contract.check(response, request_conforms=False)
    error = only_error(response)
    assert (error["ErrorCode"], error["Path"]) == (code, path)


async def test_the_consent_id_in_the_body_must_be_the_tokens(
    client: httpx.AsyncClient,
    consent_token: Headers,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
) -> None:
    mine, other = await authorised_consent(), await authorised_consent()
    theirs = await authorised_consent(client_id="tpp-2")

    for named in (other.id, theirs.id, f"fcc-{uuid.uuid4()}"):
        response = await client.post(FUNDS_CONFIRMATIONS, json=question(named), headers=consent_token(mine.id, **JSON))
        assert response.status_code == 400, response.text
        contract.check(response)
        error = only_error(response)
        assert (error["ErrorCode"], error["Path"]) == ("U002", "Data.ConsentId")
        assert "FundsAvailable" not in response.text


async def test_another_tpps_consent_answers_as_an_unknown_one(
    client: httpx.AsyncClient,
    consent_token: Headers,
    core_banking: InProcessCoreBanking,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
) -> None:
    theirs = await authorised_consent(client_id="tpp-2")
    reading = await core_banking.create_account_access_consent(TPP, AccountAccessDetails((Permission.READ_BALANCES,)))
    await core_banking.authorise_consent(reading.id, customer_id=debtor.customer_id, account_ids=[debtor.account.id])

    # A token of this TPP bound to another TPP's consent, or to a consent that answers no funds question.
    for consent_id in (theirs.id, reading.id):
        response = await client.post(
            FUNDS_CONFIRMATIONS, json=question(consent_id), headers=consent_token(consent_id, client_id=TPP, **JSON)
        )
        assert response.status_code == 400, response.text
        contract.check(response)
        error = only_error(response)
        assert (error["ErrorCode"], error["Path"]) == ("U011", "Data.ConsentId")


async def test_an_expired_consent_is_401_token_expired(
    client: httpx.AsyncClient,
    consent_token: Headers,
    authorised_consent: AuthorisedConsent,
    platform: Platform,
    contract: Contract,
) -> None:
    consent = await authorised_consent(expires_at=datetime.now(UTC) + timedelta(hours=1))
    await expire(platform, consent.id)

    response = await client.post(
        FUNDS_CONFIRMATIONS, json=question(consent.id), headers=consent_token(consent.id, **JSON)
    )

    assert response.status_code == 401, response.text  # R/W API Profile, "401 (Unauthorized)": the consent expired
    contract.check(response)
    assert only_error(response)["ErrorCode"] == "TKXP"


async def test_a_revoked_deleted_or_unanswered_consent_answers_no_funds_question(
    client: httpx.AsyncClient,
    cbpii_headers: Headers,
    consent_token: Headers,
    core_banking: InProcessCoreBanking,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    contract: Contract,
) -> None:
    revoked, deleted = await authorised_consent(), await authorised_consent()
    await core_banking.revoke_consent(revoked.id, customer_id=debtor.customer_id)  # the PSU, at the bank
    assert (await client.delete(f"{CONSENTS}/{deleted.id}", headers=cbpii_headers())).status_code == 204
    account = DebtorAccount(DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, debtor.sort_code_and_number)
    awaiting = await core_banking.create_funds_confirmation_consent(TPP, FundsConfirmationDetails(account))

    for consent, status in ((revoked, "Revoked (CANC)"), (deleted, "Revoked (CANC)"), (awaiting, "(AWAU)")):
        response = await client.post(
            FUNDS_CONFIRMATIONS, json=question(consent.id), headers=consent_token(consent.id, **JSON)
        )
        assert response.status_code == 400, response.text
        contract.check(response)
        error = only_error(response)
        assert (error["ErrorCode"], error["Path"]) == ("U009", "Data.ConsentId")
        assert status in error["Message"]


async def test_only_the_psus_token_for_a_consent_with_the_scope_asks(
    client: httpx.AsyncClient,
    tpp_headers: TppHeaders,
    cbpii_headers: Headers,
    authorised_consent: AuthorisedConsent,
    contract: Contract,
) -> None:
    consent = await authorised_consent()
    for headers in (
        cbpii_headers(),  # the TPP's own client credentials token
        tpp_headers(TPP, kind="customer", subject=str(uuid.uuid4()), scopes=("fundsconfirmations",)),  # no consent
        tpp_headers(TPP, scopes=("accounts",)),
    ):
        response = await client.post(FUNDS_CONFIRMATIONS, json=question(consent.id), headers={**headers, **JSON})
        assert response.status_code == 403, response.text
        contract.check(response)
        assert only_error(response)["ErrorCode"] == "AG01"


async def test_a_nul_byte_or_an_unknown_field_is_refused(
    client: httpx.AsyncClient, consent_token: Headers, authorised_consent: AuthorisedConsent, contract: Contract
) -> None:
    consent = await authorised_consent()
    headers = consent_token(consent.id, **JSON)

    nul = await client.post(FUNDS_CONFIRMATIONS, json=question(consent.id, reference="Basket\x0042"), headers=headers)
    extra = question(consent.id)
    extra["Data"]["DebtorAccount"] = {"SchemeName": "UK.OBIE.IBAN", "Identification": "GB33BUKB20201555555555"}
    unexpected = await client.post(FUNDS_CONFIRMATIONS, json=extra, headers=headers)

    assert nul.status_code == 400, nul.text
    contract.check(nul)
    assert "control characters" in only_error(nul)["Message"]
    assert unexpected.status_code == 400, unexpected.text
    contract.check(unexpected, request_conforms=False)
    assert (only_error(unexpected)["ErrorCode"], only_error(unexpected)["Path"]) == ("U005", "Data.DebtorAccount")

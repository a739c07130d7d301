"""Domestic payment consents in core banking: created once per key with their Initiation, authorised from the
account they name, checked for funds, and consumed by their one payment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from audit.trail import platform_units
from core_banking.consents import service as consents_service
from core_banking.facade import (
    ConsentNotAuthorised,
    ConsentNotFound,
    ConsentStatus,
    CreditorAccount,
    CreditorScheme,
    DebtorAccount,
    DebtorScheme,
    DomesticPaymentDetails,
    IdempotencyKeyReused,
    InvalidConsent,
    InvalidConsentAccounts,
    PsuContext,
)
from core_banking.internal.client import HttpCoreBanking
from obank.actor import Actor
from obank.money import Money
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer
from tests.core_banking.test_consents import CLIENT, core

INITIATION = {"InstructionIdentification": "I-1", "EndToEndIdentification": "E-1"}
RISK = {"PaymentContextCode": "TransferToThirdParty"}
TEST_ACTOR = Actor.system("tests")


def ob_payment(minor: int = 2_500, **overrides: Any) -> DomesticPaymentDetails:
    fields: dict[str, Any] = {
        "amount": Money(minor, "GBP"),
        "creditor": CreditorAccount("ACME", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "08999966374958"),
        "reference": "INV-1",
        "instruction_id": "I-1",
        "end_to_end_id": "E-1",
        "initiation": INITIATION,
        "risk": RISK,
        **overrides,
    }
    return DomesticPaymentDetails(**fields)


async def _authorised(platform: Platform, details: DomesticPaymentDetails | None = None, funded: int = 10_000) -> Any:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=funded)
    consent = await core(platform).create_domestic_payment_consent(CLIENT, details or ob_payment())
    return await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])


async def test_the_initiation_and_risk_are_kept_as_sent(platform: Platform) -> None:
    created = await core(platform).create_domestic_payment_consent(CLIENT, ob_payment())

    read = await core(platform).get_consent(created.id)

    assert read.details == ob_payment()


async def test_the_same_key_and_details_create_one_consent_and_other_details_are_refused(platform: Platform) -> None:
    bank = core(platform)
    psu = PsuContext("198.51.100.7", "pisp-test/1.0")

    first = await bank.create_domestic_payment_consent(CLIENT, ob_payment(), idempotency_key="k-1", psu=psu)
    again = await bank.create_domestic_payment_consent(CLIENT, ob_payment(), idempotency_key="k-1", psu=psu)
    with pytest.raises(IdempotencyKeyReused):
        await bank.create_domestic_payment_consent(CLIENT, ob_payment(risk={}), idempotency_key="k-1")
    with pytest.raises(IdempotencyKeyReused):
        await bank.create_domestic_payment_consent(CLIENT, ob_payment(2_501), idempotency_key="k-1")

    assert again.id == first.id
    other_client = await bank.create_domestic_payment_consent("tpp-other", ob_payment(), idempotency_key="k-1")
    assert other_client.id != first.id


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (
            ob_payment(creditor=CreditorAccount("A", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "08999966374959")),
            "CreditorAccount.Identification",
        ),
        (
            ob_payment(creditor=CreditorAccount("A", CreditorScheme.IBAN, "GB82WEST12345698765433")),
            "CreditorAccount.Identification",
        ),
        (ob_payment(instruction_id="I" * 36), "InstructionIdentification"),
        (ob_payment(end_to_end_id=""), "EndToEndIdentification"),
        (ob_payment(debtor_account=DebtorAccount(DebtorScheme.IBAN, "GB00NOPE")), "DebtorAccount.Identification"),
    ],
)
async def test_payees_failing_their_checks_are_refused_naming_the_field(
    platform: Platform, details: DomesticPaymentDetails, field: str
) -> None:
    with pytest.raises(InvalidConsent) as refused:
        await core(platform).create_domestic_payment_consent(CLIENT, details)

    assert refused.value.field == f"Data.Initiation.{field}"


async def test_a_named_debtor_account_is_the_only_one_the_customer_may_pay_from(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    named = await new_account(platform.sessions, platform.keyring, customer.id)
    other = await new_account(platform.sessions, platform.keyring, customer.id)
    debtor = DebtorAccount(DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, named.sort_code + named.account_number)
    consent = await core(platform).create_domestic_payment_consent(CLIENT, ob_payment(debtor_account=debtor))

    with pytest.raises(InvalidConsentAccounts, match="DebtorAccount"):
        await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[other.id])
    authorised = await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[named.id])

    assert authorised.status is ConsentStatus.AUTHORISED


async def test_funds_are_available_up_to_the_available_balance(platform: Platform) -> None:
    enough = await _authorised(platform, ob_payment(10_000))
    short = await _authorised(platform, ob_payment(10_001))

    assert (await core(platform).payment_funds_available(enough.id, client_id=CLIENT)).available is True
    assert (await core(platform).payment_funds_available(short.id, client_id=CLIENT)).available is False
    with pytest.raises(ConsentNotFound):
        await core(platform).payment_funds_available(enough.id, client_id="tpp-other")


async def test_consuming_moves_an_authorised_consent_to_consumed_once_with_event_and_audit(platform: Platform) -> None:
    consent = await _authorised(platform)
    units = platform_units(platform)

    async with units.begin(TEST_ACTOR) as uow:
        consumed = await consents_service.consume_consent(uow, consent.id, client_id=CLIENT, now=datetime.now(UTC))
    async with units.begin(TEST_ACTOR) as uow:
        with pytest.raises(ConsentNotAuthorised) as again:
            await consents_service.consume_consent(uow, consent.id, client_id=CLIENT, now=datetime.now(UTC))

    assert consumed.status is ConsentStatus.CONSUMED and consumed.ob_status_code == "COND"
    assert again.value.consent_status is ConsentStatus.CONSUMED
    assert (await core(platform).get_consent(consent.id)).status is ConsentStatus.CONSUMED
    async with platform.engine.connect() as connection:
        events = (
            (
                await connection.execute(
                    text("SELECT event_type FROM platform.outbox_events WHERE key = :id ORDER BY position"),
                    {"id": consent.id},
                )
            )
            .scalars()
            .all()
        )
        audited = (
            (
                await connection.execute(
                    text("SELECT action FROM audit.audit_records WHERE entity_id = :id ORDER BY sequence"),
                    {"id": consent.id},
                )
            )
            .scalars()
            .all()
        )
    assert events[-1] == "consent.consumed" and audited[-1] == "consent.consumed"


async def test_a_payment_that_rolls_back_leaves_the_consent_authorised(platform: Platform) -> None:
    consent = await _authorised(platform)

    async def pay_and_fail() -> None:
        async with platform_units(platform).begin(TEST_ACTOR) as uow:
            await consents_service.consume_consent(uow, consent.id, client_id=CLIENT, now=datetime.now(UTC))
            raise RuntimeError("the payment failed after the consent was consumed")

    with pytest.raises(RuntimeError):
        await pay_and_fail()

    assert (await core(platform).get_consent(consent.id)).status is ConsentStatus.AUTHORISED


async def test_only_the_clients_authorised_payment_consent_can_be_consumed(platform: Platform) -> None:
    authorised = await _authorised(platform)
    awaiting = await core(platform).create_domestic_payment_consent(CLIENT, ob_payment())
    units = platform_units(platform)
    now = datetime.now(UTC)

    async with units.begin(TEST_ACTOR) as uow:
        with pytest.raises(ConsentNotFound):
            await consents_service.consume_consent(uow, authorised.id, client_id="tpp-other", now=now)
        with pytest.raises(ConsentNotFound):
            await consents_service.consume_consent(uow, "pdc-nothing", client_id=CLIENT, now=now)
        with pytest.raises(ConsentNotAuthorised) as not_yet:
            await consents_service.consume_consent(uow, awaiting.id, client_id=CLIENT, now=now)

    assert not_yet.value.consent_status is ConsentStatus.AWAITING_AUTHORISATION
    assert (await core(platform).get_consent(authorised.id)).status is ConsentStatus.AUTHORISED


@pytest.fixture
async def remote(app: FastAPI) -> AsyncIterator[HttpCoreBanking]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking")
    client = HttpCoreBanking(http, app.state.internal_assertions, "open_banking")
    yield client
    await client.close()


async def test_over_http_payment_consents_are_created_once_and_checked_for_funds_alike(
    platform: Platform, remote: HttpCoreBanking
) -> None:
    details = ob_payment(debtor_account=DebtorAccount(DebtorScheme.IBAN, "GB82WEST12345698765432", "Ada"))

    created = await remote.create_domestic_payment_consent(CLIENT, details, idempotency_key="http-1")
    again = await remote.create_domestic_payment_consent(CLIENT, details, idempotency_key="http-1")
    with pytest.raises(IdempotencyKeyReused):
        await remote.create_domestic_payment_consent(CLIENT, ob_payment(), idempotency_key="http-1")
    with pytest.raises(InvalidConsent) as refused:
        await remote.create_domestic_payment_consent(CLIENT, ob_payment(end_to_end_id=""))
    authorised = await _authorised(platform)

    assert again == created and created.details == details
    assert refused.value.field == "Data.Initiation.EndToEndIdentification"
    assert (await remote.payment_funds_available(authorised.id, client_id=CLIENT)).available is True
    with pytest.raises(ConsentNotAuthorised):
        await remote.payment_funds_available(created.id, client_id=CLIENT)

"""Confirmation of funds: a consent bound to exactly the account its DebtorAccount names, and answers against
the available balance (holds and overdraft counted), stored and audited, no money moved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from core_banking import facade
from core_banking.accounts import service as accounts_service
from core_banking.accounts.schemas import AccountRecord
from core_banking.facade import ConsentStatus, DebtorScheme, Money
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import STAFF, account, new_account, new_customer
from tests.core_banking.test_consent_creation import access, funds

CLIENT = "tpp-cbpii"


def core(platform: Platform) -> facade.InProcessCoreBanking:
    return facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)


def scan(account: AccountRecord) -> str:
    return account.sort_code + account.account_number


async def _consent_on(platform: Platform, debtor: AccountRecord, **details: Any) -> facade.ConsentRecord:
    assert debtor.customer_id is not None
    consent = await core(platform).create_funds_confirmation_consent(CLIENT, funds(scan(debtor), **details))
    return await core(platform).authorise_consent(consent.id, customer_id=debtor.customer_id, account_ids=[debtor.id])


async def test_authorising_binds_exactly_the_account_the_debtor_account_names(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    stranger = await new_customer(platform.sessions, platform.keyring)
    named = await new_account(platform.sessions, platform.keyring, customer.id)
    other = await new_account(platform.sessions, platform.keyring, customer.id)
    strangers = await new_account(platform.sessions, platform.keyring, stranger.id)
    bank = core(platform)
    by_number = await bank.create_funds_confirmation_consent(CLIENT, funds(scan(named)))
    by_iban = await bank.create_funds_confirmation_consent(CLIENT, funds(named.iban, scheme=DebtorScheme.IBAN))
    on_strangers = await bank.create_funds_confirmation_consent(CLIENT, funds(scan(strangers)))

    for accounts, fragment in (
        ([other.id], "not the DebtorAccount"),
        ([named.id, other.id], "exactly one"),
        ([strangers.id], "not the customer's"),
        ([], "at least one"),
    ):
        with pytest.raises(facade.InvalidConsentAccounts, match=fragment):
            await bank.authorise_consent(by_number.id, customer_id=customer.id, account_ids=accounts)
    with pytest.raises(facade.InvalidConsentAccounts):  # the customer cannot take another's account
        await bank.authorise_consent(on_strangers.id, customer_id=customer.id, account_ids=[named.id])
    authorised = await bank.authorise_consent(by_number.id, customer_id=customer.id, account_ids=[named.id])
    by_iban_authorised = await bank.authorise_consent(by_iban.id, customer_id=customer.id, account_ids=[named.id])

    assert (authorised.status, authorised.account_ids) == (ConsentStatus.AUTHORISED, (named.id,))
    assert by_iban_authorised.account_ids == (named.id,)


async def test_the_answer_counts_holds_and_the_overdraft(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(
        platform.sessions, platform.keyring, customer.id, funded_minor=10_000, overdraft_limit_minor=5_000
    )
    async with unit_of_work(platform.sessions) as session:
        await ledger.place_hold(
            session,
            debtor.id,
            Money(3_000, "GBP"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
            description="Card",
        )
    consent = await _consent_on(platform, debtor)
    bank = core(platform)

    exactly = await bank.confirm_funds(consent.id, client_id=CLIENT, amount=Money(12_000, "GBP"), reference="r-1")
    beyond = await bank.confirm_funds(consent.id, client_id=CLIENT, amount=Money(12_001, "GBP"), reference="r-2")

    assert (exactly.available, beyond.available) == (True, False)
    assert (exactly.consent_id, exactly.account_id, exactly.amount, exactly.reference) == (
        consent.id,
        debtor.id,
        Money(12_000, "GBP"),
        "r-1",
    )
    after = await account(platform.sessions, debtor.id)
    assert (after.booked_balance_minor, after.held_minor) == (10_000, 3_000)  # no money moved, nothing held
    async with platform.engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT id, available FROM core_banking.funds_confirmations ORDER BY created_at, reference")
            )
        ).all()
        audited = await connection.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'funds_confirmation.answered'")
        )
    assert [tuple(row) for row in stored] == [(exactly.id, True), (beyond.id, False)]
    assert audited == 2


async def test_a_frozen_account_has_no_funds_available(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    consent = await _consent_on(platform, debtor)
    async with platform_units(platform).begin(STAFF) as uow:
        await accounts_service.freeze_account(uow, debtor.id, "fraud check")

    answer = await core(platform).confirm_funds(consent.id, client_id=CLIENT, amount=Money(1, "GBP"), reference="r")

    assert answer.available is False


async def test_only_an_authorised_unexpired_funds_consent_of_the_client_answers(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    bank = core(platform)
    consent = await _consent_on(platform, debtor, expires_at=datetime.now(UTC) + timedelta(hours=1))
    awaiting = await bank.create_funds_confirmation_consent(CLIENT, funds(scan(debtor)))
    reading = await bank.create_account_access_consent(CLIENT, access())
    await bank.authorise_consent(reading.id, customer_id=customer.id, account_ids=[debtor.id])
    amount = Money(100, "GBP")

    with pytest.raises(facade.ConsentNotFound):
        await bank.confirm_funds(consent.id, client_id="tpp-intruder", amount=amount, reference="r")
    with pytest.raises(facade.ConsentNotFound):  # an account access consent answers no funds question
        await bank.confirm_funds(reading.id, client_id=CLIENT, amount=amount, reference="r")
    with pytest.raises(facade.ConsentNotFound):
        await bank.confirm_funds(f"fcc-{uuid.uuid4()}", client_id=CLIENT, amount=amount, reference="r")
    with pytest.raises(facade.ConsentNotAuthorised) as refused:
        await bank.confirm_funds(awaiting.id, client_id=CLIENT, amount=amount, reference="r")
    assert refused.value.consent_status is ConsentStatus.AWAITING_AUTHORISATION
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.consents SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": consent.id},
        )
    with pytest.raises(facade.ConsentNotAuthorised) as expired:
        await bank.confirm_funds(consent.id, client_id=CLIENT, amount=amount, reference="r")
    assert expired.value.consent_status is ConsentStatus.EXPIRED
    await bank.revoke_consent(reading.id, customer_id=customer.id)
    async with platform.engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM core_banking.funds_confirmations")) == 0


async def test_a_revoked_funds_consent_answers_no_more(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    consent = await _consent_on(platform, debtor)
    bank = core(platform)

    await bank.revoke_consent(consent.id, customer_id=customer.id)  # the PSU may revoke CBPII consents at the bank

    with pytest.raises(facade.ConsentNotAuthorised):
        await bank.confirm_funds(consent.id, client_id=CLIENT, amount=Money(1, "GBP"), reference="r")


@pytest.mark.parametrize(
    ("amount", "reference", "field"),
    [
        (Money(100, "EUR"), "r", "Data.InstructedAmount.Currency"),
        (Money(0, "GBP"), "r", "Data.InstructedAmount.Amount"),
        (Money(100, "GBP"), "", "Data.Reference"),
        (Money(100, "GBP"), "R" * 36, "Data.Reference"),
    ],
)
async def test_bad_requests_name_the_field(platform: Platform, amount: Money, reference: str, field: str) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    debtor = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)
    consent = await _consent_on(platform, debtor)

    with pytest.raises(facade.InvalidFundsConfirmation) as refused:
        await core(platform).confirm_funds(consent.id, client_id=CLIENT, amount=amount, reference=reference)

    assert refused.value.field == field

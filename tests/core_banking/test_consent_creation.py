"""Consents a TPP creates: UK OB v4.0 permission rules naming the field at fault, and idempotency per client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from core_banking import facade
from core_banking.consents import service as consents_service
from core_banking.facade import (
    AccountAccessDetails,
    ConsentStatus,
    DebtorAccount,
    DebtorScheme,
    FundsConfirmationDetails,
    Permission,
)
from obank.actor import Actor
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer

CLIENT = "tpp-create"
P = Permission


def access(*permissions: Permission, **overrides: Any) -> AccountAccessDetails:
    return AccountAccessDetails(permissions=permissions or (P.READ_ACCOUNTS_DETAIL, P.READ_BALANCES), **overrides)


def funds(identification: str = "04004000000019", **overrides: Any) -> FundsConfirmationDetails:
    scheme = overrides.pop("scheme", DebtorScheme.SORT_CODE_ACCOUNT_NUMBER)
    return FundsConfirmationDetails(DebtorAccount(scheme, identification, overrides.pop("name", None)), **overrides)


def core(platform: Platform) -> facade.InProcessCoreBanking:
    return facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)


async def _count(platform: Platform, query: str, **params: Any) -> int:
    async with platform.engine.connect() as connection:
        return int(await connection.scalar(text(query), params) or 0)


@pytest.mark.parametrize(
    ("details", "field", "fragment"),
    [
        (access(P.READ_BALANCES, P.READ_BALANCES), "Data.Permissions", "repeat"),
        (access(P.READ_OFFERS), "Data.Permissions", "ReadOffers"),
        (access(P.READ_TRANSACTIONS_BASIC), "Data.Permissions", "ReadTransactionsCredits"),
        (access(P.READ_TRANSACTIONS_DETAIL, P.READ_ACCOUNTS_BASIC), "Data.Permissions", "ReadTransactionsDebits"),
        (access(P.READ_TRANSACTIONS_CREDITS), "Data.Permissions", "ReadTransactionsBasic"),
        (access(P.READ_TRANSACTIONS_DEBITS, P.READ_ACCOUNTS_DETAIL), "Data.Permissions", "ReadTransactionsDetail"),
        (access(P.READ_PAN), "Data.Permissions", "ReadPAN"),
        (access(P.READ_PAN, P.READ_ACCOUNTS_BASIC, P.READ_BALANCES), "Data.Permissions", "Detail"),
        (access(expires_at=datetime(2020, 1, 1, tzinfo=UTC)), "Data.ExpirationDateTime", "future"),
        (access(expires_at=datetime(2099, 1, 1)), "Data.ExpirationDateTime", "time zone"),
        (access(transactions_from=datetime(2025, 1, 1)), "Data.TransactionFromDateTime", "time zone"),
        (
            access(
                transactions_from=datetime(2025, 2, 1, tzinfo=UTC), transactions_to=datetime(2025, 1, 1, tzinfo=UTC)
            ),
            "Data.TransactionToDateTime",
            "window",
        ),
    ],
)
async def test_account_access_rules_name_the_field(
    platform: Platform, details: AccountAccessDetails, field: str, fragment: str
) -> None:
    with pytest.raises(facade.InvalidConsent, match=fragment) as refused:
        await core(platform).create_account_access_consent(CLIENT, details)

    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert await _count(platform, "SELECT count(*) FROM core_banking.consents") == 0


@pytest.mark.parametrize(
    "permissions",
    [
        (P.READ_BALANCES,),
        (P.READ_ACCOUNTS_BASIC, P.READ_TRANSACTIONS_BASIC, P.READ_TRANSACTIONS_CREDITS),
        (P.READ_ACCOUNTS_DETAIL, P.READ_PAN),
        (P.READ_TRANSACTIONS_DETAIL, P.READ_TRANSACTIONS_DEBITS, P.READ_TRANSACTIONS_CREDITS, P.READ_PAN),
        tuple(p for p in Permission if p is not P.READ_OFFERS),
    ],
)
async def test_combinations_the_spec_allows_are_accepted(platform: Platform, permissions: tuple[Permission]) -> None:
    consent = await core(platform).create_account_access_consent(CLIENT, access(*permissions))

    assert consent.status is ConsentStatus.AWAITING_AUTHORISATION
    assert isinstance(consent.details, AccountAccessDetails) and consent.details.permissions == permissions


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (funds("0400400000001"), "Data.DebtorAccount.Identification"),
        (funds("04-00-40 00000019"), "Data.DebtorAccount.Identification"),
        (funds("GB00OBNK04004000000019", scheme=DebtorScheme.IBAN), "Data.DebtorAccount.Identification"),
        (funds("X" * 257, scheme=DebtorScheme.IBAN), "Data.DebtorAccount.Identification"),
        (funds(name=" "), "Data.DebtorAccount.Name"),
        (funds(name="N" * 351), "Data.DebtorAccount.Name"),
        (funds(expires_at=datetime.now(UTC) - timedelta(seconds=1)), "Data.ExpirationDateTime"),
        (
            FundsConfirmationDetails(DebtorAccount("UK.OBIE.BBAN", "12345678")),  # type: ignore[arg-type]
            "Data.DebtorAccount.SchemeName",
        ),
    ],
)
async def test_funds_confirmation_rules_name_the_field(
    platform: Platform, details: FundsConfirmationDetails, field: str
) -> None:
    with pytest.raises(facade.InvalidConsent) as refused:
        await core(platform).create_funds_confirmation_consent(CLIENT, details)

    assert refused.value.field == field


async def test_a_funds_confirmation_consent_reads_back_with_its_debtor_account(platform: Platform) -> None:
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    details = funds(account.iban.lower(), scheme=DebtorScheme.IBAN, name="Ada Lovelace", expires_at=expiry)

    created = await core(platform).create_funds_confirmation_consent(CLIENT, details)

    consent = await core(platform).get_consent(created.id)
    assert consent.id.startswith("fcc-") and consent.kind is facade.ConsentKind.FUNDS_CONFIRMATION
    assert consent.details == details and consent.expires_at == expiry
    assert consent.details.debtor_account.names(account)


async def test_the_same_key_and_request_give_the_same_consent_as_it_is_now(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    bank = core(platform)

    first = await bank.create_account_access_consent(CLIENT, access(), idempotency_key="key-1")
    again = await bank.create_account_access_consent(CLIENT, access(), idempotency_key="key-1")
    authorised = await bank.authorise_consent(first.id, customer_id=customer.id, account_ids=[account.id])
    later = await bank.create_account_access_consent(CLIENT, access(), idempotency_key="key-1")

    assert again == first
    assert later == authorised and later.status is ConsentStatus.AUTHORISED
    assert await _count(platform, "SELECT count(*) FROM core_banking.consents") == 1
    audited = "SELECT count(*) FROM audit.audit_records WHERE action = 'consent.created'"
    assert await _count(platform, audited) == 1


async def test_the_same_key_with_another_request_is_refused(platform: Platform) -> None:
    bank = core(platform)
    await bank.create_account_access_consent(CLIENT, access(), idempotency_key="key-2")

    with pytest.raises(facade.IdempotencyKeyReused):
        await bank.create_account_access_consent(CLIENT, access(P.READ_BALANCES), idempotency_key="key-2")
    with pytest.raises(facade.IdempotencyKeyReused):  # the same key for another kind of consent
        await bank.create_funds_confirmation_consent(CLIENT, funds(), idempotency_key="key-2")
    assert await _count(platform, "SELECT count(*) FROM core_banking.consents") == 1


async def test_keys_belong_to_their_client_and_last_a_day(platform: Platform) -> None:
    units = platform_units(platform)
    now = datetime.now(UTC)

    async def create(client_id: str, at: datetime) -> str:
        async with units.begin(Actor.client(client_id)) as uow:
            consent = await consents_service.create_account_access_consent(
                uow, client_id, access(), idempotency_key="shared", now=at
            )
        return consent.id

    mine = await create(CLIENT, now)
    theirs = await create("tpp-other", now)
    within_the_day = await create(CLIENT, now + timedelta(hours=23))
    next_day = await create(CLIENT, now + timedelta(hours=24, seconds=1))

    assert theirs != mine and within_the_day == mine
    assert next_day not in (mine, theirs)


async def test_a_refused_request_leaves_its_key_free(platform: Platform) -> None:
    bank = core(platform)

    with pytest.raises(facade.InvalidConsent):
        await bank.create_funds_confirmation_consent(CLIENT, funds("123"), idempotency_key="key-3")
    created = await bank.create_funds_confirmation_consent(CLIENT, funds(), idempotency_key="key-3")

    assert await bank.create_funds_confirmation_consent(CLIENT, funds(), idempotency_key="key-3") == created


@pytest.mark.parametrize("key", ["", "k" * 256, "bad\nkey"])
async def test_a_key_must_be_printable_and_bounded(platform: Platform, key: str) -> None:
    with pytest.raises(facade.InvalidConsent) as refused:
        await core(platform).create_account_access_consent(CLIENT, access(), idempotency_key=key)
    assert refused.value.field == "x-idempotency-key"


async def test_concurrent_requests_under_one_key_create_one_consent(platform: Platform) -> None:
    bank = core(platform)

    created = await asyncio.gather(
        *(bank.create_account_access_consent(CLIENT, access(), idempotency_key="racing") for _ in range(5))
    )

    assert len({consent.id for consent in created}) == 1
    assert await _count(platform, "SELECT count(*) FROM core_banking.consents") == 1

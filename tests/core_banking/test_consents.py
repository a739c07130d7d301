"""Open Banking consents through core_banking's facade: created for a client, authorised, rejected, revoked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from core_banking import facade
from core_banking.facade import (
    AccountAccessDetails,
    ConsentKind,
    ConsentStatus,
    CreditorAccount,
    CreditorScheme,
    DomesticPaymentDetails,
    Permission,
)
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer

CLIENT = "tpp-consents"
PAYEE = CreditorAccount("ACME Ltd", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "20000055779911")


def payment(minor: int = 12_500, currency: str = "GBP", **overrides: Any) -> DomesticPaymentDetails:
    return DomesticPaymentDetails(
        **{"amount": Money(minor, currency), "creditor": PAYEE, "reference": "INV-42", **overrides}
    )


def access(*permissions: Permission, **overrides: Any) -> AccountAccessDetails:
    chosen = permissions or (Permission.READ_ACCOUNTS_DETAIL, Permission.READ_BALANCES)
    return AccountAccessDetails(permissions=chosen, **overrides)


def core(platform: Platform) -> facade.InProcessCoreBanking:
    return facade.InProcessCoreBanking(platform.sessions, platform.keyring)


async def _create(platform: Platform, details: DomesticPaymentDetails | AccountAccessDetails) -> facade.ConsentRecord:
    if isinstance(details, DomesticPaymentDetails):
        return await core(platform).create_domestic_payment_consent(CLIENT, details)
    return await core(platform).create_account_access_consent(CLIENT, details)


async def _get(platform: Platform, consent_id: str) -> facade.ConsentRecord:
    return await core(platform).get_consent(consent_id)


async def test_a_payment_consent_reads_back_with_its_details(platform: Platform) -> None:
    created = await _create(platform, payment())

    consent = await _get(platform, created.id)

    assert consent.id.startswith("pdc-")
    assert (consent.kind, consent.client_id, consent.status) == (
        ConsentKind.DOMESTIC_PAYMENT,
        CLIENT,
        ConsentStatus.AWAITING_AUTHORISATION,
    )
    assert consent.ob_status_code == "AWAU"
    assert consent.details == payment()
    assert consent.customer_id is None and consent.account_ids == ()


async def test_an_account_access_consent_reads_back_with_permissions_and_expiry(platform: Platform) -> None:
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=90)
    created = await _create(platform, access(expires_at=expiry))

    consent = await _get(platform, created.id)

    assert consent.id.startswith("aac-")
    assert consent.details == access(expires_at=expiry)


@pytest.mark.parametrize(
    ("details", "fragment"),
    [
        (access(Permission.READ_BALANCES, Permission.READ_BALANCES), "repeat"),
        (access(Permission.READ_TRANSACTIONS_DETAIL), "ReadTransactionsCredits"),
        (access(Permission.READ_TRANSACTIONS_DEBITS), "ReadTransactionsBasic"),
        (access(expires_at=datetime(2020, 1, 1, tzinfo=UTC)), "future"),
        (access(expires_at=datetime(2099, 1, 1)), "time zone"),
        (
            access(
                transactions_from=datetime(2025, 2, 1, tzinfo=UTC), transactions_to=datetime(2025, 1, 1, tzinfo=UTC)
            ),
            "window",
        ),
        (payment(minor=-5), "positive"),
        (payment(creditor=CreditorAccount("ACME", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "2000")), "SortCode"),
        (payment(creditor=CreditorAccount("  ", CreditorScheme.IBAN, "GB33BUKB20201555555555")), "name"),
        (payment(reference="R" * 36), "reference"),
    ],
)
async def test_invalid_consents_are_refused(
    platform: Platform, details: DomesticPaymentDetails | AccountAccessDetails, fragment: str
) -> None:
    with pytest.raises(facade.InvalidConsent, match=fragment):
        await _create(platform, details)


async def test_authorising_records_the_customer_and_accounts_with_audit_and_event(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=50_000)
    consent = await _create(platform, payment())

    authorised = await core(platform).authorise_consent(
        consent.id, customer_id=customer.id, account_ids=[account.id], session_id="s-1"
    )

    assert authorised.status is ConsentStatus.AUTHORISED
    assert (authorised.customer_id, authorised.account_ids) == (customer.id, (account.id,))
    assert await _get(platform, consent.id) == authorised
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
            await connection.execute(
                text(
                    "SELECT action, actor_kind, actor_id, client_id FROM audit.audit_records"
                    " WHERE entity_id = :id ORDER BY sequence"
                ),
                {"id": consent.id},
            )
        ).all()
    assert events == ["consent.created", "consent.authorised"]
    assert [tuple(row) for row in audited] == [
        ("consent.created", "client", CLIENT, CLIENT),
        ("consent.authorised", "customer", str(customer.id), CLIENT),
    ]


async def test_accounts_must_be_the_customers_and_fit_the_consent(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    stranger = await new_customer(platform.sessions, platform.keyring)
    gbp = await new_account(platform.sessions, platform.keyring, customer.id)
    second = await new_account(platform.sessions, platform.keyring, customer.id)
    eur = await new_account(platform.sessions, platform.keyring, customer.id, currency="EUR")
    strangers = await new_account(platform.sessions, platform.keyring, stranger.id)
    consent = await _create(platform, payment())

    for accounts, fragment in (
        ([], "at least one"),
        ([strangers.id], "not the customer's"),
        ([uuid.uuid4()], "not the customer's"),
        ([gbp.id, second.id], "exactly one"),
        ([gbp.id, gbp.id], "twice"),
        ([eur.id], "EUR"),
    ):
        with pytest.raises(facade.InvalidConsentAccounts, match=fragment):
            await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=accounts)
    assert (await _get(platform, consent.id)).status is ConsentStatus.AWAITING_AUTHORISATION

    access_consent = await _create(platform, access())
    both = await core(platform).authorise_consent(
        access_consent.id, customer_id=customer.id, account_ids=[gbp.id, eur.id]
    )
    assert both.account_ids == (gbp.id, eur.id)


async def test_a_decided_consent_cannot_be_decided_again(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    rejected = await _create(platform, payment())
    await core(platform).reject_consent(rejected.id, customer_id=customer.id)

    with pytest.raises(facade.ConsentNotAwaitingAuthorisation, match="Rejected"):
        await core(platform).authorise_consent(rejected.id, customer_id=customer.id, account_ids=[account.id])
    with pytest.raises(facade.ConsentNotAwaitingAuthorisation):
        await core(platform).reject_consent(rejected.id)
    with pytest.raises(facade.ConsentNotFound):
        await core(platform).get_consent("pdc-missing")
    assert (await _get(platform, rejected.id)).ob_status_code == "RJCT"


async def test_an_expired_consent_cannot_be_authorised(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    consent = await _create(platform, access(expires_at=datetime.now(UTC) + timedelta(seconds=1)))
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE core_banking.consents SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": consent.id},
        )

    with pytest.raises(facade.ConsentExpired):
        await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])


async def test_the_customer_revokes_an_authorised_account_access_consent(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    stranger = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    consent = await _create(platform, access())
    await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])

    with pytest.raises(facade.ConsentNotFound):
        await core(platform).revoke_consent(consent.id, customer_id=stranger.id)
    revoked = await core(platform).revoke_consent(consent.id, customer_id=customer.id)

    assert revoked.status is ConsentStatus.REVOKED
    assert revoked.ob_status_code == "CANC"
    # Withdrawing it again (a retry, or the grant's event after the direct call) answers the first result.
    assert await core(platform).revoke_consent(consent.id, customer_id=customer.id) == revoked
    paid = await _create(platform, payment())
    await core(platform).authorise_consent(paid.id, customer_id=customer.id, account_ids=[account.id])
    with pytest.raises(facade.ConsentNotRevocable):
        await core(platform).revoke_consent(paid.id, customer_id=customer.id)


async def test_deciding_again_with_the_same_answer_returns_the_first_result(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    consent, refused = await _create(platform, access()), await _create(platform, payment())

    first = await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    again = await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    rejected = await core(platform).reject_consent(refused.id, customer_id=customer.id)

    assert again == first
    assert await core(platform).reject_consent(refused.id, customer_id=customer.id) == rejected
    with pytest.raises(facade.ConsentNotAwaitingAuthorisation):  # another answer is no retry
        await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[])
    async with platform.engine.connect() as connection:
        audited = await connection.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE entity_id = :id AND action = 'consent.authorised'"),
            {"id": consent.id},
        )
    assert audited == 1


async def test_the_database_refuses_an_authorised_consent_without_accounts(platform: Platform) -> None:
    consent = await _create(platform, payment())

    async with unit_of_work(platform.sessions) as session:
        with pytest.raises(Exception, match="authorised_has_accounts"):
            await session.execute(
                text("UPDATE core_banking.consents SET status = 'Authorised' WHERE id = :id"), {"id": consent.id}
            )

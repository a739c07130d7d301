"""How a consent ends: by time (Expired, or unanswered and Rejected), by the TPP's DELETE or the customer's
revocation; from that instant it grants nothing, and an ended consent's tokens are denied."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bank.jobs import job_registry
from core_banking import facade, jobs
from core_banking.consents.consumers import consent_withdrawal_consumer
from core_banking.consents.schemas import AUTHORISATION_WINDOW
from core_banking.consents.service import DENIAL_LIFETIME
from core_banking.facade import ConsentRecord, ConsentStatus, RevokedBy
from obank.database import unit_of_work
from obank.outbox.consumers import apply_once
from obank.outbox.record import Event
from obank.runtime import Platform
from obank.scheduler.scheduler import Scheduler
from obank.topics import GRANT_REVOKED, GRANTS_TOPIC
from tests.core_banking.helpers import new_account, new_customer
from tests.core_banking.test_consent_creation import access, funds
from tests.core_banking.test_consents import payment

CLIENT = "tpp-lifecycle"


def core(platform: Platform) -> facade.InProcessCoreBanking:
    return facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)


async def _authorised(platform: Platform, **details: Any) -> tuple[ConsentRecord, uuid.UUID, uuid.UUID]:
    """An authorised account access consent of CLIENT, its customer and account."""
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=1_000)
    consent = await core(platform).create_account_access_consent(CLIENT, access(**details))
    authorised = await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    return authorised, customer.id, account.id


async def _set(platform: Platform, consent_id: str, assignment: str) -> None:
    async with unit_of_work(platform.sessions) as session:
        await session.execute(text(f"UPDATE core_banking.consents SET {assignment} WHERE id = :id"), {"id": consent_id})


async def _stored(platform: Platform, consent_id: str) -> tuple[str, datetime]:
    async with platform.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT status, status_updated_at FROM core_banking.consents WHERE id = :id"), {"id": consent_id}
            )
        ).one()
    return row.status, row.status_updated_at


async def _events(platform: Platform, consent_id: str) -> list[str]:
    async with platform.engine.connect() as connection:
        query = "SELECT event_type FROM platform.outbox_events WHERE key = :id ORDER BY position"
        return list((await connection.execute(text(query), {"id": consent_id})).scalars())


async def _denied_until(platform: Platform, consent_id: str) -> datetime | None:
    async with platform.engine.connect() as connection:
        query = "SELECT denied_until FROM platform.revocations WHERE identifier = :entry"
        until: datetime | None = await connection.scalar(text(query), {"entry": f"consent:{consent_id}"})
        return until


async def test_an_authorised_consent_is_expired_for_every_reader_from_its_expiry(platform: Platform) -> None:
    consent, customer_id, account_id = await _authorised(platform, expires_at=datetime.now(UTC) + timedelta(hours=1))
    await _set(platform, consent.id, "expires_at = now() - interval '1 second'")
    bank = core(platform)

    expired = await bank.get_consent(consent.id)

    assert (expired.status, expired.ob_status_code) == (ConsentStatus.EXPIRED, "EXPD")
    assert expired.status_updated_at == expired.expires_at
    with pytest.raises(facade.ConsentNotAuthorised) as refused:
        await bank.consent_accounts(consent.id, CLIENT)
    assert refused.value.consent_status is ConsentStatus.EXPIRED
    with pytest.raises(facade.ConsentNotRevocable):
        await bank.revoke_consent(consent.id, customer_id=customer_id)
    with pytest.raises(facade.ConsentNotRevocable):
        await bank.withdraw_consent(consent.id, client_id=CLIENT)
    assert (await _stored(platform, consent.id))[0] == "Authorised"  # until the lapse job writes it
    assert account_id in expired.account_ids


async def test_the_lapse_job_writes_the_expiry_with_its_event_audit_and_denial(platform: Platform) -> None:
    consent, _, _ = await _authorised(platform, expires_at=datetime.now(UTC) + timedelta(hours=1))
    live, _, _ = await _authorised(platform, expires_at=datetime.now(UTC) + timedelta(hours=1))
    await _set(platform, consent.id, "expires_at = now() - interval '1 second'")
    expires_at = (await core(platform).get_consent(consent.id)).expires_at
    assert expires_at is not None

    assert await jobs.lapse_consents(platform) == 1
    assert await jobs.lapse_consents(platform) == 0  # a rerun finds nothing left

    assert await _stored(platform, consent.id) == ("Expired", expires_at)
    assert (await _stored(platform, live.id))[0] == "Authorised"
    assert (await _events(platform, consent.id))[-1] == "consent.expired"
    async with platform.engine.connect() as connection:
        audited = (
            await connection.execute(
                text("SELECT actor_kind, actor_id FROM audit.audit_records WHERE entity_id = :id AND action = :a"),
                {"id": consent.id, "a": "consent.expired"},
            )
        ).all()
    assert [tuple(row) for row in audited] == [("system", "core_banking.consent-lapse")]
    assert await _denied_until(platform, consent.id) == expires_at + DENIAL_LIFETIME
    assert await platform.revocations.first_revoked([f"consent:{consent.id}"]) == f"consent:{consent.id}"


async def test_an_unanswered_consent_stops_being_authorisable_after_its_window(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    bank = core(platform)
    stale = await bank.create_account_access_consent(CLIENT, access())
    refused_later = await bank.create_account_access_consent(CLIENT, access())
    fresh = await bank.create_account_access_consent(CLIENT, access())
    for consent in (stale, refused_later):
        await _set(platform, consent.id, "created_at = now() - interval '61 minutes'")

    lapsed = await bank.get_consent(stale.id)

    assert lapsed.status is ConsentStatus.REJECTED
    assert lapsed.status_updated_at == lapsed.created_at + AUTHORISATION_WINDOW
    with pytest.raises(facade.ConsentNotAwaitingAuthorisation) as refused:
        await bank.authorise_consent(stale.id, customer_id=customer.id, account_ids=[account.id])
    assert refused.value.consent_status is ConsentStatus.REJECTED
    # Refusing it once its window has passed records the lapse, and answers it.
    assert await bank.reject_consent(refused_later.id, customer_id=customer.id) == await bank.get_consent(
        refused_later.id
    )
    assert (await _events(platform, refused_later.id))[-1] == "consent.rejected"
    assert await jobs.lapse_consents(platform) == 1
    assert (await _stored(platform, stale.id))[0] == "Rejected"
    assert await _denied_until(platform, stale.id) is None  # it never had tokens
    assert (await bank.get_consent(fresh.id)).status is ConsentStatus.AWAITING_AUTHORISATION


async def test_an_unauthorised_consent_past_its_expiry_is_expired(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    consent = await core(platform).create_funds_confirmation_consent(
        CLIENT, funds(account.sort_code + account.account_number, expires_at=datetime.now(UTC) + timedelta(hours=1))
    )
    await _set(platform, consent.id, "expires_at = now() - interval '1 second'")

    assert (await core(platform).get_consent(consent.id)).status is ConsentStatus.EXPIRED
    with pytest.raises(facade.ConsentExpired):
        await core(platform).authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])


async def test_the_tpp_withdraws_an_authorised_consent_once(platform: Platform) -> None:
    consent, _, _ = await _authorised(platform)
    bank = core(platform)

    with pytest.raises(facade.ConsentNotFound):  # another TPP's consent does not exist for it
        await bank.withdraw_consent(consent.id, client_id="tpp-intruder")
    assert (await bank.get_consent(consent.id)).status is ConsentStatus.AUTHORISED
    withdrawn = await bank.withdraw_consent(consent.id, client_id=CLIENT)
    again = await bank.withdraw_consent(consent.id, client_id=CLIENT)

    assert (withdrawn.status, withdrawn.ob_status_code, withdrawn.revoked_by) == (
        ConsentStatus.REVOKED,
        "CANC",
        RevokedBy.CLIENT,
    )
    assert again == withdrawn == await bank.get_consent(consent.id)
    assert (await _events(platform, consent.id)).count("consent.revoked") == 1
    assert await _denied_until(platform, consent.id) == withdrawn.status_updated_at + DENIAL_LIFETIME
    assert await platform.revocations.first_revoked([f"consent:{consent.id}"]) == f"consent:{consent.id}"
    with pytest.raises(facade.ConsentNotAuthorised):
        await bank.consent_account_balances(consent.id, CLIENT)


async def test_the_tpp_withdraws_a_consent_before_the_customer_answers(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    bank = core(platform)
    consent = await bank.create_account_access_consent(CLIENT, access())

    withdrawn = await bank.withdraw_consent(consent.id, client_id=CLIENT)

    assert withdrawn.status is ConsentStatus.REVOKED
    with pytest.raises(facade.ConsentNotAwaitingAuthorisation):
        await bank.authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])


async def test_what_the_tpp_cannot_withdraw(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    bank = core(platform)
    rejected = await bank.create_account_access_consent(CLIENT, access())
    await bank.reject_consent(rejected.id, customer_id=customer.id)
    paying = await bank.create_domestic_payment_consent(CLIENT, payment())

    with pytest.raises(facade.ConsentNotRevocable) as refused:
        await bank.withdraw_consent(rejected.id, client_id=CLIENT)
    assert refused.value.consent_status is ConsentStatus.REJECTED
    with pytest.raises(facade.ConsentNotRevocable):
        await bank.withdraw_consent(paying.id, client_id=CLIENT)
    with pytest.raises(facade.ConsentNotFound):
        await bank.withdraw_consent("aac-unknown", client_id=CLIENT)


async def test_the_customer_revokes_and_the_tokens_are_denied(platform: Platform) -> None:
    consent, customer_id, _ = await _authorised(platform)
    bank = core(platform)

    revoked = await bank.revoke_consent(consent.id, customer_id=customer_id)

    assert (revoked.status, revoked.revoked_by) == (ConsentStatus.REVOKED, RevokedBy.CUSTOMER)
    assert await _denied_until(platform, consent.id) == revoked.status_updated_at + DENIAL_LIFETIME
    # The TPP's DELETE afterwards changes nothing: the consent stays revoked by its customer.
    assert await bank.withdraw_consent(consent.id, client_id=CLIENT) == revoked


async def test_a_withdrawn_grant_revokes_its_funds_confirmation_consent(platform: Platform) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    bank = core(platform)
    consent = await bank.create_funds_confirmation_consent(CLIENT, funds(account.sort_code + account.account_number))
    await bank.authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    event = Event(
        event_id=uuid.uuid4(),
        topic=GRANTS_TOPIC,
        event_type=GRANT_REVOKED,
        key=str(uuid.uuid4()),
        payload={"consent_id": consent.id, "customer_id": str(customer.id), "grant_id": "g-1"},
        correlation_id=str(uuid.uuid4()),
    )

    assert await apply_once(platform.sessions, consent_withdrawal_consumer(platform.keyring), event)

    revoked = await bank.get_consent(consent.id)
    assert (revoked.status, revoked.revoked_by) == (ConsentStatus.REVOKED, RevokedBy.CUSTOMER)
    assert await _denied_until(platform, consent.id) is not None


async def test_a_withdrawn_grant_leaves_an_expired_consent_as_it_is(platform: Platform) -> None:
    consent, customer_id, _ = await _authorised(platform, expires_at=datetime.now(UTC) + timedelta(hours=1))
    await _set(platform, consent.id, "expires_at = now() - interval '1 second'")
    event = Event(
        event_id=uuid.uuid4(),
        topic=GRANTS_TOPIC,
        event_type=GRANT_REVOKED,
        key=str(uuid.uuid4()),
        payload={"consent_id": consent.id, "customer_id": str(customer_id)},
        correlation_id=str(uuid.uuid4()),
    )

    assert await apply_once(platform.sessions, consent_withdrawal_consumer(platform.keyring), event)

    assert (await core(platform).get_consent(consent.id)).status is ConsentStatus.EXPIRED


async def test_the_scheduler_writes_lapses_every_tick(platform: Platform) -> None:
    consent, _, _ = await _authorised(platform, expires_at=datetime.now(UTC) + timedelta(hours=1))
    await _set(platform, consent.id, "expires_at = now() - interval '1 second'")

    await Scheduler(platform, job_registry(platform.settings)).tick()

    assert (await _stored(platform, consent.id))[0] == "Expired"

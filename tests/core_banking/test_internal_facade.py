"""The facade over internal HTTP answers exactly as the in-process one, and serves the platform's services only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from audit.verify import decrypt_record
from audit.writer import ip_address_hash
from core_banking import facade
from core_banking.facade import DebtorScheme, Money, Permission, PsuContext
from core_banking.internal.client import HttpCoreBanking
from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer
from tests.core_banking.test_consent_creation import funds
from tests.core_banking.test_consents import access, payment


@pytest.fixture
async def remote(app: FastAPI) -> AsyncIterator[HttpCoreBanking]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking")
    client = HttpCoreBanking(http, app.state.internal_assertions, "auth_server")
    yield client
    await client.close()


async def test_the_http_facade_reads_and_decides_consents_like_the_in_process_one(
    platform: Platform, remote: HttpCoreBanking
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring)
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id)
    consent = await local.create_account_access_consent("tpp-remote", access())
    refused = await local.create_domestic_payment_consent("tpp-remote", payment())

    assert await remote.customer_exists(customer.id) and not await remote.customer_exists(uuid.uuid4())
    assert await remote.list_customer_accounts(customer.id) == await local.list_customer_accounts(customer.id)
    assert await remote.get_consent(consent.id) == consent
    authorised = await remote.authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id])
    assert await remote.authorise_consent(consent.id, customer_id=customer.id, account_ids=[account.id]) == authorised
    assert authorised == await local.get_consent(consent.id)
    assert (await remote.reject_consent(refused.id, customer_id=customer.id)).ob_status_code == "RJCT"
    assert (await remote.revoke_consent(consent.id, customer_id=customer.id)).ob_status_code == "CANC"

    # The facade's errors arrive as the same exceptions.
    with pytest.raises(facade.ConsentNotFound):
        await remote.get_consent("aac-unknown/../../customers")
    with pytest.raises(facade.ConsentNotAwaitingAuthorisation):
        await remote.authorise_consent(refused.id, customer_id=customer.id, account_ids=[account.id])
    with pytest.raises(facade.ConsentNotFound):
        await remote.revoke_consent(consent.id, customer_id=uuid.uuid4())


@pytest.mark.parametrize("kind", ["customer", "staff", "client"])
async def test_only_the_platforms_services_may_call_it(app: FastAPI, client: httpx.AsyncClient, kind: str) -> None:
    principal = Principal(subject=str(uuid.uuid4()), kind=kind, interaction_id=str(uuid.uuid4()))  # type: ignore[arg-type]
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}

    response = await client.get(f"/internal/v1/customers/{uuid.uuid4()}/accounts", headers=headers)
    unsigned = await client.get(f"/internal/v1/customers/{uuid.uuid4()}/accounts")

    assert response.status_code == 403, response.text
    assert unsigned.status_code == 401


async def test_the_http_facade_serves_tpp_consents_like_the_in_process_one(
    platform: Platform, remote: HttpCoreBanking
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=5_000)
    details = funds(
        account.iban, scheme=DebtorScheme.IBAN, name="Ada", expires_at=datetime.now(UTC) + timedelta(days=1)
    )

    reading = await remote.create_account_access_consent("tpp-remote", access(), idempotency_key="k-1")
    assert await remote.create_account_access_consent("tpp-remote", access(), idempotency_key="k-1") == reading
    assert reading == await local.get_consent(reading.id)
    cbpii = await remote.create_funds_confirmation_consent("tpp-remote", details, idempotency_key="k-2")
    assert cbpii == await local.get_consent(cbpii.id) and cbpii.details == details
    await remote.authorise_consent(cbpii.id, customer_id=customer.id, account_ids=[account.id])
    answer = await remote.confirm_funds(cbpii.id, client_id="tpp-remote", amount=Money(5_000, "GBP"), reference="r")
    assert (answer.available, answer.amount, answer.consent_id) == (True, Money(5_000, "GBP"), cbpii.id)
    withdrawn = await remote.withdraw_consent(reading.id, client_id="tpp-remote")
    assert withdrawn == await local.get_consent(reading.id) and withdrawn.revoked_by is facade.RevokedBy.CLIENT

    # The errors arrive as the same exceptions, with what they carry.
    with pytest.raises(facade.IdempotencyKeyReused):
        await remote.create_account_access_consent(
            "tpp-remote", access(Permission.READ_BALANCES), idempotency_key="k-1"
        )
    with pytest.raises(facade.InvalidConsent) as invalid:
        await remote.create_account_access_consent("tpp-remote", access(Permission.READ_PAN))
    assert invalid.value.field == "Data.Permissions"
    with pytest.raises(facade.ConsentNotAuthorised) as ended:
        await remote.consent_accounts(reading.id, "tpp-remote")
    assert ended.value.consent_status is facade.ConsentStatus.REVOKED
    with pytest.raises(facade.ConsentNotFound):
        await remote.withdraw_consent(cbpii.id, client_id="tpp-intruder")
    with pytest.raises(facade.InvalidFundsConfirmation) as currency:
        await remote.confirm_funds(cbpii.id, client_id="tpp-remote", amount=Money(1, "EUR"), reference="r")
    assert currency.value.field == "Data.InstructedAmount.Currency"
    with pytest.raises(facade.ConsentNotRevocable) as not_revocable:
        await remote.withdraw_consent(
            (await local.create_domestic_payment_consent("tpp-remote", payment())).id, client_id="tpp-remote"
        )
    assert not_revocable.value.consent_status is facade.ConsentStatus.AWAITING_AUTHORISATION


async def test_the_http_facade_reads_account_information_like_the_in_process_one(
    platform: Platform, remote: HttpCoreBanking
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)
    customer = await new_customer(platform.sessions, platform.keyring)
    current = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=5_000)
    savings = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=700)
    everything = tuple(p for p in Permission if p is not Permission.READ_OFFERS)
    consent = await local.create_account_access_consent("tpp-remote", access(*everything))
    await local.authorise_consent(consent.id, customer_id=customer.id, account_ids=[current.id, savings.id])
    month = f"{datetime.now(UTC):%Y-%m}"
    args = (consent.id, "tpp-remote")

    assert await remote.consent_accounts(*args) == await local.consent_accounts(*args)
    assert await remote.consent_accounts(*args, savings.id) == await local.consent_accounts(*args, savings.id)
    remote_balances, local_balances = (
        await remote.consent_account_balances(*args),
        await local.consent_account_balances(*args),
    )
    assert [(b.account_id, b.booked, b.available) for b in remote_balances] == [
        (b.account_id, b.booked, b.available) for b in local_balances
    ]
    first = await remote.consent_account_transactions(*args, limit=1, booked_from=datetime(2026, 1, 1, tzinfo=UTC))
    assert first.lines == (await local.consent_account_transactions(*args, limit=1)).lines
    assert first.next_cursor is not None
    second = await remote.consent_account_transactions(*args, cursor=first.next_cursor, limit=1)
    assert second.prev_cursor is not None and second.lines[0].account_id != first.lines[0].account_id
    assert await remote.consent_party(*args) == await local.consent_party(*args)
    assert await remote.consent_party(*args, current.id) == await local.consent_party(*args, current.id)
    statements = await remote.consent_statements(*args, current.id)
    assert [s.id for s in statements] == [month]
    this_month = await remote.consent_statement(*args, current.id, month)  # to date: it ends now
    assert (this_month.id, this_month.closing_balance) == (month, statements[0].closing_balance)
    assert (await remote.consent_statement_file(*args, current.id, month)).startswith(b"%PDF")

    with pytest.raises(facade.InvalidCursor):
        await remote.consent_account_transactions(*args, current.id, cursor=first.next_cursor)
    with pytest.raises(facade.InvalidFilter):
        await remote.consent_account_transactions(*args, limit=0)
    with pytest.raises(facade.AccountNotInConsent):
        await remote.consent_account_balances(*args, uuid.uuid4())
    for unknown in ("2026-13", "../../customers", "x" * 41, ""):
        with pytest.raises(facade.StatementNotFound):
            await remote.consent_statement(*args, current.id, unknown)
    with pytest.raises(facade.ConsentNotFound):
        await remote.consent_accounts("x" * 129, "tpp-remote")
    restricted = await local.create_account_access_consent("tpp-remote", access(Permission.READ_BALANCES))
    await local.authorise_consent(restricted.id, customer_id=customer.id, account_ids=[current.id])
    with pytest.raises(facade.PermissionNotGranted):
        await remote.consent_statement_file(restricted.id, "tpp-remote", current.id, month)


async def _audited(platform: Platform, action: str, entity_id: str) -> tuple[bytes | None, dict[str, Any]]:
    """The one audit record of `action` on `entity_id`: its IP hash and decrypted `after`."""
    query = "SELECT record_id, ip_hash FROM audit.audit_records WHERE action = :action AND entity_id = :entity_id"
    async with unit_of_work(platform.sessions) as session:
        row = (await session.execute(text(query), {"action": action, "entity_id": entity_id})).one()
        changes = await decrypt_record(session, platform.keyring, row.record_id)
    assert changes.after is not None
    return (None if row.ip_hash is None else bytes(row.ip_hash)), changes.after


@pytest.mark.parametrize("over_http", [False, True], ids=["in-process", "over-http"])
async def test_the_psu_context_of_a_tpps_changes_reaches_their_audit_records(
    platform: Platform, remote: HttpCoreBanking, over_http: bool
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)
    bank: facade.CoreBanking = remote if over_http else local
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=5_000)
    login = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    psu = PsuContext(ip_address="2001:db8::7", user_agent="Mozilla/5.0 (PSU)", auth_date=login)
    details = funds(account.iban, scheme=DebtorScheme.IBAN, expires_at=datetime.now(UTC) + timedelta(days=1))

    reading = await bank.create_account_access_consent("tpp-psu", access(), psu=psu)
    cbpii = await bank.create_funds_confirmation_consent("tpp-psu", details, psu=psu)
    await local.authorise_consent(cbpii.id, customer_id=customer.id, account_ids=[account.id])
    answer = await bank.confirm_funds(cbpii.id, client_id="tpp-psu", amount=Money(100, "GBP"), reference="r", psu=psu)
    await bank.withdraw_consent(reading.id, client_id="tpp-psu", psu=psu)
    unknown = await bank.create_account_access_consent("tpp-psu", access())  # no PSU context: none recorded

    ip_hash = ip_address_hash(platform.keyring, "2001:db8::7")
    for action, entity_id in (
        ("consent.created", reading.id),
        ("consent.created", cbpii.id),
        ("funds_confirmation.answered", str(answer.id)),
        ("consent.revoked", reading.id),
    ):
        recorded_hash, after = await _audited(platform, action, entity_id)
        assert recorded_hash == ip_hash, action
        assert after["psu"] == {"user_agent": "Mozilla/5.0 (PSU)", "auth_date": login.isoformat()}, action
        assert "2001:db8::7" not in str(after)
    recorded_hash, after = await _audited(platform, "consent.created", unknown.id)
    assert recorded_hash is None and "psu" not in after

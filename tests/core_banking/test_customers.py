"""Customers: personal data sealed per column, email found by keyed hash, KYC decisions audited."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from cryptography.exceptions import InvalidTag

from core_banking.customers import service as customers
from core_banking.customers.errors import CustomerEmailTaken
from core_banking.customers.models import KycStatus
from obank.crypto import seal, unseal
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.core_banking.helpers import STAFF, customer_data, new_customer


async def test_personal_data_is_not_stored_in_clear(platform: Platform, database_url: str) -> None:
    customer = await new_customer(
        platform.sessions,
        platform.keyring,
        full_name="Grace Hopper",
        email="Grace.Hopper@Example.com",
        phone="+447700900999",
        date_of_birth=date(1906, 12, 9),
        national_id="AB123456C",
    )
    assert (customer.full_name, customer.email, customer.national_id) == (
        "Grace Hopper",
        "grace.hopper@example.com",
        "AB123456C",
    )
    with psycopg.connect(database_url) as connection:
        dump = connection.execute("SELECT c::text FROM core_banking.customers c").fetchone()
        audit = connection.execute("SELECT string_agg(a::text, '') FROM audit.audit_records a").fetchone()
        outbox = connection.execute("SELECT string_agg(o::text, '') FROM platform.outbox_events o").fetchone()
    assert dump is not None and audit is not None and outbox is not None
    stored = (dump[0] + audit[0] + outbox[0]).lower()
    for secret in ("grace", "hopper", "example.com", "7700900999", "1906-12-09", "ab123456c", "nw1 6xe", "analytical"):
        assert secret not in stored
        assert secret.encode().hex() not in stored  # nor as bytea hex


async def test_sealed_fields_open_only_for_their_own_customer_and_field(platform: Platform) -> None:
    first = await new_customer(platform.sessions, platform.keyring)
    second = await new_customer(platform.sessions, platform.keyring)
    sealed = seal(platform.keyring, first.id, "national_id", b"QQ1")
    assert unseal(platform.keyring, first.id, "national_id", sealed) == b"QQ1"
    with pytest.raises(InvalidTag):
        unseal(platform.keyring, second.id, "national_id", sealed)
    with pytest.raises(InvalidTag):
        unseal(platform.keyring, first.id, "full_name", sealed)


async def test_email_lookup_and_uniqueness(platform: Platform, units: UnitsOfWork) -> None:
    customer = await new_customer(platform.sessions, platform.keyring, email="Linus@Example.org", verified=False)
    async with units.begin(STAFF) as uow:
        found = await customers.find_by_email(uow.session, platform.keyring, "  linus@example.ORG ")
        assert found is not None and found.id == customer.id
        assert await customers.find_by_email(uow.session, platform.keyring, "nobody@example.org") is None
        with pytest.raises(CustomerEmailTaken):
            await customers.create_customer(uow, customer_data(email="LINUS@example.org"))


async def test_kyc_decision_is_published_and_audited(platform: Platform, units: UnitsOfWork, database_url: str) -> None:
    customer = await new_customer(platform.sessions, platform.keyring, verified=False)
    assert customer.kyc_status is KycStatus.PENDING
    async with units.begin(STAFF) as uow:
        rejected = await customers.set_kyc_status(uow, customer.id, KycStatus.REJECTED)
        unchanged = await customers.set_kyc_status(uow, customer.id, KycStatus.REJECTED)
    assert rejected.kyc_status is unchanged.kyc_status is KycStatus.REJECTED
    with psycopg.connect(database_url) as connection:
        events = connection.execute(
            "SELECT event_type FROM platform.outbox_events WHERE key = %s ORDER BY position", (str(customer.id),)
        ).fetchall()
        audits = connection.execute(
            "SELECT action, actor_id FROM audit.audit_records WHERE entity_id = %s ORDER BY sequence",
            (str(customer.id),),
        ).fetchall()
    assert [e[0] for e in events] == ["customer.created", "customer.kyc_status_changed"]
    assert audits == [("customer.created", "staff-test"), ("customer.kyc_status_changed", "staff-test")]

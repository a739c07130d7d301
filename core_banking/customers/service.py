"""Customers: onboarding, lookup by email, KYC decisions, the name hashes staff search by."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.customers import pii, repository
from core_banking.customers.errors import CustomerEmailTaken, CustomerNotFound
from core_banking.customers.models import Customer, KycStatus
from core_banking.customers.schemas import Address, CustomerCreate, CustomerRecord
from obank.crypto import KeyRing, seal, unseal
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.customers"


def _snapshot(customer: Customer) -> dict[str, Any]:
    # Personal data stays out of events and audit snapshots: it lives, sealed, in one place only.
    return {"customer_id": str(customer.id), "kyc_status": customer.kyc_status.value}


def full_name_of(keyring: KeyRing, customer: Customer) -> str:
    """The customer's name, opened alone (a search result shows no more)."""
    return unseal(keyring, customer.id, "full_name", customer.full_name_sealed).decode()


def _record(keyring: KeyRing, customer: Customer) -> CustomerRecord:
    def opened(field: str) -> str:
        sealed: bytes = getattr(customer, f"{field}_sealed")
        return unseal(keyring, customer.id, field, sealed).decode()

    return CustomerRecord(
        id=customer.id,
        full_name=opened("full_name"),
        email=opened("email"),
        phone=opened("phone"),
        date_of_birth=date.fromisoformat(opened("date_of_birth")),
        address=Address.model_validate_json(opened("address")),
        national_id=opened("national_id"),
        kyc_status=customer.kyc_status,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


async def create_customer(uow: UnitOfWork, data: CustomerCreate, *, now: datetime | None = None) -> CustomerRecord:
    """Onboard a customer (KYC pending); refused when the email already belongs to a customer."""
    session, keyring = uow.session, uow.keyring
    if await repository.find_by_email_hashes(session, pii.email_hashes(keyring, data.email)) is not None:
        raise CustomerEmailTaken()
    now = now or datetime.now(UTC)
    customer_id = uuid.uuid4()
    fields = {
        "full_name": data.full_name,
        "email": pii.normalise_email(data.email),
        "phone": data.phone,
        "date_of_birth": data.date_of_birth.isoformat(),
        "address": data.address.model_dump_json(),
        "national_id": data.national_id,
    }
    customer = Customer(
        id=customer_id,
        email_hash=pii.email_hash(keyring, data.email),
        full_name_hash=pii.name_hash(keyring, data.full_name),
        kyc_status=KycStatus.PENDING,
        created_at=now,
        updated_at=now,
        **{f"{name}_sealed": seal(keyring, customer_id, name, value.encode()) for name, value in fields.items()},
    )
    await repository.add(session, customer)
    snapshot = _snapshot(customer)
    uow.publish(topic=TOPIC, event_type="customer.created", key=str(customer_id), payload=snapshot)
    uow.audit(action="customer.created", entity_type="customer", entity_id=str(customer_id), after=snapshot)
    return _record(keyring, customer)


async def get_customer(session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID) -> CustomerRecord:
    """The customer with personal data decrypted."""
    customer = await repository.get(session, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    return _record(keyring, customer)


async def customer_exists(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """Whether `customer_id` names a customer."""
    return await repository.get(session, customer_id) is not None


async def find_by_email(session: AsyncSession, keyring: KeyRing, email: str) -> CustomerRecord | None:
    """The customer registered with this email (case and surrounding spaces ignored), if any."""
    customer = await repository.find_by_email_hashes(session, pii.email_hashes(keyring, email))
    return None if customer is None else _record(keyring, customer)


async def kyc_status(session: AsyncSession, customer_id: uuid.UUID) -> KycStatus:
    """The customer's KYC status, without opening any personal data."""
    customer = await repository.get(session, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    return customer.kyc_status


async def set_kyc_status(
    uow: UnitOfWork, customer_id: uuid.UUID, status: KycStatus, *, now: datetime | None = None
) -> CustomerRecord:
    """Record a KYC decision; setting the status it already has changes nothing."""
    session, keyring = uow.session, uow.keyring
    customer = await repository.get(session, customer_id, for_update=True)
    if customer is None:
        raise CustomerNotFound(customer_id)
    if customer.kyc_status is status:
        return _record(keyring, customer)
    before = _snapshot(customer)
    customer.kyc_status = status
    customer.updated_at = now or datetime.now(UTC)
    await session.flush()
    after = _snapshot(customer)
    uow.publish(topic=TOPIC, event_type="customer.kyc_status_changed", key=str(customer_id), payload=after)
    uow.audit(
        action="customer.kyc_status_changed",
        entity_type="customer",
        entity_id=str(customer_id),
        before=before,
        after=after,
    )
    return _record(keyring, customer)


async def backfill_name_hashes(uow: UnitOfWork, *, batch_size: int = 500) -> int:
    """Give up to `batch_size` customers onboarded before staff search by name their name's keyed hash; how many.

    Run until it answers 0 (`obank customers backfill-name-hashes`); rows another transaction holds wait for the
    next batch.
    """
    customers = await repository.lock_without_name_hash(uow.session, batch_size)
    for customer in customers:
        customer.full_name_hash = pii.name_hash(uow.keyring, full_name_of(uow.keyring, customer))
    await uow.session.flush()
    if customers:
        uow.audit(
            action="customer.name_hashes_backfilled",
            entity_type="customer",
            entity_id="full_name_hash",
            after={"customer_ids": [str(customer.id) for customer in customers]},
        )
    return len(customers)

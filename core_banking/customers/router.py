"""Admin API for customers (roles: see core_banking.dependencies)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from core_banking.customers import service
from core_banking.customers.schemas import CustomerCreate, CustomerRead, KycStatusChange
from core_banking.dependencies import AnyStaff, SupportOrAdmin, UnitOfWorkDep
from core_banking.errors import PROBLEM_RESPONSES
from obank.database import SessionDep
from obank.runtime import KeyRingDep

router = APIRouter(prefix="/admin/v1/customers", tags=["admin: customers"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201)
async def create_customer(body: CustomerCreate, staff: SupportOrAdmin, uow: UnitOfWorkDep) -> CustomerRead:
    """Onboard a customer; KYC starts PENDING."""
    record = await service.create_customer(uow, body)
    return CustomerRead.from_record(record)


@router.get("/{customer_id}")
async def get_customer(
    customer_id: uuid.UUID, staff: AnyStaff, session: SessionDep, keyring: KeyRingDep
) -> CustomerRead:
    """A customer's details (national id masked)."""
    return CustomerRead.from_record(await service.get_customer(session, keyring, customer_id))


@router.put("/{customer_id}/kyc-status")
async def set_kyc_status(
    customer_id: uuid.UUID, body: KycStatusChange, staff: SupportOrAdmin, uow: UnitOfWorkDep
) -> CustomerRead:
    """Record the KYC decision for a customer."""
    record = await service.set_kyc_status(uow, customer_id, body.status)
    return CustomerRead.from_record(record)

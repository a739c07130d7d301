"""Typed request dependencies of the audit app: who may investigate, and the unit of work acting as them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from obank.actor import Actor
from obank.principal import Principal, PrincipalDep
from obank.roles import StaffRole
from obank.staff import staff_with_role
from obank.unit_of_work import UnitOfWork, request_unit_of_work


async def _caller_actor(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


# The timeline and decryptions with a reason: staff who investigate (the principal's subject is their staff id).
Investigator = Annotated[
    Principal,
    Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.AUDITOR, StaffRole.ADMIN)),
]
# Who decrypted what and why: auditors (and admins) only.
Auditor = Annotated[Principal, Depends(staff_with_role(StaffRole.AUDITOR, StaffRole.ADMIN))]
# The request's transaction, acting as the verified caller; committed before the response is sent.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_caller_actor), scope="function")]

"""Who may call the staff identity and grant API: the gateway's policy rows, checked again here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from obank.actor import Actor
from obank.principal import Principal
from obank.roles import StaffRole
from obank.staff import staff_with_role
from obank.unit_of_work import UnitOfWork, request_unit_of_work

# Reads: whoever investigates (auditors included). Changes: those who act on a case (auditors only look).
Investigator = Annotated[
    Principal,
    Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.AUDITOR, StaffRole.ADMIN)),
]
Caseworker = Annotated[Principal, Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.ADMIN))]


async def _caseworker_actor(caseworker: Caseworker) -> Actor:
    return Actor.from_principal(caseworker)


# The request's transaction, acting as the staff member; committed before the response is sent.
CaseworkerUnitOfWork = Annotated[UnitOfWork, Depends(request_unit_of_work(_caseworker_actor), scope="function")]

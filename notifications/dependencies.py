"""Typed request dependencies of the notifications app: staff by role, customers, the unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from obank.actor import Actor
from obank.principal import Principal, PrincipalDep
from obank.problems import ProblemError
from obank.roles import StaffRole
from obank.staff import staff_with_role
from obank.unit_of_work import UnitOfWork, request_unit_of_work


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


@dataclass(frozen=True, slots=True)
class CustomerCaller:
    """A customer acting on their own behalf: the principal's subject is their customer id."""

    customer_id: uuid.UUID
    principal: Principal

    @property
    def actor(self) -> Actor:
        return Actor.from_principal(self.principal)


async def _customer(principal: PrincipalDep) -> CustomerCaller:
    if principal.kind != "customer":
        raise Forbidden("this operation is for customers only")
    try:
        return CustomerCaller(uuid.UUID(principal.subject), principal)
    except ValueError as exc:
        raise Forbidden("the principal names no customer") from exc


async def _caller_actor(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


# Read webhooks and their deliveries: any staff role; register, change, replay: admin.
AnyStaff = Annotated[
    Principal,
    Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.AUDITOR, StaffRole.ADMIN)),
]
Admin = Annotated[Principal, Depends(staff_with_role(StaffRole.ADMIN))]
# A customer's own notification preferences and messages (the gateway checks the token's scope).
Customer = Annotated[CustomerCaller, Depends(_customer)]
# The request's transaction, acting as the verified caller; committed before the response is sent.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_caller_actor), scope="function")]

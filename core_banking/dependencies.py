"""Typed request dependencies of the core_banking app: staff by role, customers by scope, the unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends

from core_banking.errors import Forbidden, InsufficientScope
from obank.actor import Actor
from obank.principal import Principal, PrincipalDep
from obank.roles import StaffRole
from obank.staff import staff_with_role
from obank.unit_of_work import UnitOfWork, request_unit_of_work

# Who may do what (admin API):
#   read, search customers and accounts ................ any staff role
#   create a customer, record a KYC decision ........... support, admin
#   close (a second staff member approves: four eyes) .. support, admin
#   freeze, unfreeze ................................... support, fraud_analyst, admin
#   open, change limits, deposit, withdraw ............. admin (cash from OBANK_FOUR_EYES_ADJUSTMENT_MINOR: four eyes)
AnyStaff = Annotated[
    Principal,
    Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.AUDITOR, StaffRole.ADMIN)),
]
SupportOrAdmin = Annotated[Principal, Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.ADMIN))]
Casework = Annotated[Principal, Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.ADMIN))]
Admin = Annotated[Principal, Depends(staff_with_role(StaffRole.ADMIN))]


@dataclass(frozen=True, slots=True)
class CustomerCaller:
    """A customer acting on their own behalf: the principal's subject is their customer id."""

    customer_id: uuid.UUID
    principal: Principal

    @property
    def actor(self) -> Actor:
        return Actor.from_principal(self.principal)


class CustomerScope(StrEnum):
    """OAuth scopes of the first-party API (the gateway checks them too; UK Open Banking names)."""

    ACCOUNTS = "accounts"
    PAYMENTS = "payments"


def customer_with_scope(scope: CustomerScope) -> Callable[[Principal], Awaitable[CustomerCaller]]:
    """A dependency admitting only a customer principal; one carrying scopes must carry `scope`.

    A principal with no scopes at all is a first-party session (no OAuth token), which may use every
    first-party route of its own customer.
    """

    async def customer_principal(principal: PrincipalDep) -> CustomerCaller:
        if principal.kind != "customer":
            raise Forbidden("this operation is for customers only")
        if principal.scopes and scope.value not in principal.scopes:
            raise InsufficientScope(f"requires the scope {scope.value!r}")
        try:
            customer_id = uuid.UUID(principal.subject)
        except ValueError as exc:
            raise Forbidden("the principal names no customer") from exc
        return CustomerCaller(customer_id, principal)

    return customer_principal


# Who may do what (first-party API): a customer reads their own accounts with `accounts` and moves
# money out of them with `payments`; another customer's account does not exist for them (404).
AccountsReader = Annotated[CustomerCaller, Depends(customer_with_scope(CustomerScope.ACCOUNTS))]
PaymentsInitiator = Annotated[CustomerCaller, Depends(customer_with_scope(CustomerScope.PAYMENTS))]


async def _caller_actor(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


# The request's transaction, acting as the verified caller; scope="function" commits it before the
# response is sent, so a failed commit is answered as an error.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_caller_actor), scope="function")]

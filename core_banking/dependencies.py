"""Typed request dependencies of the core_banking app: the key ring and staff principals by role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from core_banking.errors import Forbidden, InsufficientRole
from obank.crypto import KeyRing
from obank.principal import Principal, PrincipalDep


class StaffRole(StrEnum):
    """Roles a staff principal may carry (assigned by the identity provider, asserted by the gateway)."""

    SUPPORT = "support"
    FRAUD_ANALYST = "fraud_analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"


def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.platform.keyring
    return keyring


KeyRingDep = Annotated[KeyRing, Depends(_keyring)]


def staff_with_role(*roles: StaffRole) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only a staff principal holding one of `roles`."""
    allowed = frozenset(roles)

    async def staff_principal(principal: PrincipalDep) -> Principal:
        if principal.kind != "staff":
            raise Forbidden("this operation is for bank staff only")
        if not allowed & principal.roles:
            raise InsufficientRole("requires one of the roles: " + ", ".join(sorted(allowed)))
        return principal

    return staff_principal


# Who may do what (admin API):
#   read customers and accounts ........................ any staff role
#   create a customer, record a KYC decision ........... support, admin
#   freeze, unfreeze ................................... fraud_analyst, admin
#   open, close, change limits, deposit, withdraw ...... admin
AnyStaff = Annotated[
    Principal,
    Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.AUDITOR, StaffRole.ADMIN)),
]
SupportOrAdmin = Annotated[Principal, Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.ADMIN))]
FraudAnalystOrAdmin = Annotated[Principal, Depends(staff_with_role(StaffRole.FRAUD_ANALYST, StaffRole.ADMIN))]
Admin = Annotated[Principal, Depends(staff_with_role(StaffRole.ADMIN))]

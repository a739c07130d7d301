"""Bank staff at the edge of every admin API: the one check of a principal's kind and roles, after the gateway's.

Each app's problem+json handler (`obank.problems`) writes the refusals, with the same codes everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from obank.principal import Principal, PrincipalDep
from obank.problems import ProblemError
from obank.roles import StaffRole


class NotStaff(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientRole(ProblemError):
    status = 403
    code = "insufficient_role"
    title = "The staff member lacks the role this operation needs"


def staff_with_role(*roles: StaffRole) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only a staff principal holding one of `roles`."""
    allowed = frozenset(roles)

    async def staff_principal(principal: PrincipalDep) -> Principal:
        if principal.kind != "staff":
            raise NotStaff("this operation is for bank staff only")
        if not allowed & principal.roles:
            raise InsufficientRole("requires one of the roles: " + ", ".join(sorted(allowed)))
        return principal

    return staff_principal

"""Who may call the secure messages API: the customer whose thread it is, or support staff (and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from notifications.dependencies import Customer
from obank.principal import Principal
from obank.roles import StaffRole
from obank.staff import staff_with_role

__all__ = ["Customer", "SupportStaff"]

# As the gateway's rows for /admin/v1/conversations (`gateway.policy.SUPPORT`).
SupportStaff = Annotated[Principal, Depends(staff_with_role(StaffRole.SUPPORT, StaffRole.ADMIN))]

"""Staff roles: assigned by the authorization server, carried in staff tokens, checked by the gateway and upstreams."""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    """Roles a staff member may hold; their values are what tokens and principal assertions carry in `roles`."""

    SUPPORT = "support"
    FRAUD_ANALYST = "fraud_analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"

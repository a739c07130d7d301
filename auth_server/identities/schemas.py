"""Shapes of login identities: kinds, statuses, what the service returns and what the CLI submits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from obank.roles import StaffRole

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@+-]{2,63}$")


class IdentityKind(StrEnum):
    """Customers and staff never share a login: every lookup is by kind and username."""

    CUSTOMER = "customer"
    STAFF = "staff"


class IdentityStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up trimmed and lower-cased."""
    return username.strip().lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewIdentity:
    """A login to create: a customer's (linked to core banking's customer id) or a staff member's (with roles)."""

    kind: IdentityKind
    username: str
    password: str
    customer_id: uuid.UUID | None = None
    roles: frozenset[StaffRole] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityRecord:
    """A login identity as other modules see it: never its password hash, its username only sealed."""

    id: uuid.UUID
    kind: IdentityKind
    username_sealed: bytes  # opened by `service.username_of` where it is shown
    customer_id: uuid.UUID | None
    roles: frozenset[StaffRole]
    status: IdentityStatus
    failed_login_attempts: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None = None  # the last completed sign-in

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

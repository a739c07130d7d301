"""Shapes of the staff identity and grant API: what the service hands back, what staff send, what they read.

Nothing personal: a login is shown by its ids, states and counts, never its username or a secret.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from auth_server.identities.schemas import IdentityKind, IdentityRecord, IdentityStatus
from auth_server.identities.service import LOCKED_UNTIL_UNLOCKED
from auth_server.mfa.schemas import SecondFactors
from auth_server.oauth.grants.schemas import ConsentState
from auth_server.oauth.grants.service import GrantRecord, grant_state
from auth_server.sessions.schemas import SessionView
from obank.roles import StaffRole

REASON_MIN = 3
REASON_MAX = 500
USERNAME_MAX = 320

IdentityState = Literal["active", "locked", "disabled"]
LockReason = Literal["failed_attempts", "risk"]
StaffReason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=REASON_MIN, max_length=REASON_MAX)]


# Records (what the service returns) -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentityDetail:
    """A login and the second factors it holds."""

    identity: IdentityRecord
    factors: SecondFactors


@dataclass(frozen=True, slots=True)
class GrantDetail:
    """A customer's grant with the client it was given to."""

    grant: GrantRecord
    client_name: str
    first_party: bool


@dataclass(frozen=True, slots=True)
class SessionsRevoked:
    identity_id: uuid.UUID
    sessions_ended: int


@dataclass(frozen=True, slots=True)
class TotpReset:
    identity_id: uuid.UUID
    removed: SecondFactors
    sessions_ended: int


# Requests ---------------------------------------------------------------------------------------------------------


class ReasonBody(BaseModel):
    """Why the staff member acts: sealed in the audit record of the change, never published."""

    model_config = ConfigDict(extra="forbid")

    reason: StaffReason = Field(description=f"{REASON_MIN} to {REASON_MAX} characters")


# Responses --------------------------------------------------------------------------------------------------------


class IdentityView(BaseModel):
    """A login: whose it is, whether it may sign in, and which second factors it holds."""

    id: uuid.UUID
    kind: IdentityKind
    customer_id: uuid.UUID | None = Field(description="Core banking's id of a customer's login; null for staff")
    roles: list[StaffRole] = Field(description="A staff login's roles; empty for a customer's")
    state: IdentityState = Field(description="`disabled` outranks `locked`")
    lock_reason: LockReason | None = Field(
        description="`failed_attempts` (lifts by itself at `locked_until`) or `risk` (the fraud checks blocked a "
        "sign-in; lasts until staff unlock it); null when not locked"
    )
    locked_until: datetime | None = Field(description="When a lock after failed attempts lifts; null otherwise")
    failed_login_attempts: int
    totp_enrolled: bool
    recovery_codes_left: int
    created_at: datetime
    last_sign_in_at: datetime | None = Field(description="The last completed sign-in, if any")

    @classmethod
    def of(cls, detail: IdentityDetail, now: datetime) -> Self:
        identity = detail.identity
        locked = identity.is_locked(now)
        risk = locked and identity.locked_until is not None and identity.locked_until >= LOCKED_UNTIL_UNLOCKED
        state: IdentityState = "locked" if locked else "active"
        if identity.status is IdentityStatus.DISABLED:
            state = "disabled"
        return cls(
            id=identity.id,
            kind=identity.kind,
            customer_id=identity.customer_id,
            roles=sorted(identity.roles),
            state=state,
            lock_reason=("risk" if risk else "failed_attempts") if locked else None,
            locked_until=identity.locked_until if locked and not risk else None,
            failed_login_attempts=identity.failed_login_attempts,
            totp_enrolled=detail.factors.totp_enrolled,
            recovery_codes_left=detail.factors.recovery_codes_left,
            created_at=identity.created_at,
            last_sign_in_at=identity.last_login_at,
        )


class IdentityList(BaseModel):
    """The logins found: at most one per kind (a customer's and a staff member's may share a username)."""

    identities: list[IdentityView]


class IdentitySessionList(BaseModel):
    """A login's live sign-in sessions, newest first."""

    identity_id: uuid.UUID
    sessions: list[SessionView]


class SessionsRevokedView(BaseModel):
    identity_id: uuid.UUID
    sessions_ended: int

    @classmethod
    def of(cls, revoked: SessionsRevoked) -> Self:
        return cls(identity_id=revoked.identity_id, sessions_ended=revoked.sessions_ended)


class TotpResetView(BaseModel):
    """What a TOTP reset removed; the login's next sign-in needing a second factor enrols a new TOTP."""

    identity_id: uuid.UUID
    totp_removed: bool
    recovery_codes_removed: int
    sessions_ended: int

    @classmethod
    def of(cls, reset: TotpReset) -> Self:
        return cls(
            identity_id=reset.identity_id,
            totp_removed=reset.removed.totp_enrolled,
            recovery_codes_removed=reset.removed.recovery_codes_left,
            sessions_ended=reset.sessions_ended,
        )


class GrantView(BaseModel):
    """One grant of a customer: which app, which scopes, which consent and accounts, and whether it stands."""

    grant_id: uuid.UUID
    client_id: str
    client_name: str
    first_party: bool = Field(description="Given to one of the bank's own apps rather than a TPP")
    scopes: list[str]
    consent_id: str | None
    account_ids: list[uuid.UUID]
    status: ConsentState
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, detail: GrantDetail, now: datetime) -> Self:
        grant = detail.grant
        return cls(
            grant_id=grant.id,
            client_id=grant.client_id,
            client_name=detail.client_name,
            first_party=detail.first_party,
            scopes=list(grant.scopes),
            consent_id=grant.consent_id,
            account_ids=list(grant.account_ids),
            status=grant_state(grant, now),
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
        )


class GrantList(BaseModel):
    """A customer's grants, newest first, whatever their state."""

    customer_id: uuid.UUID
    grants: list[GrantView]

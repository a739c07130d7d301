"""auth_server's identity interface for the authorization-server flow: who is this browser, and how strongly.

The flow (PAR, `/authorize`) asks `browser_authentication` what the browser's session proves. When that
is not enough, it sends the browser to `authentication_url(...)`, which signs in (password, then TOTP,
enrolling first if needed) and comes back to `resume_at`; the flow then asks again and checks
`satisfies(...)`, using the time it sent the browser away as `authenticated_after`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request

from auth_server.identities import service as identities_service
from auth_server.identities.schemas import IdentityKind, IdentityStatus
from auth_server.pages.dependencies import SESSION_COOKIE
from auth_server.pages.rendering import login_path, safe_return_to
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import ACR_CA, ACR_SCA
from obank.roles import StaffRole
from obank.unit_of_work import UnitOfWork

__all__ = [
    "ACR_CA",
    "ACR_SCA",
    "SESSION_COOKIE",
    "BrowserAuthentication",
    "IdentityKind",
    "StaffRole",
    "authentication_url",
    "browser_authentication",
    "satisfies",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserAuthentication:
    """What a signed-in browser's session holds (OpenID Connect Core s2 `sub`, `amr`, `acr`, `auth_time`)."""

    session_id: uuid.UUID
    subject: uuid.UUID  # the identity id: stable, never reassigned
    kind: IdentityKind
    username: str
    customer_id: uuid.UUID | None
    roles: frozenset[StaffRole]
    amr: tuple[str, ...]
    acr: str
    auth_time: datetime

    @property
    def is_strong(self) -> bool:
        """Password and one-time code (strong customer authentication)."""
        return self.acr == ACR_SCA


async def browser_authentication(
    uow: UnitOfWork,
    request: Request,
    *,
    kind: IdentityKind = IdentityKind.CUSTOMER,
    now: datetime | None = None,
) -> BrowserAuthentication | None:
    """The request's signed-in session for a login of `kind`, or None (none, expired, pending, other kind)."""
    record = await sessions_service.resolve_session(uow, request.cookies.get(SESSION_COOKIE), now=now)
    if record is None or not record.is_authenticated or record.auth_time is None or record.acr is None:
        return None
    identity = await identities_service.get_identity(uow.session, record.identity_id)
    if identity.kind is not kind or identity.status is not IdentityStatus.ACTIVE:
        return None
    return BrowserAuthentication(
        session_id=record.id,
        subject=identity.id,
        kind=identity.kind,
        username=identities_service.username_of(uow.keyring, identity),
        customer_id=identity.customer_id,
        roles=identity.roles,
        amr=record.amr,
        acr=record.acr,
        auth_time=record.auth_time,
    )


def authentication_url(
    resume_at: str, *, kind: IdentityKind = IdentityKind.CUSTOMER, require_sca: bool = True, fresh: bool = True
) -> str:
    """Where to send the browser to sign in and come back to `resume_at` (a path on this origin).

    `fresh` asks for the password (and TOTP when `require_sca`) again even if the session already
    holds them; `require_sca` makes a customer without TOTP enrol before coming back.
    """
    safe = safe_return_to(resume_at)
    if safe is None:
        raise ValueError("resume_at must be a path on this origin")
    staff = kind is IdentityKind.STAFF
    if staff:
        return login_path(safe, staff=True, fresh=fresh)
    return login_path(safe, sca=require_sca, fresh=fresh)


def satisfies(
    authentication: BrowserAuthentication,
    *,
    require_sca: bool,
    authenticated_after: datetime | None = None,
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether the session is strong enough and recent enough (OIDC `max_age`, `prompt=login` semantics)."""
    if require_sca and not authentication.is_strong:
        return False
    if authenticated_after is not None and authentication.auth_time < authenticated_after:
        return False
    if max_age is not None:
        current = now or datetime.now(authentication.auth_time.tzinfo)
        if current - authentication.auth_time > max_age:
            return False
    return True

"""What staff may see and do about a login and a customer's grants, over the identities, sessions, mfa and grants
domains. Every change is the unit of work's staff member's: audited with their reason sealed in the record, and
published as its domain publishes that change (the reason never in the event)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.auditing import SecurityEvent, report_security_events
from auth_server.identities import repository as identities_repository
from auth_server.identities import service as identities_service
from auth_server.identities.errors import IdentityNotFound
from auth_server.identities.models import Identity
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.mfa import service as mfa_service
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.errors import InvalidGrant
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.tokens.service import TokenService
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import SessionRecord
from auth_server.staff_admin.errors import GrantNotFound, IdentityNotLocked, NoSecondFactor
from auth_server.staff_admin.schemas import GrantDetail, IdentityDetail, SessionsRevoked, TotpReset
from obank.crypto import KeyRing
from obank.revocation import RevocationList
from obank.unit_of_work import UnitOfWork

SESSIONS_REVOKED = "identity.sessions_revoked"
TOTP_RESET = "mfa.reset"
# Why the sessions ended, as `browser_sessions.end_reason` records it.
REVOKED_BY_STAFF = "revoked_by_staff"
ENDED_BY_TOTP_RESET = "totp_reset"


async def _detail(session: AsyncSession, identity: IdentityRecord) -> IdentityDetail:
    return IdentityDetail(identity, await mfa_service.second_factors(session, identity.id))


async def find_identities(
    session: AsyncSession, keyring: KeyRing, *, customer_id: uuid.UUID | None, username: str | None
) -> list[IdentityDetail]:
    """A customer's login, or the logins (one per kind at most) holding a username, found by its keyed hash."""
    found: list[IdentityRecord] = []
    if customer_id is not None:
        login = await identities_service.find_by_customer(session, customer_id)
        found = [] if login is None else [login]
    elif username is not None:
        for kind in IdentityKind:
            match = await identities_service.find_by_username(session, keyring, kind, username)
            found += [] if match is None else [match]
    return [await _detail(session, identity) for identity in found]


async def get_identity(session: AsyncSession, identity_id: uuid.UUID) -> IdentityDetail:
    return await _detail(session, await identities_service.get_identity(session, identity_id))


async def list_identity_sessions(session: AsyncSession, identity_id: uuid.UUID) -> list[SessionRecord]:
    """The login's live sign-in sessions, newest first."""
    await identities_service.get_identity(session, identity_id)
    return await sessions_service.list_live_sessions(session, identity_id)


async def _lock_identity(uow: UnitOfWork, identity_id: uuid.UUID) -> Identity:
    """The login's row, locked for this change (sign-in locks it too, so neither overtakes the other)."""
    identity = await identities_repository.get(uow.session, identity_id, for_update=True)
    if identity is None:
        raise IdentityNotFound()
    return identity


def _facts(identity: Identity) -> dict[str, Any]:
    """What every event about a login says of it: its ids and kind, nothing personal."""
    return {
        "identity_id": str(identity.id),
        "kind": identity.kind.value,
        "customer_id": None if identity.customer_id is None else str(identity.customer_id),
    }


def _report(uow: UnitOfWork, action: str, identity: Identity, details: dict[str, Any], staff_reason: str) -> None:
    event = SecurityEvent(
        action,
        uow.actor,
        "identity",
        str(identity.id),
        {**_facts(identity), **details},
        sealed={"staff_reason": staff_reason},
    )
    report_security_events(uow, event)


async def revoke_sessions(
    uow: UnitOfWork,
    revocations: RevocationList,
    identity_id: uuid.UUID,
    staff_reason: str,
    *,
    now: datetime | None = None,
) -> SessionsRevoked:
    """End every session of the login, as a password reset does; reported as `identity.sessions_revoked`.

    What the bank's own apps obtained through them ends too (grants and staff console tokens, `session_ended`);
    the customer's grants to TPPs live on (the grants API revokes those).
    """
    now = now or datetime.now(UTC)
    identity = await _lock_identity(uow, identity_id)
    ended = await sessions_service.end_identity_sessions(
        uow, identity.id, revocations=revocations, reason=REVOKED_BY_STAFF, now=now
    )
    _report(uow, SESSIONS_REVOKED, identity, {"sessions_ended": ended}, staff_reason)
    return SessionsRevoked(identity.id, ended)


async def unlock_identity(
    uow: UnitOfWork, identity_id: uuid.UUID, staff_reason: str, *, now: datetime | None = None
) -> IdentityDetail:
    """Lift a lockout (after failed attempts, or a sign-in the fraud checks blocked); one not locked is a 409."""
    now = now or datetime.now(UTC)
    identity = await _lock_identity(uow, identity_id)
    if identity.locked_until is None or identity.locked_until <= now:
        raise IdentityNotLocked()
    unlocked = await identities_service.unlock(uow, identity.id, now=now, staff_reason=staff_reason)
    return await _detail(uow.session, unlocked)


async def check_totp_resettable(uow: UnitOfWork, identity_id: uuid.UUID) -> None:
    """Refuse a TOTP reset now (before anyone is asked to approve it) when there is nothing to reset."""
    await _lock_identity(uow, identity_id)
    if not (await mfa_service.second_factors(uow.session, identity_id)).any:
        raise NoSecondFactor()


async def reset_totp(
    uow: UnitOfWork,
    revocations: RevocationList,
    identity_id: uuid.UUID,
    staff_reason: str,
    *,
    now: datetime | None = None,
) -> TotpReset:
    """Forget the login's TOTP secret and recovery codes and end its sessions (reported as `mfa.reset`): its next
    sign-in needing a second factor enrols a new TOTP. Approved by a second staff member before it runs."""
    now = now or datetime.now(UTC)
    identity = await _lock_identity(uow, identity_id)
    removed = await mfa_service.remove_second_factors(uow, identity.id)
    if not removed.any:
        raise NoSecondFactor()
    ended = await sessions_service.end_identity_sessions(
        uow, identity.id, revocations=revocations, reason=ENDED_BY_TOTP_RESET, now=now
    )
    details = {
        "totp_removed": removed.totp_enrolled,
        "recovery_codes_removed": removed.recovery_codes_left,
        "sessions_ended": ended,
    }
    _report(uow, TOTP_RESET, identity, details, staff_reason)
    return TotpReset(identity.id, removed, ended)


async def _grant_detail(session: AsyncSession, grant: grants_service.GrantRecord) -> GrantDetail:
    client = await clients_service.find_client(session, grant.client_id)
    if client is None:
        return GrantDetail(grant, grant.client_id, first_party=False)
    return GrantDetail(grant, client.client_name, client.first_party)


async def list_customer_grants(session: AsyncSession, customer_id: uuid.UUID) -> list[GrantDetail]:
    """Every grant of the customer (their own apps' and TPPs'), newest first, whatever its state."""
    grants = await grants_service.list_customer_grants(session, customer_id)
    return [await _grant_detail(session, grant) for grant in grants]


async def revoke_grant(
    uow: UnitOfWork, tokens: TokenService, grant_id: uuid.UUID, staff_reason: str, *, now: datetime | None = None
) -> GrantDetail:
    """Revoke a customer's grant as their own withdrawal does (tokens, deny-list, `grant.revoked`, so core banking
    revokes its consent), as the staff member; one revoked already is answered as it stands, nothing recorded."""
    try:
        grant = await grants_service.revoke_grant_as_staff(
            uow, tokens, grant_id=grant_id, staff_reason=staff_reason, now=now
        )
    except InvalidGrant as exc:
        raise GrantNotFound(f"no grant {grant_id}") from exc
    return await _grant_detail(uow.session, grant)

"""Login identities: creation, password checks with lockout, password change and reset, unlock, disabling."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.auditing import SecurityEvent, report_security_events
from auth_server.identities import repository
from auth_server.identities.errors import (
    CurrentPasswordIncorrect,
    CustomerAlreadyHasLogin,
    IdentityNotFound,
    InvalidIdentity,
    UsernameTaken,
)
from auth_server.identities.models import Identity
from auth_server.identities.passwords import (
    HASHER,
    check_strength,
    hash_password,
    verify_against_nobody,
    verify_password,
)
from auth_server.identities.schemas import (
    USERNAME_PATTERN,
    IdentityKind,
    IdentityRecord,
    IdentityStatus,
    NewIdentity,
    normalise_username,
)
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import IssuedSession
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing, lookup_hashes, seal, unseal
from obank.revocation import RevocationList
from obank.roles import StaffRole
from obank.unit_of_work import UnitOfWork

# After this many consecutive failures (password or second factor) sign-in pauses, for a delay that
# doubles with each further failure, up to the maximum.
LOCKOUT_THRESHOLD = 5
LOCKOUT_BASE_DELAY = timedelta(minutes=1)
LOCKOUT_MAX_DELAY = timedelta(hours=1)
# A lock no delay lifts (a sign-in the fraud checks blocked): it lasts until staff unlock the login.
LOCKED_UNTIL_UNLOCKED = datetime(9999, 1, 1, tzinfo=UTC)

# Migration 20261205_0010 converted clear usernames with these same purposes.
USERNAME_HASH_PURPOSE = "auth-username"
USERNAME_SEAL_PURPOSE = "username"


def lockout_delay(consecutive_failures: int) -> timedelta | None:
    """How long sign-in pauses after this many consecutive failures (None below the threshold)."""
    if consecutive_failures < LOCKOUT_THRESHOLD:
        return None
    doublings = min(consecutive_failures - LOCKOUT_THRESHOLD, 16)
    delay: timedelta = LOCKOUT_BASE_DELAY * (1 << doublings)
    return min(delay, LOCKOUT_MAX_DELAY)


class PasswordVerdict(StrEnum):
    """Why a password check ended as it did; the person signing in is never told which refusal it was."""

    ACCEPTED = "accepted"
    UNKNOWN_USER = "unknown_user"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a label, not a secret)
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    verdict: PasswordVerdict
    identity: IdentityRecord | None
    newly_locked_until: datetime | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict is PasswordVerdict.ACCEPTED


def _username_hashes(keyring: KeyRing, username: str) -> list[bytes]:
    """The username's keyed hash under every key held, so logins survive key rotation."""
    return lookup_hashes(keyring, USERNAME_HASH_PURPOSE, normalise_username(username).encode())


def _unseal_username(keyring: KeyRing, identity_id: uuid.UUID, sealed: bytes) -> str:
    return unseal(keyring, identity_id, USERNAME_SEAL_PURPOSE, sealed).decode()


def username_of(keyring: KeyRing, identity: IdentityRecord) -> str:
    """The login's username, opened only where it is shown (it is often the person's email address)."""
    return _unseal_username(keyring, identity.id, identity.username_sealed)


def to_record(identity: Identity) -> IdentityRecord:
    return IdentityRecord(
        id=identity.id,
        kind=identity.kind,
        username_sealed=identity.username_sealed,
        customer_id=identity.customer_id,
        roles=frozenset(StaffRole(role) for role in identity.roles),
        status=identity.status,
        failed_login_attempts=identity.failed_login_attempts,
        locked_until=identity.locked_until,
        created_at=identity.created_at,
        last_login_at=identity.last_login_at,
    )


def _snapshot(identity: Identity) -> dict[str, Any]:
    return {
        "identity_id": str(identity.id),
        "kind": identity.kind.value,
        "customer_id": None if identity.customer_id is None else str(identity.customer_id),
        "roles": sorted(identity.roles),
        "status": identity.status.value,
    }


def _register_failure(identity: Identity, now: datetime) -> datetime | None:
    """Count one failed factor; returns the new `locked_until` when this failure locks the identity."""
    identity.failed_login_attempts += 1
    identity.updated_at = now
    delay = lockout_delay(identity.failed_login_attempts)
    if delay is None:
        return None
    identity.locked_until = now + delay
    return identity.locked_until


def _validate(new: NewIdentity) -> str:
    username = normalise_username(new.username)
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidIdentity(
            "A username has 3 to 64 characters: letters, digits and . _ @ + -, starting with a letter or digit."
        )
    if new.kind is IdentityKind.CUSTOMER and (new.customer_id is None or new.roles):
        raise InvalidIdentity("A customer login needs the customer id and has no staff roles.")
    if new.kind is IdentityKind.STAFF and (new.customer_id is not None or not new.roles):
        raise InvalidIdentity("A staff login needs at least one role and no customer id.")
    check_strength(new.password, username=username)
    return username


async def create_identity(
    uow: UnitOfWork, new: NewIdentity, *, hasher: PasswordHasher = HASHER, now: datetime | None = None
) -> IdentityRecord:
    """Create a login; the username is unique per kind, and a customer has at most one login."""
    session, keyring = uow.session, uow.keyring
    username = _validate(new)
    if await repository.find(session, new.kind, _username_hashes(keyring, username)) is not None:
        raise UsernameTaken()
    if new.customer_id is not None and await repository.find_by_customer(session, new.customer_id) is not None:
        raise CustomerAlreadyHasLogin()
    now = now or datetime.now(UTC)
    identity_id = uuid.uuid4()
    identity = Identity(
        id=identity_id,
        kind=new.kind,
        username_hash=keyring.keyed_hash(USERNAME_HASH_PURPOSE, username.encode()),
        username_sealed=seal(keyring, identity_id, USERNAME_SEAL_PURPOSE, username.encode()),
        customer_id=new.customer_id,
        roles=sorted(role.value for role in new.roles),
        password_hash=await hash_password(new.password, hasher),
        password_changed_at=now,
        status=IdentityStatus.ACTIVE,
        failed_login_attempts=0,
        locked_until=None,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, identity)
    report_security_events(
        uow, SecurityEvent("identity.created", uow.actor, "identity", str(identity.id), _snapshot(identity))
    )
    return to_record(identity)


async def get_identity(session: AsyncSession, identity_id: uuid.UUID) -> IdentityRecord:
    identity = await repository.get(session, identity_id)
    if identity is None:
        raise IdentityNotFound()
    return to_record(identity)


async def find_identity(uow: UnitOfWork, kind: IdentityKind, username: str) -> IdentityRecord | None:
    """The identity of this kind and username (case-insensitive), if any."""
    return await find_by_username(uow.session, uow.keyring, kind, username)


async def find_by_username(
    session: AsyncSession, keyring: KeyRing, kind: IdentityKind, username: str
) -> IdentityRecord | None:
    """The identity of this kind and username (case-insensitive), found by keyed hash as sign-in finds it."""
    identity = await repository.find(session, kind, _username_hashes(keyring, username))
    return None if identity is None else to_record(identity)


async def find_by_customer(session: AsyncSession, customer_id: uuid.UUID) -> IdentityRecord | None:
    identity = await repository.find_by_customer(session, customer_id)
    return None if identity is None else to_record(identity)


async def check_password(
    uow: UnitOfWork,
    *,
    kind: IdentityKind,
    username: str,
    password: str,
    now: datetime,
    hasher: PasswordHasher = HASHER,
) -> PasswordCheck:
    """Verify a sign-in password, counting a wrong one towards lockout.

    Every path computes exactly one argon2 verification, so an unknown username, a wrong password
    and a locked or disabled login take the same time. Failures while locked are not counted: an
    attacker could otherwise keep a customer locked out indefinitely.
    """
    session = uow.session
    identity = await repository.find(session, kind, _username_hashes(uow.keyring, username), for_update=True)
    if identity is None:
        await verify_against_nobody(password, hasher)
        return PasswordCheck(PasswordVerdict.UNKNOWN_USER, None)
    matches = await verify_password(identity.password_hash, password, hasher)
    if identity.status is IdentityStatus.DISABLED:
        return PasswordCheck(PasswordVerdict.DISABLED, to_record(identity))
    if identity.locked_until is not None and identity.locked_until > now:
        return PasswordCheck(PasswordVerdict.LOCKED, to_record(identity))
    if not matches:
        locked_until = _register_failure(identity, now)
        await session.flush()
        return PasswordCheck(PasswordVerdict.WRONG_PASSWORD, to_record(identity), locked_until)
    if hasher.check_needs_rehash(identity.password_hash):
        identity.password_hash = await hash_password(password, hasher)
        identity.updated_at = now
        await session.flush()
    return PasswordCheck(PasswordVerdict.ACCEPTED, to_record(identity))


async def record_failed_factor(uow: UnitOfWork, identity_id: uuid.UUID, *, now: datetime) -> datetime | None:
    """Count a wrong second factor towards lockout; returns the new `locked_until` when it locks."""
    identity = await repository.get(uow.session, identity_id, for_update=True)
    if identity is None:
        raise IdentityNotFound()
    locked_until = _register_failure(identity, now)
    await uow.session.flush()
    return locked_until


async def lock_until_unlocked(uow: UnitOfWork, identity_id: uuid.UUID, *, now: datetime) -> IdentityRecord:
    """Lock a login until staff unlock it; the caller reports `identity.locked` with why, as for lockouts."""
    identity = await _locked_identity(uow.session, identity_id)
    identity.locked_until = LOCKED_UNTIL_UNLOCKED
    identity.updated_at = now
    await uow.session.flush()
    return to_record(identity)


async def is_sign_in_allowed(session: AsyncSession, identity_id: uuid.UUID, *, now: datetime) -> bool:
    """Whether the identity is active and not locked (checked again before accepting a second factor)."""
    identity = await repository.get(session, identity_id, for_update=True)
    if identity is None or identity.status is not IdentityStatus.ACTIVE:
        return False
    return identity.locked_until is None or identity.locked_until <= now


async def record_successful_sign_in(uow: UnitOfWork, identity_id: uuid.UUID, *, now: datetime) -> None:
    """A completed sign-in clears the failure count and any expired lock."""
    identity = await repository.get(uow.session, identity_id, for_update=True)
    if identity is None:
        raise IdentityNotFound()
    identity.failed_login_attempts = 0
    identity.locked_until = None
    identity.last_login_at = now
    identity.updated_at = now
    await uow.session.flush()


async def _set_password(
    keyring: KeyRing, identity: Identity, new_password: str, hasher: PasswordHasher, now: datetime
) -> None:
    check_strength(new_password, username=_unseal_username(keyring, identity.id, identity.username_sealed))
    identity.password_hash = await hash_password(new_password, hasher)
    identity.password_changed_at = now
    identity.updated_at = now


async def change_password(
    uow: UnitOfWork,
    *,
    identity_id: uuid.UUID,
    browser_session_id: uuid.UUID,
    current_password: str,
    new_password: str,
    revocations: RevocationList,
    ip_address: str | None,
    hasher: PasswordHasher = HASHER,
    now: datetime | None = None,
) -> IssuedSession:
    """Change one's own password: every other session ends with what it issued, this one gets a new token,
    notifications follow."""
    now = now or datetime.now(UTC)
    identity = await repository.get(uow.session, identity_id, for_update=True)
    if identity is None:
        raise IdentityNotFound()
    if not await verify_password(identity.password_hash, current_password, hasher):
        raise CurrentPasswordIncorrect()
    if new_password == current_password:
        raise InvalidIdentity("The new password must differ from the current one.")
    await _set_password(uow.keyring, identity, new_password, hasher, now)
    await uow.session.flush()
    actor = Actor(
        ActorKind(identity.kind.value),
        str(identity.customer_id or identity.id),  # a customer by core banking's id, as every context knows them
        session_id=str(browser_session_id),
    )
    ended = await sessions_service.end_identity_sessions(
        uow,
        identity.id,
        revocations=revocations,
        reason="password_changed",
        now=now,
        keep=browser_session_id,
        actor=actor,
    )
    issued = await sessions_service.reissue_token(uow, browser_session_id, now=now)
    details = {**_snapshot(identity), "other_sessions_ended": ended}
    report_security_events(
        uow, SecurityEvent("identity.password_changed", actor, "identity", str(identity.id), details, ip_address)
    )
    return issued


async def _locked_identity(session: AsyncSession, identity_id: uuid.UUID) -> Identity:
    identity = await repository.get(session, identity_id, for_update=True)
    if identity is None:
        raise IdentityNotFound()
    return identity


async def reset_password(
    uow: UnitOfWork,
    identity_id: uuid.UUID,
    new_password: str,
    *,
    revocations: RevocationList,
    hasher: PasswordHasher = HASHER,
    now: datetime | None = None,
) -> IdentityRecord:
    """Set a new password for someone (the unit of work's operator or staff member); all their sessions end, with
    what the bank's own apps obtained through them."""
    now = now or datetime.now(UTC)
    identity = await _locked_identity(uow.session, identity_id)
    await _set_password(uow.keyring, identity, new_password, hasher, now)
    await uow.session.flush()
    ended = await sessions_service.end_identity_sessions(
        uow, identity.id, revocations=revocations, reason="password_reset", now=now
    )
    details = {**_snapshot(identity), "sessions_ended": ended}
    report_security_events(
        uow, SecurityEvent("identity.password_reset", uow.actor, "identity", str(identity.id), details)
    )
    return to_record(identity)


async def unlock(
    uow: UnitOfWork, identity_id: uuid.UUID, *, now: datetime | None = None, staff_reason: str | None = None
) -> IdentityRecord:
    """Lift a lockout and clear the failure count (the unit of work's staff or operator decision, audited, with
    the staff member's reason sealed in the audit record)."""
    now = now or datetime.now(UTC)
    identity = await _locked_identity(uow.session, identity_id)
    before = {"failed_login_attempts": identity.failed_login_attempts, "locked_until": _iso(identity.locked_until)}
    identity.failed_login_attempts = 0
    identity.locked_until = None
    identity.updated_at = now
    await uow.session.flush()
    details = {**_snapshot(identity), "before": before}
    sealed = {} if staff_reason is None else {"staff_reason": staff_reason}
    event = SecurityEvent("identity.unlocked", uow.actor, "identity", str(identity.id), details, sealed=sealed)
    report_security_events(uow, event)
    return to_record(identity)


async def disable(
    uow: UnitOfWork, identity_id: uuid.UUID, *, revocations: RevocationList, now: datetime | None = None
) -> IdentityRecord:
    """Disable a login (the unit of work's staff or operator decision): it can no longer sign in, its sessions end
    with what the bank's own apps obtained through them."""
    now = now or datetime.now(UTC)
    identity = await _locked_identity(uow.session, identity_id)
    if identity.status is IdentityStatus.DISABLED:
        return to_record(identity)
    identity.status = IdentityStatus.DISABLED
    identity.updated_at = now
    await uow.session.flush()
    ended = await sessions_service.end_identity_sessions(
        uow, identity.id, revocations=revocations, reason="identity_disabled", now=now
    )
    details = {**_snapshot(identity), "sessions_ended": ended}
    report_security_events(uow, SecurityEvent("identity.disabled", uow.actor, "identity", str(identity.id), details))
    return to_record(identity)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

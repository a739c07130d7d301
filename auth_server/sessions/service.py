"""Browser sessions: issued at sign-in, re-issued at every privilege change, ended by logout, expiry or revocation.

A session signed out or revoked takes along what the bank's own apps obtained through it (their grants, the staff
console's tokens); one that merely expires, or that a new sign-in in the same browser replaces, does not.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.auditing import SecurityEvent, report_security_events
from auth_server.oauth.grants import service as grants_service
from auth_server.sessions import repository
from auth_server.sessions.errors import CustomerSessionNotFound, SessionNotFound
from auth_server.sessions.models import BrowserSession
from auth_server.sessions.schemas import IssuedSession, SessionRecord, SessionStage
from obank.actor import Actor
from obank.crypto import KeyRing, lookup_hashes
from obank.revocation import RevocationList
from obank.unit_of_work import UnitOfWork

TOKEN_HASH_PURPOSE = "auth-browser-session"  # noqa: S105 (a label, not a secret)
TOKEN_PREFIX = "obs_"  # noqa: S105 (a label, not a secret)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)
# A browser between the password and the second factor has this long to finish.
PENDING_LIFETIME = timedelta(minutes=10)
# Last-seen times are written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)
ENDED_BY_CUSTOMER = "ended_by_customer"


def _record(row: BrowserSession) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        identity_id=row.identity_id,
        stage=row.stage,
        amr=tuple(row.amr),
        acr=row.acr,
        auth_time=row.auth_time,
        return_to=row.return_to,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        absolute_expires_at=row.absolute_expires_at,
        idle_expires_at=row.last_seen_at + IDLE_TIMEOUT,
    )


def _new_token(keyring: KeyRing) -> tuple[str, bytes]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, keyring.keyed_hash(TOKEN_HASH_PURPOSE, token.encode())


async def start_session(
    uow: UnitOfWork,
    *,
    identity_id: uuid.UUID,
    stage: SessionStage,
    amr: Sequence[str],
    acr: str | None,
    return_to: str | None,
    now: datetime,
) -> IssuedSession:
    """A new session under a new token (a sign-in never reuses the browser's previous session)."""
    token, token_hash = _new_token(uow.keyring)
    authenticated = stage is SessionStage.AUTHENTICATED
    row = BrowserSession(
        id=uuid.uuid4(),
        token_hash=token_hash,
        identity_id=identity_id,
        stage=stage,
        amr=list(amr),
        acr=acr,
        auth_time=now if authenticated else None,
        return_to=return_to,
        created_at=now,
        last_seen_at=now,
        absolute_expires_at=now + (ABSOLUTE_LIFETIME if authenticated else PENDING_LIFETIME),
    )
    await repository.add(uow.session, row)
    return IssuedSession(_record(row), token)


def _within_lifetimes(row: BrowserSession, now: datetime) -> bool:
    return now < row.absolute_expires_at and now < row.last_seen_at + IDLE_TIMEOUT


async def resolve_session(uow: UnitOfWork, token: str | None, *, now: datetime | None = None) -> SessionRecord | None:
    """The live session a cookie token designates; one past its idle or absolute lifetime is ended instead."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    now = now or datetime.now(UTC)
    row = await repository.find_live_by_token_hashes(
        uow.session, lookup_hashes(uow.keyring, TOKEN_HASH_PURPOSE, token.encode())
    )
    if row is None:
        return None
    if not _within_lifetimes(row, now):
        row.ended_at, row.end_reason = now, "expired"
        await uow.session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        await uow.session.flush()
    return _record(row)


async def list_live_sessions(
    session: AsyncSession, identity_id: uuid.UUID, *, now: datetime | None = None
) -> list[SessionRecord]:
    """The identity's live sessions, signed in or part way through signing in, newest first."""
    now = now or datetime.now(UTC)
    rows = await repository.live_of_identity(session, identity_id, now=now, idle_since=now - IDLE_TIMEOUT)
    return [_record(row) for row in rows]


async def _end_what_they_issued(
    uow: UnitOfWork,
    revocations: RevocationList,
    session_ids: Sequence[uuid.UUID],
    actor: Actor | None,
    now: datetime,
) -> None:
    """What every sign-out shares: the bank's own apps lose what they obtained through these sessions, at once."""
    await grants_service.end_issued_under_sessions(
        uow, revocations, session_ids=session_ids, actor=actor or uow.actor, now=now
    )


async def end_live_session(
    uow: UnitOfWork,
    identity_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    revocations: RevocationList,
    reason: str,
    now: datetime,
) -> bool:
    """End one live session of the identity and what it issued; False when it is none (another's, ended, or past
    its lifetimes)."""
    row = await repository.get(uow.session, session_id, for_update=True)
    if row is None or row.identity_id != identity_id or row.ended_at is not None or not _within_lifetimes(row, now):
        return False
    row.ended_at, row.end_reason = now, reason
    await uow.session.flush()
    await _end_what_they_issued(uow, revocations, [row.id], None, now)
    return True


async def _live_row(session: AsyncSession, session_id: uuid.UUID) -> BrowserSession:
    row = await repository.get(session, session_id, for_update=True)
    if row is None or row.ended_at is not None:
        raise SessionNotFound()
    return row


async def elevate_session(
    uow: UnitOfWork,
    session_id: uuid.UUID,
    *,
    amr: Sequence[str],
    acr: str,
    now: datetime,
) -> IssuedSession:
    """Mark the session authenticated now with `amr`/`acr`, under a new token (a privilege change)."""
    row = await _live_row(uow.session, session_id)
    token, row.token_hash = _new_token(uow.keyring)
    row.stage = SessionStage.AUTHENTICATED
    row.amr, row.acr, row.auth_time = list(amr), acr, now
    row.last_seen_at = now
    row.absolute_expires_at = now + ABSOLUTE_LIFETIME
    await uow.session.flush()
    return IssuedSession(_record(row), token)


async def reissue_token(uow: UnitOfWork, session_id: uuid.UUID, *, now: datetime) -> IssuedSession:
    """The same session under a new token; the old token stops working at once."""
    row = await _live_row(uow.session, session_id)
    token, row.token_hash = _new_token(uow.keyring)
    row.last_seen_at = now
    await uow.session.flush()
    return IssuedSession(_record(row), token)


async def end_session(uow: UnitOfWork, session_id: uuid.UUID, *, reason: str, now: datetime) -> bool:
    """End one session alone: a sign-in still in progress (lockout mid-sign-in), or one a new sign-in in the same
    browser replaces (what it issued lives on: a TPP asking for the password again must not sign the customer out of
    the bank's app). A sign-out is `sign_out_session`. False when it had ended already."""
    row = await repository.get(uow.session, session_id, for_update=True)
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.end_reason = now, reason
    await uow.session.flush()
    return True


async def sign_out_session(
    uow: UnitOfWork,
    session_id: uuid.UUID,
    *,
    revocations: RevocationList,
    reason: str,
    now: datetime,
    actor: Actor | None = None,
) -> None:
    """End one session and what the bank's own apps obtained through it (logout); `actor` (else the unit of work's)
    revokes."""
    if await end_session(uow, session_id, reason=reason, now=now):
        await _end_what_they_issued(uow, revocations, [session_id], actor, now)


async def end_identity_sessions(
    uow: UnitOfWork,
    identity_id: uuid.UUID,
    *,
    revocations: RevocationList,
    reason: str,
    now: datetime,
    keep: uuid.UUID | None = None,
    actor: Actor | None = None,
) -> int:
    """End every live session of an identity except `keep`, and what they issued (password change, reset, disabling,
    a new authenticator, staff revocation); `actor` (else the unit of work's) revokes. How many ended."""
    ended = await repository.end_live_sessions(uow.session, identity_id, reason=reason, now=now, keep=keep)
    await _end_what_they_issued(uow, revocations, ended, actor, now)
    return len(ended)


async def end_own_session(
    uow: UnitOfWork,
    *,
    revocations: RevocationList,
    identity_id: uuid.UUID,
    customer_id: uuid.UUID,
    session_id: uuid.UUID,
    now: datetime | None = None,
) -> None:
    """The customer signed one of their live sessions out (another device, say); reported as `session.ended`."""
    now = now or datetime.now(UTC)
    if not await end_live_session(
        uow, identity_id, session_id, revocations=revocations, reason=ENDED_BY_CUSTOMER, now=now
    ):
        raise CustomerSessionNotFound()
    details = {"kind": "customer", "customer_id": str(customer_id), "session_id": str(session_id)}
    report_security_events(uow, SecurityEvent("session.ended", uow.actor, "identity", str(identity_id), details))


async def end_other_sessions(
    uow: UnitOfWork,
    *,
    revocations: RevocationList,
    identity_id: uuid.UUID,
    customer_id: uuid.UUID,
    keep: uuid.UUID | None,
    now: datetime | None = None,
) -> int:
    """The customer signed out everywhere but `keep` (everywhere when None): `identity.sessions_ended`."""
    now = now or datetime.now(UTC)
    ended = await end_identity_sessions(
        uow, identity_id, revocations=revocations, reason=ENDED_BY_CUSTOMER, now=now, keep=keep
    )
    details = {
        "kind": "customer",
        "customer_id": str(customer_id),
        "sessions_ended": ended,
        "kept_session_id": None if keep is None else str(keep),
    }
    event = SecurityEvent("identity.sessions_ended", uow.actor, "identity", str(identity_id), details)
    report_security_events(uow, event)
    return ended

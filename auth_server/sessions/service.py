"""Browser sessions: issued at sign-in, re-issued at every privilege change, ended by logout, expiry or revocation."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.sessions import repository
from auth_server.sessions.errors import SessionNotFound
from auth_server.sessions.models import BrowserSession
from auth_server.sessions.schemas import IssuedSession, SessionRecord, SessionStage
from obank.crypto import KeyRing, lookup_hashes
from obank.unit_of_work import UnitOfWork

TOKEN_HASH_PURPOSE = "auth-browser-session"  # noqa: S105 (a label, not a secret)
TOKEN_PREFIX = "obs_"  # noqa: S105 (a label, not a secret)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)
# A browser between the password and the second factor has this long to finish.
PENDING_LIFETIME = timedelta(minutes=10)
# Last-seen times are written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)


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
        absolute_expires_at=row.absolute_expires_at,
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
    if now >= row.absolute_expires_at or now >= row.last_seen_at + IDLE_TIMEOUT:
        row.ended_at, row.end_reason = now, "expired"
        await uow.session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        await uow.session.flush()
    return _record(row)


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


async def end_session(uow: UnitOfWork, session_id: uuid.UUID, *, reason: str, now: datetime) -> None:
    """End one session (logout, lockout mid-sign-in, a new sign-in from the same browser)."""
    row = await repository.get(uow.session, session_id, for_update=True)
    if row is not None and row.ended_at is None:
        row.ended_at, row.end_reason = now, reason
        await uow.session.flush()


async def end_identity_sessions(
    uow: UnitOfWork, identity_id: uuid.UUID, *, reason: str, now: datetime, keep: uuid.UUID | None = None
) -> int:
    """End every live session of an identity except `keep` (password change, reset, disabling)."""
    return await repository.end_live_sessions(uow.session, identity_id, reason=reason, now=now, keep=keep)

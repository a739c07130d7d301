"""Web sessions: a random cookie token (only its hash is stored), state sealed to the row, idle and absolute expiry.

A session is opened when a browser starts to sign in, gets a new cookie token once signed in (no fixation),
and ends on sign-out, on expiry, or when its tokens stop working.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from obank.crypto import KeyRing, seal, unseal
from obank.settings import Settings
from web.sessions import repository
from web.sessions.models import WebSession
from web.sessions.schemas import SessionState, Surface, WebSessionRecord

_PURPOSE = "web.session"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _record(row: WebSession, keyring: KeyRing) -> WebSessionRecord:
    state = SessionState.model_validate_json(unseal(keyring, row.id, _PURPOSE, row.sealed))
    return WebSessionRecord(row.id, Surface(row.surface), row.subject, state, row.created_at, row.expires_at)


class WebSessions:
    """The sessions of one surface's browsers, each call in a transaction of its own."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, settings: Settings) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._idle = timedelta(seconds=settings.web_session_idle_s)
        self._max = timedelta(seconds=settings.web_session_max_s)

    async def open(self, surface: Surface, state: SessionState) -> tuple[WebSessionRecord, str]:
        """A new session and its cookie token (shown to the browser once, stored only as a hash)."""
        now = datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        session_id = uuid.uuid4()
        row = WebSession(
            id=session_id,
            token_hash=_hash(token),
            surface=surface.value,
            subject=None,
            sealed=seal(self._keyring, session_id, _PURPOSE, state.model_dump_json().encode()),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._max,
        )
        async with self._sessions.begin() as session:
            await repository.insert(session, row)
        return WebSessionRecord(session_id, surface, None, state, now, row.expires_at), token

    async def find(self, surface: Surface, token: str | None) -> WebSessionRecord | None:
        """The live session of this cookie token on this surface; an expired one is removed."""
        if not token or len(token) > 128:
            return None
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await repository.find(session, _hash(token))
            if row is None or row.surface != surface.value:
                return None
            if row.expires_at <= now or row.last_seen_at + self._idle <= now:
                await repository.remove(session, row.id)
                return None
            return _record(row, self._keyring)

    async def save(self, record: WebSessionRecord, *, rotate: bool = False) -> str | None:
        """Store the session's state (and mark it seen); with `rotate`, a new cookie token, returned."""
        token = secrets.token_urlsafe(32) if rotate else None
        sealed = seal(self._keyring, record.id, _PURPOSE, record.state.model_dump_json().encode())
        async with self._sessions.begin() as session:
            await repository.store(
                session,
                record.id,
                sealed=sealed,
                subject=record.subject,
                last_seen_at=datetime.now(UTC),
                token_hash=_hash(token) if token else None,
            )
        return token

    async def end(self, record: WebSessionRecord) -> None:
        async with self._sessions.begin() as session:
            await repository.remove(session, record.id)


async def purge_expired(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> int:
    """Forget sessions past their absolute or idle expiry (the scheduler's `purge-web-sessions`)."""
    async with sessions.begin() as session:
        return await repository.remove_expired(session, now, now - timedelta(seconds=settings.web_session_idle_s))

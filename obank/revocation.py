"""A deny-list of revoked identifiers with expiry: durable in PostgreSQL, mirrored in every process's memory.

The truth is the table `platform.revocations`, written by the revoking transaction itself, so a revocation
commits with the change that caused it and survives any restart, and the loss of Redis. Each process keeps
a mirror it reads per request: loaded at start-up, then kept current by the table's `NOTIFY` (delivered at
commit, in commit order, to the process's `obank.listener`), reloaded whole after the listener reconnects.
The revoking process adds its own entries to the mirror before its commit (a failed commit leaves an extra
denial, never a missing one); Redis, when configured, carries them to other instances in the same instant.
Entries live until what they deny would have expired anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy import DateTime, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from obank.listener import NotificationListener
from obank.log import get_logger
from obank.outbox.models import Base

KEY_PREFIX = "obank:revoked:"
NOTIFY_CHANNEL = "obank_revocations"

_log = get_logger("obank.revocation")


def token_denial(jti: object) -> str:
    """The entry that refuses one access token, by its `jti`."""
    return f"jti:{jti}"


def grant_denial(grant_id: object) -> str:
    """The entry that refuses every token of a customer's grant."""
    return f"grant:{grant_id}"


def consent_denial(consent_id: object) -> str:
    """The entry that refuses every token bound to an Open Banking consent."""
    return f"consent:{consent_id}"


def denials_of(jti: object, grant_id: object = None, consent_id: object = None) -> list[str]:
    """Every entry that would refuse a token with this `jti`, grant and consent."""
    entries = [token_denial(jti)]
    if grant_id:
        entries.append(grant_denial(grant_id))
    if consent_id:
        entries.append(consent_denial(consent_id))
    return entries


class Revocation(Base):
    """One denied identifier (`jti:<id>`, `grant:<id>`, `consent:<id>`) and until when."""

    __tablename__ = "revocations"

    identifier: Mapped[str] = mapped_column(String(200), primary_key=True)
    denied_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class MemoryRevocationList:
    """One process's mirror of the deny-list: identifier → expiry (epoch seconds)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def revoke(self, identifiers: Iterable[str], until: datetime) -> None:
        self.add(identifiers, until.timestamp())

    def add(self, identifiers: Iterable[str], until: float) -> None:
        expiry = max(until, time.time() + 1)
        for identifier in identifiers:
            self._until[identifier] = max(expiry, self._until.get(identifier, 0.0))
        if len(self._until) > 10_000:
            now = time.time()
            self._until = {key: at for key, at in self._until.items() if at > now}

    async def first_revoked(self, identifiers: Sequence[str]) -> str | None:
        now = time.time()
        for identifier in identifiers:
            if self._until.get(identifier, 0.0) > now:
                return identifier
        return None

    async def close(self) -> None:
        return None


class RedisRevocationList:
    """Denials in Redis, so an entry added on one instance is refused by all of them in the same instant."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @classmethod
    def from_url(cls, url: str) -> RedisRevocationList:
        return cls(Redis.from_url(url))

    async def revoke(self, identifiers: Iterable[str], until: datetime) -> None:
        expiry = max(int(until.timestamp()) + 1, int(time.time()) + 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for identifier in identifiers:
                pipe.set(KEY_PREFIX + identifier, b"1", exat=expiry)
            await pipe.execute()

    async def first_revoked(self, identifiers: Sequence[str]) -> str | None:
        if not identifiers:
            return None
        values = await self._redis.mget([KEY_PREFIX + identifier for identifier in identifiers])
        return next((identifier for identifier, value in zip(identifiers, values, strict=True) if value), None)

    async def close(self) -> None:
        await self._redis.aclose()


async def record_revocations(session: AsyncSession, identifiers: Sequence[str], until: datetime) -> None:
    """Deny `identifiers` until `until` in the caller's transaction (a later expiry wins)."""
    if not identifiers:
        return
    statement = insert(Revocation).values([{"identifier": i, "denied_until": until} for i in identifiers])
    statement = statement.on_conflict_do_update(
        index_elements=[Revocation.identifier],
        set_={"denied_until": func.greatest(Revocation.denied_until, statement.excluded.denied_until)},
    )
    await session.execute(statement)


async def purge_expired(session: AsyncSession, now: datetime | None = None) -> int:
    """Forget denials whose tokens have all expired; the table keeps only what can still be presented."""
    result = await session.execute(delete(Revocation).where(Revocation.denied_until <= (now or datetime.now(UTC))))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_spent_denials(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Purge expired denials in a transaction of their own (a scheduled job, see `bank.jobs`); returns how many."""
    async with sessions() as session, session.begin():
        return await purge_expired(session)


class RevocationList:
    """The deny-list one process reads per request and the authorization server writes."""

    def __init__(
        self, engine: AsyncEngine, listener: NotificationListener, shared: RedisRevocationList | None = None
    ) -> None:
        self._engine = engine
        self._listener = listener
        self._mirror = MemoryRevocationList()
        self._shared = shared
        self._loaded = False
        self._subscription = listener.subscribe(NOTIFY_CHANNEL, self._apply, on_connect=self._reload_on_connect)

    async def revoke(self, session: AsyncSession, identifiers: Sequence[str], until: datetime) -> None:
        """Deny `identifiers` in the caller's transaction, and in this process and Redis at once."""
        await record_revocations(session, identifiers, until)
        await self.remember(identifiers, until)

    async def remember(self, identifiers: Sequence[str], until: datetime) -> None:
        """Deny `identifiers` in the fast layers only (the table already holds them)."""
        await self._mirror.revoke(identifiers, until)
        if self._shared is not None:
            await self._shared.revoke(identifiers, until)

    async def first_revoked(self, identifiers: Sequence[str]) -> str | None:
        """The first of `identifiers` that is denied, or None."""
        found = await self.first_revoked_here(identifiers)
        if found is None and self._shared is not None:
            found = await self._shared.first_revoked(identifiers)
        return found

    async def first_revoked_here(self, identifiers: Sequence[str]) -> str | None:
        """The same question of this process's mirror alone (complete, a notification behind at most)."""
        if not self._loaded:  # never admit anything before the table is loaded
            await self.start()
        return await self._mirror.first_revoked(identifiers)

    async def start(self) -> None:
        """Load the table into the mirror and follow its notifications; returns once loaded, raises if it cannot."""
        await self._listener.start()

    async def reload(self) -> int:
        """Copy every live row of the table into the mirror; the number of rows."""
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(Revocation.identifier, Revocation.denied_until).where(Revocation.denied_until > func.now())
                )
            ).all()
        for identifier, until in rows:
            self._mirror.add((identifier,), until.timestamp())
        return len(rows)

    async def _reload_on_connect(self) -> None:
        # The listener LISTENs before this runs: a revocation committed during the load arrives as a notification.
        count = await self.reload()
        self._loaded = True
        _log.info("revocations_loaded", entries=count)

    def _apply(self, payload: str) -> None:
        identifier, _, until = payload.rpartition(" ")
        self._mirror.add((identifier,), float(until))

    async def close(self) -> None:
        self._listener.unsubscribe(self._subscription)
        if self._shared is not None:
            await self._shared.close()


def build_revocation_list(engine: AsyncEngine, listener: NotificationListener, redis_url: str | None) -> RevocationList:
    """The durable deny-list over `engine`, followed by `listener`, with Redis as the instant shared layer."""
    return RevocationList(engine, listener, RedisRevocationList.from_url(redis_url) if redis_url else None)

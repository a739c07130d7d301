"""Single use of client assertion `jti`s (RFC 7523 s3 item 7): in Redis when configured, else PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth_server.oauth.client_auth.models import UsedClientAssertion

PURGE_EVERY = 1000
REDIS_PREFIX = "obank:oauth:jti:"


class ReplayCache(Protocol):
    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record the jti until `expires_at`; False when the client already used it."""
        ...

    async def close(self) -> None: ...


class DatabaseReplayCache:
    """The single-process (embedded) default; also correct across processes sharing the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._claims = 0

    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        # Its own committed transaction: a jti is spent even when the request that carried it fails later.
        async with self._sessions() as session, session.begin():
            statement = (
                insert(UsedClientAssertion)
                .values(client_id=client_id, jti=jti, expires_at=expires_at)
                .on_conflict_do_nothing()
                .returning(UsedClientAssertion.jti)
            )
            claimed = (await session.execute(statement)).first() is not None
            self._claims += 1
            if self._claims % PURGE_EVERY == 0:
                expired = UsedClientAssertion.expires_at < datetime.now(UTC)
                await session.execute(delete(UsedClientAssertion).where(expired))
        return claimed

    async def close(self) -> None:
        return None


class RedisReplayCache:
    """Shared by every instance (OBANK_REDIS_URL): SET NX with the assertion's expiry."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @classmethod
    def from_url(cls, url: str) -> RedisReplayCache:
        return cls(Redis.from_url(url))

    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        key = f"{REDIS_PREFIX}{len(client_id)}:{client_id}:{jti}"
        stored = await self._redis.set(key, b"1", nx=True, exat=int(expires_at.timestamp()) + 1)
        return bool(stored)

    async def close(self) -> None:
        await self._redis.aclose()


def build_replay_cache(redis_url: str | None, sessions: async_sessionmaker[AsyncSession]) -> ReplayCache:
    if redis_url:
        return RedisReplayCache.from_url(redis_url)
    return DatabaseReplayCache(sessions)

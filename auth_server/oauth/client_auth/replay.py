"""Single use of client assertion `jti`s (RFC 7523 s3 item 7): in Redis when configured, else PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_server.oauth.client_auth import repository

PURGE_EVERY = 1000
REDIS_PREFIX = "obank:oauth:jti:"


class ReplayCache(Protocol):
    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record the jti until `expires_at`; False when the client already used it."""
        ...

    async def close(self) -> None: ...


class DatabaseReplayCache:
    """The single-process (embedded) default; also correct across processes sharing the database.

    `engine` must not be the pool the request holds a connection of (the platform's `side_engine`).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        # Autocommit: a jti is spent even when the request that carried it fails later, in one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._claims = 0

    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        async with self._engine.connect() as connection:
            claimed = await repository.claim_assertion(connection, client_id, jti, expires_at)
            self._claims += 1
            if self._claims % PURGE_EVERY == 0:
                await repository.purge_expired_assertions(connection, datetime.now(UTC))
        return claimed

    async def close(self) -> None:
        return None  # the engine is the platform's


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


def build_replay_cache(redis_url: str | None, engine: AsyncEngine) -> ReplayCache:
    """Redis when configured, else the database through `engine`."""
    if redis_url:
        return RedisReplayCache.from_url(redis_url)
    return DatabaseReplayCache(engine)
